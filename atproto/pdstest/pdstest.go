// Package pdstest runs the reference Bluesky PDS (@atproto/pds, from npm,
// pinned in e2e/pds) and an in-memory PLC directory on loopback, for the
// Bluesky mirror's end-to-end tests and benchmark, and on demand the
// reference AppView (@atproto/bsky, Options.AppView) on PostgreSQL. The
// PLC, the PDS and the AppView are separate processes (e2e/pds/index.mjs),
// so that the PDS can be stopped and started again on the same data
// directory (an outage) while the PLC, which keeps the DIDs in memory,
// stays up.
//
// With the AppView, clients reach app.bsky.* through the PDS, as in
// production: the AppView's did:plc (services bsky_appview and
// bsky_notif) is registered in the PLC before the PDS starts with
// PDS_BSKY_APP_VIEW_URL and PDS_BSKY_APP_VIEW_DID; the AppView indexes the
// PDS's firehose from cursor 0, into its own PostgreSQL schema (dropped
// when it stops).
//
// Install the PDS first: (cd e2e/pds && npm_config_nodedir=/usr npm ci).
package pdstest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// DirEnv overrides where the PDS package (e2e/pds) is.
const DirEnv = "PASSERELLE_PDS_DIR"

// ErrNotInstalled is returned by Dir when e2e/pds/node_modules is missing.
var ErrNotInstalled = errors.New("pdstest: the PDS is not installed: run (cd e2e/pds && npm_config_nodedir=/usr npm ci)")

// Dir returns the directory of the PDS package, with its node_modules.
func Dir() (string, error) {
	dir := os.Getenv(DirEnv)
	if dir == "" {
		out, err := exec.Command("go", "env", "GOMOD").Output()
		if err != nil {
			return "", fmt.Errorf("pdstest: go env GOMOD: %w", err)
		}
		gomod := strings.TrimSpace(string(out))
		if gomod == "" || gomod == os.DevNull {
			return "", errors.New("pdstest: not inside the Go module")
		}
		dir = filepath.Join(filepath.Dir(gomod), "e2e", "pds")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@atproto", "pds")); err != nil {
		return "", ErrNotInstalled
	}
	if _, err := exec.LookPath("node"); err != nil {
		return "", fmt.Errorf("pdstest: node is not installed: %w", err)
	}
	return dir, nil
}

// Options configure Start.
type Options struct {
	// HandleResolver, when set, is the base URL the PDS asks
	// /.well-known/atproto-did of (with the handle as Host) to verify
	// handles outside its domain, instead of DNS and HTTPS: a bridge on
	// loopback can then serve a custom-domain handle.
	HandleResolver string
	// RateLimits turns the PDS's rate limits on (RateLimit-* headers).
	RateLimits bool
	// Log receives the processes' output; nil: a file in the data
	// directory (LogPath).
	Log io.Writer
	// AppView also runs the reference AppView, behind the PDS, on
	// PostgreSQL at AppViewPostgresURL (required), in a new schema of its
	// own.
	AppView            bool
	AppViewPostgresURL string
}

// Server is a running PLC and PDS.
type Server struct {
	URL     string // the PDS, http://127.0.0.1:PORT
	PLCURL  string
	DataDir string
	LogPath string

	// AppViewURL and AppViewDID are the AppView's, when it runs.
	AppViewURL string
	AppViewDID string

	dir         string
	pdsPort     int
	env         []string
	log         io.Writer
	logFile     *os.File
	plc         *proc
	pds         *proc
	appview     *proc
	appviewPort int
	appviewEnv  []string
	client      *http.Client
}

