// Package e2e drives the real bridge binary: it builds it, writes its
// configuration, runs `bridge serve` as a subprocess and stops it with
// SIGTERM. The end-to-end tests of this package and the benchmark programs
// under bench/ share these helpers; none of them depends on package testing.
//
// Everything here listens on and talks to loopback addresses only.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ModuleRoot returns the directory of the main module (where go.mod is).
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("e2e: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("e2e: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// Build compiles ./cmd/bridge of the module to out, with the given build
// tags (e.g. "pprof", see cmd/bridge/pprof.go), statically (CGO_ENABLED=0).
func Build(out string, tags ...string) error {
	root, err := ModuleRoot()
	if err != nil {
		return err
	}
	args := []string{"build", "-o", out}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	cmd := exec.Command("go", append(args, "./cmd/bridge")...)
	cmd.Dir = root
	// Static, as the Dockerfile and .ci/run build it: what is measured
	// and tested is what ships.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("e2e: go build ./cmd/bridge: %w\n%s", err, buf.String())
	}
	return nil
}

// BridgeBinary returns the bridge binary a benchmark program runs: bin
// (its -bridge flag) if set, unless pprof asks for a binary built with
// -tags pprof; otherwise ./cmd/bridge built into dir/bridge (see Build).
func BridgeBinary(bin, dir string, pprof bool) (string, error) {
	if bin != "" && !pprof {
		return bin, nil
	}
	var tags []string
	if pprof {
		tags = append(tags, "pprof")
	}
	out := filepath.Join(dir, "bridge")
	if err := Build(out, tags...); err != nil {
		return "", err
	}
	return out, nil
}

// FreeAddr returns a free TCP address on 127.0.0.1 ("127.0.0.1:PORT"). The
// port is released before returning, so another process could take it in
// between; on a test machine that is rare enough.
func FreeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("e2e: find a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// Config is what WriteConfig puts in a bridge configuration file.
type Config struct {
	Addr            string // 127.0.0.1:PORT: listen address and public URL host
	Driver          string // "sqlite" (default) or "postgres"
	DSN             string // file path or postgres:// URL
	LogLevel        string // default "info"
	DeliveryWorkers int    // 0: the bridge's default
	// PublicURL is server.public_url when the bridge is reached through a
	// reverse proxy (e.g. https://localhost:PORT, see TLSFront); empty:
	// http://Addr.
	PublicURL string
	// TrustedProxies is server.trusted_proxies (the proxy's addresses).
	TrustedProxies []string
	// DisplayName is news' display name; empty: "Ville de Test".
	DisplayName string
	// KeepInboxLimits keeps the default per-domain inbox limits. By
	// default they are lifted (federation.inbox_limits: per_domain and
	// key_fetches off, key_fetch_concurrency 64): a simulated server puts
	// hundreds of new actors on one domain within a second, which those
	// limits rightly answer with 429.
	KeepInboxLimits bool
	// MetricsListen is server.metrics_listen (127.0.0.1:PORT); empty: no
	// metrics listener.
	MetricsListen string
	// ManualApproval is news' manually_approves_followers.
	ManualApproval bool
	// PollResultsDelay is federation.poll_results_delay ("": the
	// bridge's default).
	PollResultsDelay string
}

// BaseURL is the public URL of a bridge configured with c.
func (c Config) BaseURL() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	return c.ListenURL()
}

// ListenURL is where the bridge itself answers: http://Addr (the same as
// BaseURL unless the bridge is behind a proxy).
func (c Config) ListenURL() string { return "http://" + c.Addr }

// ActorID is the actor IRI of our account username.
func (c Config) ActorID(username string) string { return c.BaseURL() + "/users/" + username }

