package atproto

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bluesky-social/indigo/atproto/syntax"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// newWellKnownServer serves the mirror's /.well-known/atproto-did (the
// mirror may be set after the server starts).
func newWellKnownServer(t *testing.T, mirror func() *Mirror) *httptest.Server {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/atproto-did", func(w http.ResponseWriter, r *http.Request) {
		if m := mirror(); m != nil {
			m.WellKnownDID(w, r)
			return
		}
		http.NotFound(w, r)
	})
	s := httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// resolveThrough resolves a handle with GET base/.well-known/atproto-did
// and the handle as Host.
func resolveThrough(ctx context.Context, base, handle string) (syntax.DID, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.well-known/atproto-did", nil)
	if err != nil {
		return "", err
	}
	req.Host = handle
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return syntax.ParseDID(strings.TrimSpace(string(b)))
}

func TestWellKnownDID(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	ctx := context.Background()
	m, err := New(Settings{
		HTTPClient: http.DefaultClient,
		Accounts: []Account{
			{Username: "news", Handle: "city.example", Bluesky: config.Bluesky{PDSURL: "https://pds.example", Identifier: "city.bsky.social", AppPassword: "x"}},
			{Username: "events", Handle: "events.city.example", Bluesky: config.Bluesky{PDSURL: "https://pds.example", Identifier: "did:plc:events", AppPassword: "y"}},
			{Username: "later", Handle: "later.city.example", Bluesky: config.Bluesky{PDSURL: "https://pds.example", Identifier: "later.bsky.social", AppPassword: "z"}},
		},
	}, store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	// news logged in once: its DID is known.
	if err := store.PutBlueskySession(ctx, storage.BlueskySession{Account: "news", DID: "did:plc:news", PDSURL: "https://pds.example", State: StateActive}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, host string
		code       int
		body       string
	}{
		{"the account's domain", "city.example", 200, "did:plc:news"},
		{"with a port and upper case", "City.Example:8443", 200, "did:plc:news"},
		{"identifier is a DID", "events.city.example", 200, "did:plc:events"},
		{"never logged in", "later.city.example", 404, ""},
		{"another host", "social.city.example", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/.well-known/atproto-did", nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			m.WellKnownDID(w, r)
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d", w.Code, tt.code)
			}
			if tt.code == 200 {
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("Content-Type = %q", ct)
				}
				if w.Body.String() != tt.body {
					t.Errorf("body = %q, want %q", w.Body.String(), tt.body)
				}
			}
		})
	}
}
