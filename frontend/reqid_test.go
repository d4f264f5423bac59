package frontend_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/frontend"
	"github.com/passerelle/passerelle/reqlog"
)

// lockedBuffer is a log output written by the server's goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestFrontendRequestIDs: the main listener gives every request an id,
// keeps the one a trusted proxy sends and replaces anyone else's; the
// access log, when on, has the client address resolved through the
// trusted proxies.
func TestFrontendRequestIDs(t *testing.T) {
	const incoming = "proxy-id-0123456789abcdef"
	tests := []struct {
		name       string
		trusted    []netip.Prefix
		id, xff    string
		keep       bool
		wantRemote string
	}{
		{name: "untrusted peer: its id is replaced", trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
			id: incoming, xff: "198.51.100.7", wantRemote: "127.0.0.1"},
		{name: "no trusted proxies: the id is replaced", id: incoming, wantRemote: "127.0.0.1"},
		{name: "trusted proxy: its id is kept", trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			id: incoming, xff: "198.51.100.7", keep: true, wantRemote: "198.51.100.7"},
		{name: "trusted proxy without an id: one is made", trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
			xff: "198.51.100.7", wantRemote: "198.51.100.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out lockedBuffer
			root := zerolog.New(&out)
			component := root.With().Str("component", "api").Logger()
			app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reqlog.Logger(r.Context(), component).Info().Msg("handled")
				io.WriteString(w, "ok")
			})
			fe, err := frontend.New(frontend.Config{Mode: frontend.ModeOff, Listen: "127.0.0.1:0", TrustedProxies: tt.trusted, AccessLog: true},
				frontend.Handlers{App: app}, nil, root.With().Str("component", "http").Logger())
			if err != nil {
				t.Fatal(err)
			}
			if err := fe.Listen(); err != nil {
				t.Fatal(err)
			}
			fe.Serve()
			req, err := http.NewRequest("GET", "http://"+fe.Addr("main").String()+"/api/v1/instance", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.id != "" {
				req.Header.Set("X-Request-Id", tt.id)
			}
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if err := fe.Shutdown(context.Background()); err != nil { // the access line is written
				t.Fatal(err)
			}
			id := resp.Header.Get("X-Request-Id")
			if tt.keep != (id == incoming) || id == "" {
				t.Fatalf("answered id %q (incoming %q, keep %v)", id, tt.id, tt.keep)
			}
			var handled, access map[string]any
			for _, l := range out.lines(t) {
				switch l["message"] {
				case "handled":
					handled = l
				case "request":
					access = l
				}
			}
			if handled["req_id"] != id || handled["component"] != "api" {
				t.Errorf("handler line %v: want req_id %q, component api", handled, id)
			}
			if access["req_id"] != id || access["remote"] != tt.wantRemote || access["component"] != "http" {
				t.Errorf("access line %v: want req_id %q, remote %q, component http", access, id, tt.wantRemote)
			}
		})
	}
}