// YAML renders the configuration: plain HTTP on loopback, private networks
// allowed (the remote servers are on loopback too), per-domain inbox
// limits lifted (see KeepInboxLimits), JSON logs and one account, news.
func (c Config) YAML() string {
	driver := c.Driver
	if driver == "" {
		driver = "sqlite"
	}
	level := c.LogLevel
	if level == "" {
		level = "info"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server:\n  public_url: %q\n  listen: %q\n", c.BaseURL(), c.Addr)
	if c.MetricsListen != "" {
		fmt.Fprintf(&b, "  metrics_listen: %q\n", c.MetricsListen)
	}
	if len(c.TrustedProxies) > 0 {
		b.WriteString("  trusted_proxies:\n")
		for _, p := range c.TrustedProxies {
			fmt.Fprintf(&b, "    - %q\n", p)
		}
	}
	fmt.Fprintf(&b, "storage:\n  driver: %q\n  dsn: %q\n", driver, c.DSN)
	fmt.Fprintf(&b, "federation:\n  allow_private_networks: true\n")
	if c.DeliveryWorkers > 0 {
		fmt.Fprintf(&b, "  delivery_workers: %d\n", c.DeliveryWorkers)
	}
	if c.PollResultsDelay != "" {
		fmt.Fprintf(&b, "  poll_results_delay: %q\n", c.PollResultsDelay)
	}
	if !c.KeepInboxLimits {
		b.WriteString("  inbox_limits:\n    per_domain: \"off\"\n    key_fetches: \"off\"\n    key_fetch_concurrency: 64\n")
	}
	fmt.Fprintf(&b, "log:\n  level: %q\n  format: \"json\"\n", level)
	name := c.DisplayName
	if name == "" {
		name = "Ville de Test"
	}
	fmt.Fprintf(&b, "accounts:\n  - username: news\n    display_name: %q\n    summary: \"End-to-end test account.\"\n", name)
	if c.ManualApproval {
		b.WriteString("    manually_approves_followers: true\n")
	}
	return b.String()
}

// WriteConfig writes c to path.
func WriteConfig(path string, c Config) error {
	if err := os.WriteFile(path, []byte(c.YAML()), 0o600); err != nil {
		return fmt.Errorf("e2e: write config: %w", err)
	}
	return nil
}

// Process is a running `bridge serve`.
type Process struct {
	BaseURL string
	LogPath string

	cmd  *exec.Cmd
	log  *os.File
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, set before done is closed
}

// Start runs `bin --config configPath serve` with its stdout and stderr
// appended to logPath. It does not wait for the server to be ready (see
// WaitHealthy).
func Start(bin, configPath, logPath, baseURL string) (*Process, error) {
	return StartEnv(bin, configPath, logPath, baseURL, nil)
}

// StartEnv is Start with extra environment variables ("NAME=value").
func StartEnv(bin, configPath, logPath, baseURL string, env []string) (*Process, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("e2e: open log: %w", err)
	}
	fmt.Fprintf(f, "=== %s: %s --config %s serve\n", time.Now().Format(time.RFC3339Nano), bin, configPath)
	cmd := exec.Command(bin, "--config", configPath, "serve")
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = filepath.Dir(configPath)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("e2e: start bridge: %w", err)
	}
	p := &Process{BaseURL: baseURL, LogPath: logPath, cmd: cmd, log: f, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	return p, nil
}

// WriteLogTail writes the last limit bytes of the process's log (LogPath)
// to w, under a "bridge log (tail):" line; nothing if it cannot be read.
func (p *Process) WriteLogTail(w io.Writer, limit int) {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return
	}
	if len(b) > limit {
		b = b[len(b)-limit:]
	}
	fmt.Fprintf(w, "bridge log (tail):\n%s\n", b)
}

