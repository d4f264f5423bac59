package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/api"
)

// writeAPIConfig writes a configuration with SQLite in a temporary
// directory and two accounts.
func writeAPIConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.yaml")
	cfg := `server:
  public_url: "http://127.0.0.1:8080"
  listen: "127.0.0.1:8080"
storage:
  driver: "sqlite"
  dsn: "` + filepath.Join(dir, "bridge.db") + `"
log:
  level: "error"
accounts:
  - username: news
    display_name: "Ville de Test"
  - username: mayor
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cli runs one command function and returns its standard output.
func cli(t *testing.T, fn func(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error, path string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := fn(context.Background(), path, args, &out, &errb)
	if err != nil {
		t.Logf("stderr: %s", errb.String())
	}
	return out.String(), err
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// apiCall serves one request with the client API wired as serve wires it.
func apiCall(t *testing.T, path, method, target, token string) *httptest.ResponseRecorder {
	t.Helper()
	cfg, err := loadConfig(path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	a, err := newApp(context.Background(), cfg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := api.New(api.Settings{BaseURL: cfg.Server.BaseURL(), Accounts: cfg.Accounts, HandleDomain: cfg.HandleDomain(), Version: "test"},
		a.store, a.pub, a.fed, zerolog.Nop())
	mux := http.NewServeMux()
	srv.Routes(mux)
	req := httptest.NewRequest(method, target, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func TestTokenCommands(t *testing.T) {
	path := writeAPIConfig(t)
	out, err := cli(t, cmdToken, path, "create", "--account", "News", "--scopes", "read write", "--name", "scheduler")
	if err != nil {
		t.Fatal(err)
	}
	tok := lastLine(out)
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(tok) {
		t.Fatalf("last line %q is not a token", tok)
	}
	if rec := apiCall(t, path, "GET", "/api/v1/accounts/verify_credentials", tok); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"id":"news"`) {
		t.Fatalf("the token does not work: %d %s", rec.Code, rec.Body)
	}
	list, err := cli(t, cmdToken, path, "list", "--account", "news")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^(\d+)\s+scheduler\s+read write\s+\d{4}-\d\d-\d\d \d\d:\d\d\s+\d{4}`).FindStringSubmatch(list)
	if m == nil {
		t.Fatalf("token list:\n%s", list)
	}
	if _, err := cli(t, cmdToken, path, "revoke", m[1]); err != nil {
		t.Fatal(err)
	}
	if rec := apiCall(t, path, "GET", "/api/v1/accounts/verify_credentials", tok); rec.Code != 401 {
		t.Errorf("revoked token: %d", rec.Code)
	}
	list, _ = cli(t, cmdToken, path, "list", "--account", "news")
	row := regexp.MustCompile(`(?m)^` + m[1] + `\s.*$`).FindString(list)
	if f := strings.Fields(row); len(f) == 0 || f[len(f)-1] == "-" {
		t.Errorf("revocation not listed:\n%s", list)
	}

	tests := []struct {
		name  string
		args  []string
		usage bool
	}{
		{"no subcommand", nil, true},
		{"unknown subcommand", []string{"rotate"}, true},
		{"create without account", []string{"create"}, true},
		{"create with a bad scope", []string{"create", "--account", "news", "--scopes", "admin"}, true},
		{"create for an unknown account", []string{"create", "--account", "nobody"}, false},
		{"revoke without id", []string{"revoke"}, true},
		{"revoke a bad id", []string{"revoke", "x"}, true},
		{"revoke an unknown id", []string{"revoke", "999"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := cli(t, cmdToken, path, tt.args...)
			var ue usageError
			if err == nil || errors.As(err, &ue) != tt.usage {
				t.Errorf("error %v, usage error wanted: %v", err, tt.usage)
			}
		})
	}
}

func TestLoginCodeCommand(t *testing.T) {
	path := writeAPIConfig(t)
	out, err := cli(t, cmdLoginCode, path, "--account", "news")
	if err != nil {
		t.Fatal(err)
	}
	if code := lastLine(out); !regexp.MustCompile(`^[A-Z2-9]{4}-[A-Z2-9]{4}$`).MatchString(code) {
		t.Errorf("last line %q is not a login code", code)
	}
	if _, err := cli(t, cmdLoginCode, path); err == nil {
		t.Error("no --account accepted")
	}
}

func writePNG(t *testing.T, dir string) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, image.NewGray(image.Rect(0, 0, 16, 9))); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "photo.png")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPostAndStatusCommands(t *testing.T) {
	path := writeAPIConfig(t)
	img := writePNG(t, t.TempDir())
	post := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		err := cmdPost(context.Background(), path, args, strings.NewReader("from stdin"), &out, &errb)
		return out.String(), err
	}
	out, err := post("--account", "news", "Hello from the CLI", "--image", img, "--alt", "A grey picture", "--visibility", "unlisted", "--language", "fr")
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(out)
	if !regexp.MustCompile(`^http://127\.0\.0\.1:8080/@news/\d+$`).MatchString(url) {
		t.Fatalf("post printed %q", out)
	}
	id := url[strings.LastIndex(url, "/")+1:]
	rec := apiCall(t, path, "GET", "/api/v1/statuses/"+id, "")
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, "Hello from the CLI") || !strings.Contains(body, `"description":"A grey picture"`) ||
		!strings.Contains(body, `"visibility":"unlisted"`) || !strings.Contains(body, `"language":"fr"`) {
		t.Errorf("posted status: %d %s", rec.Code, body)
	}
	if out, err := post("--account", "news", "-"); err != nil || !strings.Contains(out, "/@news/") {
		t.Errorf("text from stdin: %q %v", out, err)
	}

	tests := []struct {
		name string
		args []string
		msg  string
	}{
		{"too long", []string{"--account", "news", strings.Repeat("a", 501)}, "character limit"},
		{"missing image", []string{"--account", "news", "x", "--image", "/nonexistent.png"}, "no such file"},
		{"alt before image", []string{"--account", "news", "--alt", "x", "text"}, "--alt must follow"},
		{"no text", []string{"--account", "news"}, "want a text"},
		{"two texts", []string{"--account", "news", "a", "b"}, "one argument"},
		{"unknown account", []string{"--account", "nobody", "x"}, "no account"},
		{"bad visibility", []string{"--account", "news", "x", "--visibility", "secret"}, "visibility must be"},
		{"direct without a mention", []string{"--account", "news", "x", "--visibility", "direct"}, "must mention"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := post(tt.args...); err == nil || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %v, want %q", err, tt.msg)
			}
		})
	}

	st, err := cli(t, cmdStatus, path, "--account", "news")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(st, "REACHED") || !regexp.MustCompile(`(?m)^`+id+`\s.*unlisted\s+0\s+0\s+0\s+queued\s+-\s+Hello from the CLI`).MatchString(st) {
		t.Errorf("status:\n%s", st)
	}
	one, err := cli(t, cmdStatus, path, "--account", "news", id)
	if err != nil || !strings.Contains(one, url) || strings.Count(one, "\n") != 3 {
		t.Errorf("status %s: %v\n%s", id, err, one)
	}
	// A deleted post still reports: when, and how far its Delete went.
	a, _, err := openAccount(t.Context(), path, "news", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseInt(id, 10, 64)
	if _, err := a.pub.Delete(t.Context(), "news", n); err != nil {
		t.Fatal(err)
	}
	a.Close()
	gone, err := cli(t, cmdStatus, path, "--account", "news", id)
	if err != nil || !regexp.MustCompile(`(?m)^deleted \S+: the Delete reached 0 server\(s\), 0 pending, 0 failed, fan-out queued$`).MatchString(gone) {
		t.Errorf("status of a deleted post: %v\n%s", err, gone)
	}
	if _, err := cli(t, cmdStatus, path, "--account", "mayor", id); err == nil || !strings.Contains(err.Error(), "no post "+id) {
		t.Errorf("another account's post: %v", err)
	}
	if _, err := cli(t, cmdStatus, path, "--account", "news", "999"); err == nil || !strings.Contains(err.Error(), "no post 999") {
		t.Errorf("unknown post: %v", err)
	}
	if _, err := cli(t, cmdStatus, path, "--account", "news", "x"); err == nil {
		t.Error("bad id accepted")
	}
}