type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts a PLC and a PDS with a new data directory.
func Start(opts Options) (*Server, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	data, err := os.MkdirTemp("", "passerelle-pds-")
	if err != nil {
		return nil, err
	}
	s := &Server{DataDir: data, dir: dir, log: opts.Log, client: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
	}}
	if s.log == nil {
		s.LogPath = filepath.Join(data, "pds.log")
		if s.logFile, err = os.Create(s.LogPath); err != nil {
			os.RemoveAll(data)
			return nil, err
		}
		s.log = s.logFile
	}
	plcPort, err := freePort()
	if err != nil {
		s.Close()
		return nil, err
	}
	if s.pdsPort, err = freePort(); err != nil {
		s.Close()
		return nil, err
	}
	s.PLCURL = "http://localhost:" + strconv.Itoa(plcPort)
	s.URL = "http://127.0.0.1:" + strconv.Itoa(s.pdsPort)
	if s.plc, err = s.spawn("plc", plcPort, nil); err != nil {
		s.Close()
		return nil, err
	}
	blobs := filepath.Join(data, "blobs")
	if err := os.MkdirAll(blobs, 0o700); err != nil {
		s.Close()
		return nil, err
	}
	s.env = []string{
		"PDS_HOSTNAME=localhost",
		"PDS_PORT=" + strconv.Itoa(s.pdsPort),
		"PDS_DEV_MODE=true",
		"PDS_INVITE_REQUIRED=false",
		"PDS_DATA_DIRECTORY=" + data,
		"PDS_BLOBSTORE_DISK_LOCATION=" + blobs,
		"PDS_JWT_SECRET=" + randomHex(16),
		"PDS_ADMIN_PASSWORD=" + randomHex(8),
		"PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX=" + randomHex(32),
		"PDS_DID_PLC_URL=" + s.PLCURL,
		"PDS_CRAWLERS=",
	}
	// The PDS logs every request (JSON, verbose): only on demand.
	if os.Getenv("PDSTEST_LOG") == "" {
		s.env = append(s.env, "LOG_ENABLED=false")
	} else {
		s.env = append(s.env, "LOG_ENABLED=true", "LOG_LEVEL=info")
	}
	if opts.RateLimits {
		s.env = append(s.env, "PDS_RATE_LIMITS_ENABLED=true")
	}
	if opts.HandleResolver != "" {
		s.env = append(s.env, "PASSERELLE_HANDLE_RESOLVER="+opts.HandleResolver)
	}
	if opts.AppView {
		if err := s.registerAppView(opts); err != nil {
			s.Close()
			return nil, err
		}
	}
	if err := s.StartPDS(); err != nil {
		s.Close()
		return nil, err
	}
	if opts.AppView {
		if err := s.StartAppView(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// ErrAppViewNotInstalled is returned when e2e/pds has no @atproto/bsky.
var ErrAppViewNotInstalled = errors.New("pdstest: the AppView is not installed: run (cd e2e/pds && npm_config_nodedir=/usr npm ci)")

// registerAppView chooses the AppView's key and port, registers its
// did:plc in the PLC and points the PDS's environment at it.
func (s *Server) registerAppView(opts Options) error {
	if _, err := os.Stat(filepath.Join(s.dir, "node_modules", "@atproto", "bsky")); err != nil {
		return ErrAppViewNotInstalled
	}
	if opts.AppViewPostgresURL == "" {
		return errors.New("pdstest: the AppView needs PostgreSQL (Options.AppViewPostgresURL)")
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	s.appviewPort = port
	s.AppViewURL = "http://localhost:" + strconv.Itoa(port)
	key := randomHex(32) // a secp256k1 private key (valid but with negligible odds)
	cmd := exec.Command("node", "index.mjs", "appview-did", strconv.Itoa(port))
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "PASSERELLE_APPVIEW_KEY_HEX="+key, "PASSERELLE_PLC_URL="+s.PLCURL)
	cmd.Stderr = s.log
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("pdstest: register the AppView's DID: %w (log: %s)", err, s.LogPath)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if did, ok := strings.CutPrefix(strings.TrimSpace(line), "ready appview-did "); ok {
			s.AppViewDID = did
		}
	}
	if !strings.HasPrefix(s.AppViewDID, "did:plc:") {
		return fmt.Errorf("pdstest: register the AppView's DID: no DID in %q", out)
	}
	s.env = append(s.env, "PDS_BSKY_APP_VIEW_URL="+s.AppViewURL, "PDS_BSKY_APP_VIEW_DID="+s.AppViewDID)
	s.appviewEnv = []string{
		"PASSERELLE_APPVIEW_KEY_HEX=" + key,
		"PASSERELLE_APPVIEW_DID=" + s.AppViewDID,
		"PASSERELLE_PLC_URL=" + s.PLCURL,
		"PASSERELLE_APPVIEW_PDS_URL=" + s.URL,
		"PASSERELLE_APPVIEW_DB_URL=" + opts.AppViewPostgresURL,
		"PASSERELLE_APPVIEW_DB_SCHEMA=appview_" + randomLetters(12), // [A-Za-z_] only
		"PASSERELLE_APPVIEW_DB_DROP=1",
	}
	return nil
}

// StartAppView starts the AppView (again).
func (s *Server) StartAppView() error {
	if s.appviewEnv == nil {
		return errors.New("pdstest: started without the AppView")
	}
	if s.appview != nil {
		select {
		case <-s.appview.done:
		default:
			return errors.New("pdstest: the AppView is running")
		}
	}
	p, err := s.spawn("appview", s.appviewPort, s.appviewEnv)
	if err != nil {
		return err
	}
	s.appview = p
	return nil
}

// StopAppView stops the AppView (an outage of app.bsky.*); its index is
// dropped, and rebuilt from the firehose when it starts again.
func (s *Server) StopAppView() { s.appview.stop() }

// spawn runs `node index.mjs role port` and waits for its "ready" line.
func (s *Server) spawn(role string, port int, env []string) (*proc, error) {
	cmd := exec.Command("node", "index.mjs", role, strconv.Itoa(port))
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = s.log
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("pdstest: start %s: %w", role, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	var once sync.Once
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.log, role+": "+line)
			if strings.HasPrefix(line, "ready "+role) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("pdstest: %s exited before it was ready (log: %s)%s", role, s.LogPath, s.logTail())
	case <-time.After(90 * time.Second):
		p.stop()
		return nil, fmt.Errorf("pdstest: %s not ready after 90 s (log: %s)", role, s.LogPath)
	}
}

