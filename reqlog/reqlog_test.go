package reqlog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	"github.com/rs/zerolog/hlog"

	"github.com/passerelle/passerelle/reqlog"
)

// lines decodes the JSON log lines in buf.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// serve runs one request through Handler around a handler that logs one
// line with a component logger (writing to comp) and one with the
// context's logger.
func serve(t *testing.T, access bool, r *http.Request) (w *httptest.ResponseRecorder, listener, comp []map[string]any) {
	t.Helper()
	var lb, cb bytes.Buffer
	component := zerolog.New(&cb).With().Str("component", "federation").Logger()
	h := reqlog.Handler(zerolog.New(&lb).With().Str("component", "http").Logger(), access)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reqlog.Logger(r.Context(), component).Warn().Msg("inbound activity")
			hlog.FromRequest(r).Info().Msg("from the context")
			w.WriteHeader(http.StatusAccepted)
			w.Write([]byte("accepted"))
		}))
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w, lines(t, &lb), lines(t, &cb)
}

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming string
		keep     bool
	}{
		{name: "none: one is made"},
		{name: "a proxy's UUID is kept", incoming: "0f8fad5b-d9cb-469f-a165-70867728950e", keep: true},
		{name: "a trace id is kept", incoming: "Root=1-67891233-abcdef012345678912345678", keep: true},
		{name: "a line break is replaced", incoming: "abc\ninjected"},
		{name: "a quote is replaced", incoming: `abc"def`},
		{name: "a space is replaced", incoming: "abc def"},
		{name: "too long is replaced", incoming: strings.Repeat("a", 129)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/users/news/inbox", nil)
			if tt.incoming != "" {
				r.Header.Set("X-Request-Id", tt.incoming)
			}
			w, listener, comp := serve(t, false, r)
			id := w.Header().Get("X-Request-Id")
			if id == "" {
				t.Fatal("no X-Request-Id in the answer")
			}
			if tt.keep && id != tt.incoming {
				t.Errorf("id %q, want the incoming %q", id, tt.incoming)
			}
			if !tt.keep && (id == tt.incoming || len(id) != 20) {
				t.Errorf("id %q: want a new 20-character id", id)
			}
			if len(comp) != 1 || comp[0]["req_id"] != id || comp[0]["component"] != "federation" {
				t.Errorf("component line %v: want req_id %q and component federation", comp, id)
			}
			if len(listener) != 1 || listener[0]["req_id"] != id || listener[0]["component"] != "http" {
				t.Errorf("context logger line %v: want req_id %q and component http", listener, id)
			}
		})
	}
}

func TestRequestIDsDiffer(t *testing.T) {
	a, _, _ := serve(t, false, httptest.NewRequest("GET", "/", nil))
	b, _, _ := serve(t, false, httptest.NewRequest("GET", "/", nil))
	if a.Header().Get("X-Request-Id") == b.Header().Get("X-Request-Id") {
		t.Errorf("two requests share the id %q", a.Header().Get("X-Request-Id"))
	}
}

func TestLoggerOutsideRequest(t *testing.T) {
	var buf bytes.Buffer
	l := zerolog.New(&buf).With().Str("component", "delivery").Logger()
	reqlog.Logger(context.Background(), l).Info().Msg("delivered")
	got := lines(t, &buf)
	if len(got) != 1 || got[0]["component"] != "delivery" {
		t.Fatalf("lines %v", got)
	}
	if _, ok := got[0]["req_id"]; ok {
		t.Errorf("req_id outside a request: %v", got[0])
	}
	if id := reqlog.ID(context.Background()); id != "" {
		t.Errorf("ID outside a request: %q", id)
	}
}

func TestAccessLog(t *testing.T) {
	const secret = "s3cr3t-c0de"
	tests := []struct {
		name   string
		access bool
		target string
		path   string
	}{
		{name: "off", target: "/api/v1/instance"},
		{name: "on", access: true, target: "/api/v1/instance", path: "/api/v1/instance"},
		{name: "OAuth code in the query", access: true, target: "/oauth/authorize?code=" + secret + "&state=" + secret, path: "/oauth/authorize"},
		{name: "token in the query", access: true, target: "/api/v1/streaming?access_token=" + secret, path: "/api/v1/streaming"},
		{name: "escaped path stays escaped", access: true, target: "/tags/a%3Fb?x=" + secret, path: "/tags/a%3Fb"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.target, nil)
			r.RemoteAddr = "198.51.100.7:0"
			r.Header.Set("User-Agent", "Mastodon/4.3 (+https://example.org/)")
			w, listener, _ := serve(t, tt.access, r)
			var access []map[string]any
			for _, l := range listener {
				if l["message"] == "request" {
					access = append(access, l)
				}
			}
			if !tt.access {
				if len(access) != 0 {
					t.Errorf("access log off, got %v", access)
				}
				return
			}
			if len(access) != 1 {
				t.Fatalf("want one access line, got %v", listener)
			}
			got := access[0]
			want := map[string]any{"level": "info", "component": "http", "method": "GET", "path": tt.path, "status": 202.0,
				"bytes": 8.0, "remote": "198.51.100.7", "user_agent": "Mastodon/4.3 (+https://example.org/)",
				"req_id": w.Header().Get("X-Request-Id")}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (line %v)", k, got[k], v, got)
				}
			}
			if _, ok := got["took"]; !ok {
				t.Errorf("no duration (took) in %v", got)
			}
			for _, l := range listener {
				b, _ := json.Marshal(l)
				if strings.Contains(string(b), secret) {
					t.Errorf("a query value was logged: %s", b)
				}
			}
		})
	}
}
