package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/federation/fedtest"
)

// logBuffer is the log output of a served app, written by its goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines are the JSON lines logged so far.
func (b *logBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// hasLine reports whether a line with message msg has the req_id id and
// the component.
func (b *logBuffer) hasLine(t *testing.T, msg, id, component string) bool {
	t.Helper()
	for _, l := range b.lines(t) {
		if l["message"] == msg && l["req_id"] == id && l["component"] == component {
			return true
		}
	}
	return false
}

// servedApp is the app wired and listening as `bridge serve` does (the
// workers are not started).
type servedApp struct {
	*app
	url  string
	logs *logBuffer
	stop func() // waits for the requests in flight (and their log lines)
}

// serveApp starts the app's listeners on loopback with logYAML added to
// the log section; 127.0.0.2 is a trusted proxy.
func serveApp(t *testing.T, logYAML string) *servedApp {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	// A free port, for the public URL that signatures are checked against.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := `server:
  public_url: "http://` + addr + `"
  listen: "` + addr + `"
  trusted_proxies: ["127.0.0.2"]
federation:
  allow_private_networks: true
storage:
  driver: "sqlite"
  dsn: "` + filepath.Join(dir, "bridge.db") + `"
log:
  level: "debug"
` + logYAML + `
accounts:
  - username: news
    display_name: "Ville de Test"
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var problems bytes.Buffer
	c, err := loadConfig(path, &problems)
	if err != nil {
		t.Fatalf("%v: %s", err, problems.String())
	}
	logs := &logBuffer{}
	a, err := newApp(context.Background(), c, newLogger(c.Log, logs))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	h, err := a.handler()
	if err != nil {
		t.Fatal(err)
	}
	ls, err := a.newListeners(h, a.fed.NewDeliverer(1))
	if err != nil {
		t.Fatal(err)
	}
	if err := ls.fe.Listen(); err != nil {
		t.Fatal(err)
	}
	ls.fe.Serve()
	var once sync.Once
	stop := func() { once.Do(func() { ls.fe.Shutdown(context.Background()) }) }
	t.Cleanup(stop)
	return &servedApp{app: a, url: "http://" + ls.fe.Addr("main").String(), logs: logs, stop: stop}
}

// do sends one request from 127.0.0.1 (or from the trusted proxy
// 127.0.0.2) without following redirects.
func (s *servedApp) do(t *testing.T, fromProxy bool, method, path string, header http.Header, body string) answer {
	t.Helper()
	local := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	if fromProxy {
		local = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}
	}
	client := &http.Client{
		Transport:     &http.Transport{DialContext: (&net.Dialer{LocalAddr: local}).DialContext, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{code: resp.StatusCode, header: resp.Header, body: b}
}

// answer is a response read whole.
type answer struct {
	code   int
	header http.Header
	body   []byte
}

// postedID is the id of the status a POST /api/v1/statuses answered.
func postedID(t *testing.T, resp answer) int64 {
	t.Helper()
	var st struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(resp.body, &st); err != nil {
		t.Fatal(err)
	}
	id, err := strconv.ParseInt(st.ID, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestRequestIDOnLogLines: the lines logged while serving an inbox
// request and API requests carry the request's id, the one answered in
// X-Request-Id, next to their component; a client's own X-Request-Id is
// replaced, a trusted proxy's is kept.
func TestRequestIDOnLogLines(t *testing.T) {
	s := serveApp(t, "")
	ctx := context.Background()

	// The inbox: an unsigned activity (refused) from a client that chose
	// its id, and a signed Follow (accepted).
	inbox := s.do(t, false, "POST", "/users/news/inbox",
		http.Header{"Content-Type": {"application/activity+json"}, "X-Request-Id": {"chosen-by-the-client"}},
		`{"@context":"https://www.w3.org/ns/activitystreams","id":"https://remote.example/a/1","type":"Follow","actor":"https://remote.example/users/bob","object":"`+s.url+`/users/news"}`)
	refusedID := inbox.header.Get("X-Request-Id")
	if inbox.code != http.StatusUnauthorized || refusedID == "" || refusedID == "chosen-by-the-client" {
		t.Fatalf("inbox: %d, X-Request-Id %q: want 401 and an id of ours", inbox.code, refusedID)
	}
	remote := fedtest.Start(t, "127.0.0.3:0", 1)
	follow, _, err := remote.SignedFollow(0, s.url+"/users/news/inbox", s.url+"/users/news", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	follow.Header.Set("X-Request-Id", "chosen-by-the-peer")
	accepted, err := http.DefaultClient.Do(follow)
	if err != nil {
		t.Fatal(err)
	}
	accepted.Body.Close()
	acceptedID := accepted.Header.Get("X-Request-Id")
	if accepted.StatusCode != http.StatusAccepted || acceptedID == "" || acceptedID == "chosen-by-the-peer" {
		t.Fatalf("signed follow: %d, X-Request-Id %q: want 202 and an id of ours", accepted.StatusCode, acceptedID)
	}

	// The API: a status posted with a token (the publishing service logs
	// it) and a wrong login code (the API logs it).
	tok, _, err := api.CreateToken(ctx, s.store, "news", 0, "test", "read write", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	post := s.do(t, false, "POST", "/api/v1/statuses",
		http.Header{"Authorization": {"Bearer " + tok}, "Content-Type": {"application/x-www-form-urlencoded"}}, "status=Hello")
	postID := post.header.Get("X-Request-Id")
	if post.code != http.StatusOK || postID == "" {
		t.Fatalf("post: %d, X-Request-Id %q", post.code, postID)
	}
	clientID := registerApp(t, s)
	q := url.Values{"client_id": {clientID}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"}, "scope": {"read"}}
	csrf := loginForm(t, s, q)
	wrong := s.submitLogin(t, q, csrf, "ZZZZ-ZZZZ")
	wrongID := wrong.header.Get("X-Request-Id")
	if wrong.code != http.StatusForbidden || wrongID == "" {
		t.Fatalf("wrong login code: %d, X-Request-Id %q", wrong.code, wrongID)
	}

	// A trusted proxy's id is kept.
	proxied := s.do(t, true, "GET", "/api/v1/instance", http.Header{"X-Request-Id": {"nginx-0123456789abcdef"}}, "")
	if got := proxied.header.Get("X-Request-Id"); got != "nginx-0123456789abcdef" {
		t.Errorf("through the trusted proxy: X-Request-Id %q, want the proxy's", got)
	}

	// Errors answered 500 are logged by the API's and the pages' error
	// helpers: the database is closed under them.
	s.store.Close()
	apiErr := s.do(t, false, "GET", "/api/v1/accounts/verify_credentials", http.Header{"Authorization": {"Bearer " + tok}}, "")
	pageErr := s.do(t, false, "GET", "/@news/"+strconv.FormatInt(postedID(t, post), 10), nil, "")
	if apiErr.code != http.StatusInternalServerError || pageErr.code != http.StatusInternalServerError {
		t.Fatalf("with the database closed: API %d, page %d; want 500s", apiErr.code, pageErr.code)
	}

	s.stop()
	for _, want := range []struct{ msg, component, id string }{
		{"client API request failed", "api", apiErr.header.Get("X-Request-Id")},
		{"page", "web", pageErr.header.Get("X-Request-Id")},
		{"inbound activity", "federation", refusedID},  // refused: guard.go's event
		{"inbound activity", "federation", acceptedID}, // accepted: inbox.go's
		{"status published", "publish", postID},
		{"wrong or expired login code", "api", wrongID},
	} {
		if !s.logs.hasLine(t, want.msg, want.id, want.component) {
			t.Errorf("no line %q with req_id %q and component %s:\n%s", want.msg, want.id, want.component, s.logs.String())
		}
	}
	if ids := map[string]bool{refusedID: true, acceptedID: true, postID: true, wrongID: true}; len(ids) != 4 {
		t.Errorf("requests share an id: %v", ids)
	}
	// Lines logged outside requests have none.
	for _, l := range s.logs.lines(t) {
		if (l["message"] == "generated RSA-2048 key pair" || l["message"] == "listening") && l["req_id"] != nil {
			t.Errorf("start-up line with a req_id: %v", l)
		}
	}
}

// TestAccessLog: off unless log.access is set; on, one line per request
// that never holds an OAuth code, token or state.
func TestAccessLog(t *testing.T) {
	tests := []struct {
		name   string
		log    string
		access bool
	}{
		{name: "off by default"},
		{name: "off", log: "  access: false"},
		{name: "on", log: "  access: true", access: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := serveApp(t, tt.log)
			// A whole OAuth login: the state, the code and the token
			// travel in query strings, bodies and answers.
			const state = "state-5ecret-0123"
			clientID, secret := registerAppSecret(t, s)
			q := url.Values{"client_id": {clientID}, "redirect_uri": {"https://app.example/cb"}, "response_type": {"code"},
				"scope": {"read"}, "state": {state}}
			csrf := loginForm(t, s, q)
			loginCode, _, err := api.NewLoginCode(context.Background(), s.store, "news", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			ok := s.submitLogin(t, q, csrf, loginCode)
			loc, err := url.Parse(ok.header.Get("Location"))
			if ok.code != http.StatusFound || err != nil || loc.Query().Get("code") == "" {
				t.Fatalf("login: %d %q", ok.code, ok.header.Get("Location"))
			}
			code := loc.Query().Get("code")
			tokenResp := s.doBody(t, "POST", "/oauth/token", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
				url.Values{"grant_type": {"authorization_code"}, "code": {code}, "client_id": {clientID}, "client_secret": {secret},
					"redirect_uri": {"https://app.example/cb"}}.Encode())
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			if err := json.Unmarshal(tokenResp, &tok); err != nil || tok.AccessToken == "" {
				t.Fatalf("token: %s", tokenResp)
			}
			// Tokens in a query string, as streaming clients send them.
			s.do(t, false, "GET", "/api/v1/timelines/public?access_token="+tok.AccessToken, nil, "")
			s.stop()

			var access []map[string]any
			for _, l := range s.logs.lines(t) {
				if l["message"] == "request" {
					access = append(access, l)
				}
			}
			if !tt.access {
				if len(access) != 0 {
					t.Errorf("access log off, got %d lines: %v", len(access), access)
				}
			} else {
				paths := map[string]bool{}
				for _, l := range access {
					paths[l["path"].(string)] = true
					if l["req_id"] == nil || l["status"] == nil || l["remote"] != "127.0.0.1" || l["component"] != "http" {
						t.Errorf("access line %v", l)
					}
				}
				for _, p := range []string{"/api/v1/apps", "/oauth/authorize", "/oauth/token", "/api/v1/timelines/public"} {
					if !paths[p] {
						t.Errorf("no access line for %s in %v", p, access)
					}
				}
			}
			logs := s.logs.String()
			for name, v := range map[string]string{"state": state, "code": code, "token": tok.AccessToken, "login code": loginCode, "client secret": secret} {
				if strings.Contains(logs, v) || strings.Contains(logs, url.QueryEscape(v)) {
					t.Errorf("the log holds the %s %q:\n%s", name, v, logs)
				}
			}
		})
	}
}

// doBody sends one request from 127.0.0.1 and returns the answer's body.
func (s *servedApp) doBody(t *testing.T, method, path string, header http.Header, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = header
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func registerApp(t *testing.T, s *servedApp) string {
	t.Helper()
	id, _ := registerAppSecret(t, s)
	return id
}

// registerAppSecret registers an OAuth app; it returns its client id and
// secret.
func registerAppSecret(t *testing.T, s *servedApp) (string, string) {
	t.Helper()
	b := s.doBody(t, "POST", "/api/v1/apps", http.Header{"Content-Type": {"application/json"}},
		`{"client_name":"Test App","redirect_uris":"https://app.example/cb","scopes":"read"}`)
	var app struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.Unmarshal(b, &app); err != nil || app.ClientID == "" {
		t.Fatalf("register app: %s", b)
	}
	return app.ClientID, app.ClientSecret
}

// loginForm loads the login form and returns its CSRF token.
func loginForm(t *testing.T, s *servedApp, q url.Values) string {
	t.Helper()
	page := s.doBody(t, "GET", "/oauth/authorize?"+q.Encode(), http.Header{}, "")
	m := csrfField.FindSubmatch(page)
	if m == nil {
		t.Fatalf("no CSRF field in the login page:\n%s", page)
	}
	return string(m[1])
}

// submitLogin posts the login form with code.
func (s *servedApp) submitLogin(t *testing.T, q url.Values, csrf, code string) answer {
	t.Helper()
	f := url.Values{"csrf": {csrf}, "account": {"news"}, "code": {code}}
	for k, v := range q {
		f[k] = v
	}
	return s.do(t, false, "POST", "/oauth/authorize",
		http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Cookie": {"passerelle_oauth_csrf=" + csrf}}, f.Encode())
}