func (p *proc) stop() {
	if p == nil {
		return
	}
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// StartPDS starts the PDS (again) on its port and data directory.
func (s *Server) StartPDS() error {
	if s.pds != nil {
		select {
		case <-s.pds.done:
		default:
			return errors.New("pdstest: the PDS is running")
		}
	}
	p, err := s.spawn("pds", s.pdsPort, s.env)
	if err != nil {
		return err
	}
	s.pds = p
	return nil
}

// JWTSecret is the PDS's PDS_JWT_SECRET (tests mint tokens with it).
func (s *Server) JWTSecret() string {
	for _, kv := range s.env {
		if v, ok := strings.CutPrefix(kv, "PDS_JWT_SECRET="); ok {
			return v
		}
	}
	return ""
}

// StopPDS stops the PDS (an outage); the PLC and the data stay.
func (s *Server) StopPDS() { s.pds.stop() }

// Close stops both processes and removes the data directory.
func (s *Server) Close() {
	s.appview.stop()
	s.pds.stop()
	s.plc.stop()
	if s.logFile != nil {
		s.logFile.Close()
	}
	os.RemoveAll(s.DataDir)
}

// logTail is the end of the log, for an error message.
func (s *Server) logTail() string {
	log := s.ReadLog()
	if log == "" {
		return ""
	}
	if len(log) > 4<<10 {
		log = "[...]" + log[len(log)-4<<10:]
	}
	return ":\n" + log
}

// ReadLog returns the processes' output (when it goes to LogPath).
func (s *Server) ReadLog() string {
	if s.LogPath == "" {
		return ""
	}
	b, _ := os.ReadFile(s.LogPath)
	return string(b)
}

// Account is an account created on the PDS.
type Account struct {
	DID         string
	Handle      string
	Password    string
	AppPassword string
	AccessJWT   string
}

// CreateAccount creates an account (handle such as "city.test": the PDS's
// own domain is .test) and an app password for it.
func (s *Server) CreateAccount(ctx context.Context, handle string) (Account, error) {
	a := Account{Handle: handle, Password: randomHex(12)}
	var out struct {
		DID       string `json:"did"`
		AccessJwt string `json:"accessJwt"`
	}
	err := s.XRPC(ctx, http.MethodPost, "com.atproto.server.createAccount", "", nil,
		map[string]string{"handle": handle, "email": handle + "@example.com", "password": a.Password}, &out)
	if err != nil {
		return Account{}, err
	}
	a.DID, a.AccessJWT = out.DID, out.AccessJwt
	var ap struct {
		Password string `json:"password"`
	}
	if err := s.XRPC(ctx, http.MethodPost, "com.atproto.server.createAppPassword", a.AccessJWT, nil,
		map[string]string{"name": "passerelle"}, &ap); err != nil {
		return Account{}, err
	}
	a.AppPassword = ap.Password
	return a, nil
}

// XRPCError is an XRPC error answer.
type XRPCError struct {
	Status  int
	Name    string `json:"error"`
	Message string `json:"message"`
}

func (e *XRPCError) Error() string {
	return fmt.Sprintf("pdstest: XRPC %d %s: %s", e.Status, e.Name, e.Message)
}

// XRPC calls a method of the PDS with an optional bearer token, query
// parameters and JSON body, decoding the JSON answer into out.
func (s *Server) XRPC(ctx context.Context, method, nsid, token string, params url.Values, body, out any) error {
	u := s.URL + "/xrpc/" + nsid
	if len(params) > 0 {
		u += "?" + params.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		xe := &XRPCError{Status: resp.StatusCode}
		_ = json.Unmarshal(data, xe)
		return xe
	}
	if out == nil {
		return nil
	}
	if b, ok := out.(*[]byte); ok {
		*b = data
		return nil
	}
	return json.Unmarshal(data, out)
}

// Record is a record read back from a repo.
type Record struct {
	URI   string          `json:"uri"`
	CID   string          `json:"cid"`
	Value json.RawMessage `json:"value"`
}

// RKey is the record key of the record's URI.
func (r Record) RKey() string { return r.URI[strings.LastIndexByte(r.URI, '/')+1:] }

// ListRecords lists every record of a collection (com.atproto.repo.listRecords).
func (s *Server) ListRecords(ctx context.Context, repo, collection string) ([]Record, error) {
	var all []Record
	cursor := ""
	for {
		params := url.Values{"repo": {repo}, "collection": {collection}, "limit": {"100"}}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		var out struct {
			Cursor  string   `json:"cursor"`
			Records []Record `json:"records"`
		}
		if err := s.XRPC(ctx, http.MethodGet, "com.atproto.repo.listRecords", "", params, nil, &out); err != nil {
			return nil, err
		}
		all = append(all, out.Records...)
		if out.Cursor == "" || len(out.Records) == 0 {
			return all, nil
		}
		cursor = out.Cursor
	}
}

// GetRecord reads one record (com.atproto.repo.getRecord).
func (s *Server) GetRecord(ctx context.Context, repo, collection, rkey string) (Record, error) {
	var r Record
	err := s.XRPC(ctx, http.MethodGet, "com.atproto.repo.getRecord", "",
		url.Values{"repo": {repo}, "collection": {collection}, "rkey": {rkey}}, nil, &r)
	return r, err
}

// CreateRecord writes a record to acc's repository with its session
// (com.atproto.repo.createRecord) and returns its URI and CID.
func (s *Server) CreateRecord(ctx context.Context, acc Account, collection string, record any) (Record, error) {
	var out Record
	err := s.XRPC(ctx, http.MethodPost, "com.atproto.repo.createRecord", acc.AccessJWT, nil,
		map[string]any{"repo": acc.DID, "collection": collection, "record": record}, &out)
	return out, err
}

// Now is the current time as records' createdAt.
func Now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// GetBlob downloads a blob (com.atproto.sync.getBlob).
func (s *Server) GetBlob(ctx context.Context, did, cid string) ([]byte, error) {
	var b []byte
	err := s.XRPC(ctx, http.MethodGet, "com.atproto.sync.getBlob", "", url.Values{"did": {did}, "cid": {cid}}, nil, &b)
	return b, err
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func randomLetters(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = 'a' + b[i]%26
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
