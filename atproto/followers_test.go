package atproto

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestFollowersCount: the account's follower count is read with
// getProfile through its PDS, for the account's DID, with its session; a
// profile without a count, or an account not mirrored, is an error.
func TestFollowersCount(t *testing.T) {
	cases := []struct {
		name    string
		profile string
		want    int64
		wantErr string
	}{
		{"count", `{"did":"did:plc:city","handle":"city.test","followersCount":1234}`, 1234, ""},
		{"zero", `{"did":"did:plc:city","handle":"city.test","followersCount":0}`, 0, ""},
		{"no count", `{"did":"did:plc:city","handle":"city.test"}`, 0, "no followersCount"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var actor, auth string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				switch strings.TrimPrefix(r.URL.Path, "/xrpc/") {
				case "com.atproto.server.createSession":
					fmt.Fprint(w, `{"did":"did:plc:city","handle":"city.test","accessJwt":"a1","refreshJwt":"r1","active":true}`)
				case "app.bsky.actor.getProfile":
					actor, auth = r.URL.Query().Get("actor"), r.Header.Get("Authorization")
					fmt.Fprint(w, c.profile)
				default:
					w.WriteHeader(http.StatusNotImplemented)
				}
			}))
			defer srv.Close()
			m, err := New(Settings{
				Accounts:   []Account{{Username: "news", Bluesky: config.Bluesky{PDSURL: srv.URL, Identifier: "city.test", AppPassword: "app-password-1234"}}},
				HTTPClient: safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 10 * time.Second, MaxBodyBytes: 1 << 20}),
			}, storagetest.OpenSQLite(t), zerolog.New(zerolog.NewTestWriter(t)))
			if err != nil {
				t.Fatal(err)
			}
			n, err := m.FollowersCount(context.Background(), "News")
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("FollowersCount = %d, %v; want an error with %q", n, err, c.wantErr)
				}
				return
			}
			if err != nil || n != c.want {
				t.Fatalf("FollowersCount = %d, %v; want %d", n, err, c.want)
			}
			if actor != "did:plc:city" || auth != "Bearer a1" {
				t.Errorf("getProfile asked for %q with %q, want the account's DID with its session", actor, auth)
			}
			if _, err := m.FollowersCount(context.Background(), "mayor"); err == nil {
				t.Error("FollowersCount of an account not mirrored: no error")
			}
		})
	}
}
