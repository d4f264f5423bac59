package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// Status is a check's verdict.
type Status int

// Statuses, from best to worst. Only Fail makes doctor exit non-zero.
const (
	OK Status = iota
	Skip
	Warn
	Fail
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Skip:
		return "skip"
	case Warn:
		return "warn"
	}
	return "FAIL"
}

// Result is the outcome of one check.
type Result struct {
	Status Status
	Detail string // what was found, one line
	Hint   string // how to fix it; empty when OK
}

// Ok reports whether the check passed (warnings and skips pass).
func (r Result) Ok() bool { return r.Status != Fail }

func ok(format string, args ...any) Result {
	return Result{Status: OK, Detail: fmt.Sprintf(format, args...)}
}

func fail(hint, format string, args ...any) Result {
	return Result{Status: Fail, Detail: fmt.Sprintf(format, args...), Hint: hint}
}

func warn(hint, format string, args ...any) Result {
	return Result{Status: Warn, Detail: fmt.Sprintf(format, args...), Hint: hint}
}

func skip(format string, args ...any) Result {
	return Result{Status: Skip, Detail: fmt.Sprintf(format, args...)}
}

// Resolver resolves host names (*net.Resolver does).
type Resolver interface {
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// Env is what the checks reach the world through.
type Env struct {
	Resolver Resolver
	// LocalAddrs lists this machine's addresses (nil: the interfaces').
	LocalAddrs func() ([]net.IP, error)
	// HTTP fetches WebFinger, actors and the clock reference.
	HTTP *http.Client
	// Dial opens TCP connections for the TLS check (nil: net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Roots verify served certificates (nil: the system's).
	Roots *x509.CertPool
	// Now is the local clock.
	Now func() time.Time
}

// DefaultEnv uses the system resolver, interfaces, roots and clock, and an
// HTTP client with a 10-second timeout.
func DefaultEnv() Env {
	return Env{
		Resolver: net.DefaultResolver,
		HTTP:     &http.Client{Timeout: 10 * time.Second},
		Now:      time.Now,
	}
}

func (e Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

func (e Env) localAddrs() ([]net.IP, error) {
	if e.LocalAddrs != nil {
		return e.LocalAddrs()
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, err
	}
	var ips []net.IP
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			ips = append(ips, n.IP)
		}
	}
	return ips, nil
}

func (e Env) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if e.Dial != nil {
		return e.Dial(ctx, network, addr)
	}
	d := net.Dialer{Timeout: 10 * time.Second}
	return d.DialContext(ctx, network, addr)
}

func (e Env) tlsConfig(serverName string) *tls.Config {
	return &tls.Config{ServerName: serverName, RootCAs: e.Roots, MinVersion: tls.VersionTLS12}
}

// Check is one named check.
type Check struct {
	Name string
	Run  func(ctx context.Context) Result
}

// Run runs the checks in order, prints each with its verdict, detail and
// hint, then a summary, and returns how many failed.
func Run(ctx context.Context, checks []Check, w io.Writer) (failed int) {
	width := 0
	for _, c := range checks {
		width = max(width, len(c.Name))
	}
	counts := map[Status]int{}
	for _, c := range checks {
		r := c.Run(ctx)
		counts[r.Status]++
		fmt.Fprintf(w, "[%-4s] %-*s  %s\n", r.Status, width, c.Name, oneLine(r.Detail))
		if r.Hint != "" && r.Status != OK {
			fmt.Fprintf(w, "       %-*s  fix: %s\n", width, "", oneLine(r.Hint))
		}
	}
	fmt.Fprintf(w, "\n%d ok, %d warning(s), %d failed, %d skipped\n", counts[OK], counts[Warn], counts[Fail], counts[Skip])
	return counts[Fail]
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