// CopyLog copies the process's log (LogPath), as written so far, to path.
func (p *Process) CopyLog(path string) error {
	b, err := os.ReadFile(p.LogPath)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// StartProfiled is Start with, if pprof, the bridge's pprof listener
// (BRIDGE_PPROF, see cmd/bridge/pprof.go; bin must be built with -tags
// pprof, see BridgeBinary) on a free loopback address, which it returns
// ("" without pprof) for CPUProfile and FetchProfile.
func StartProfiled(bin, configPath, logPath, baseURL string, pprof bool) (p *Process, pprofAddr string, err error) {
	var env []string
	if pprof {
		if pprofAddr, err = FreeAddr(); err != nil {
			return nil, "", err
		}
		env = append(env, "BRIDGE_PPROF="+pprofAddr)
	}
	p, err = StartEnv(bin, configPath, logPath, baseURL, env)
	return p, pprofAddr, err
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitHealthy polls GET /healthz until it answers 200, the process exits,
// or timeout.
func (p *Process) WaitHealthy(timeout time.Duration) error {
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(p.BaseURL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if p.Exited() {
			return fmt.Errorf("e2e: bridge exited before it was healthy: %v", p.err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("e2e: bridge not healthy after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ErrStillRunning is returned by Stop when the process did not exit in time
// (it was killed).
var ErrStillRunning = errors.New("e2e: bridge did not exit in time after SIGTERM; killed")

// Stop sends SIGTERM and waits up to timeout for the process to exit; it
// returns the exit code. A process still running then is killed and
// ErrStillRunning returned. Stopping an exited process returns its code.
func (p *Process) Stop(timeout time.Duration) (int, error) {
	if !p.Exited() {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return -1, fmt.Errorf("e2e: SIGTERM: %w", err)
		}
	}
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.Kill()
		return -1, ErrStillRunning
	}
	return p.exitCode(), nil
}

// Kill kills the process (if still running) and waits for it.
func (p *Process) Kill() {
	if !p.Exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

func (p *Process) exitCode() int {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		return -1
	}
	return 0
}

// Memory is a process's resident memory, in KiB, from /proc/PID/status.
type Memory struct {
	RSS  int64 // VmRSS: everything resident
	Anon int64 // RssAnon: private memory (heap, stacks)
	File int64 // RssFile: mapped file pages, mostly the binary's own code and data
}

func (m Memory) String() string {
	return fmt.Sprintf("%.1f MiB (anonymous %.1f MiB, file-backed %.1f MiB)",
		float64(m.RSS)/1024, float64(m.Anon)/1024, float64(m.File)/1024)
}

// Memory reads the resident memory of the process (Linux).
func (p *Process) Memory() (Memory, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.PID()))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	fields := map[string]*int64{"VmRSS:": &m.RSS, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	for _, line := range strings.Split(string(b), "\n") {
		name, v, ok := strings.Cut(line, "\t")
		dst := fields[name]
		if !ok || dst == nil {
			continue
		}
		if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", dst); err != nil {
			return Memory{}, fmt.Errorf("e2e: parse %s %q: %w", name, v, err)
		}
	}
	if m.RSS == 0 {
		return Memory{}, errors.New("e2e: no VmRSS in /proc status")
	}
	return m, nil
}

// CPUTime reads the CPU time (user + system) the process has used so far,
// from /proc (Linux; assumes the usual 100 clock ticks per second).
func (p *Process) CPUTime() (time.Duration, error) { return PIDCPUTime(p.PID()) }

// PIDCPUTime is the CPU time (user and system) used so far by the process
// pid, from /proc.
func PIDCPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the command name, which is in parentheses and may
	// contain spaces: state is field 3, utime 14, stime 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("e2e: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, errors.New("e2e: malformed /proc stat")
	}
	var utime, stime int64
	if _, err := fmt.Sscan(f[11], &utime); err != nil {
		return 0, fmt.Errorf("e2e: utime: %w", err)
	}
	if _, err := fmt.Sscan(f[12], &stime); err != nil {
		return 0, fmt.Errorf("e2e: stime: %w", err)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// Client returns an HTTP client for loopback traffic: no proxy from the
// environment, enough idle connections for the given concurrency.
func Client(concurrency int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
			MaxIdleConns:        concurrency * 2,
			MaxIdleConnsPerHost: concurrency,
			IdleConnTimeout:     30 * time.Second,
		},
	}
}

// GetJSON GETs url with Accept: application/activity+json into v.
func GetJSON(ctx context.Context, c *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/activity+json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	return nil
}
