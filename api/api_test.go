package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

func TestInstance(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "write")
	e.post(t, tok, url.Values{"status": {"hello"}})
	tests := []struct {
		name, path, fixture string
		check               func(t *testing.T, m map[string]any)
	}{
		{"v1", "/api/v1/instance", "instance_v1.json", func(t *testing.T, m map[string]any) {
			cfg := m["configuration"].(map[string]any)
			st := cfg["statuses"].(map[string]any)
			ma := cfg["media_attachments"].(map[string]any)
			if m["uri"] != e.host || st["max_characters"] != 500.0 || st["max_media_attachments"] != 4.0 ||
				st["characters_reserved_per_url"] != 23.0 || ma["image_size_limit"] != float64(16<<20) ||
				ma["image_matrix_limit"] != 10_000_000.0 || m["stats"].(map[string]any)["status_count"] != 1.0 ||
				m["urls"].(map[string]any)["streaming_api"] != "ws://"+e.host {
				t.Errorf("v1: %v", m)
			}
		}},
		{"v2", "/api/v2/instance", "instance_v2.json", func(t *testing.T, m map[string]any) {
			cfg := m["configuration"].(map[string]any)
			if m["domain"] != e.host || m["registrations"].(map[string]any)["enabled"] != false ||
				cfg["statuses"].(map[string]any)["max_characters"] != 500.0 ||
				cfg["accounts"].(map[string]any)["max_featured_tags"] != 0.0 ||
				m["contact"].(map[string]any)["account"].(map[string]any)["id"] != "news" {
				t.Errorf("v2: %v", m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, tt.path, "")
			if r.code != http.StatusOK {
				t.Fatalf("%d %s", r.code, r.body)
			}
			m := r.json(t)
			sameKeys(t, tt.name, m, fixture(t, tt.fixture))
			if v := m["version"].(string); v != "4.3.0 (compatible; Passerelle 1.2.3)" {
				t.Errorf("version %q", v)
			}
			tt.check(t, m)
		})
	}
}

func TestAccounts(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read")
	if _, err := e.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: "https://remote.example/users/a",
		Inbox: "https://remote.example/users/a/inbox", State: storage.FollowerAccepted}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: "https://remote.example/users/b",
		Inbox: "https://remote.example/users/b/inbox", State: storage.FollowerPending}); err != nil {
		t.Fatal(err)
	}

	vc := e.get(t, "/api/v1/accounts/verify_credentials", tok)
	if vc.code != http.StatusOK {
		t.Fatalf("verify_credentials: %d %s", vc.code, vc.body)
	}
	cred := vc.json(t)
	sameKeys(t, "credential account", cred, fixture(t, "credential_account.json"))
	src := cred["source"].(map[string]any)
	if cred["id"] != "news" || cred["followers_count"] != 1.0 || src["follow_requests_count"] != 1.0 ||
		src["note"] != "News from the city hall." || cred["note"] != "<p>News from the city hall.</p>" ||
		cred["avatar"] != e.url+"/static/avatar.png" || cred["bot"] != false || cred["last_status_at"] != nil {
		t.Errorf("credential account: %s", vc.body)
	}
	if f := cred["fields"].([]any)[0].(map[string]any); !strings.Contains(f["value"].(string), `rel="nofollow noopener me"`) {
		t.Errorf("field %v", f)
	}
	if !mastodonTime.MatchString(cred["created_at"].(string)) || !strings.HasSuffix(cred["created_at"].(string), "T00:00:00.000Z") {
		t.Errorf("created_at %v", cred["created_at"])
	}

	tests := []struct {
		name, path, token, id string
		code                  int
	}{
		{"by id", "/api/v1/accounts/news", "", "news", 200},
		{"by id, any case", "/api/v1/accounts/News", tok, "news", 200},
		{"other account", "/api/v1/accounts/mayor", tok, "mayor", 200},
		{"unknown", "/api/v1/accounts/nobody", "", "", 404},
		{"lookup", "/api/v1/accounts/lookup?acct=mayor", "", "mayor", 200},
		{"lookup with domain", "/api/v1/accounts/lookup?acct=news@" + e.host, "", "news", 200},
		{"lookup elsewhere", "/api/v1/accounts/lookup?acct=news@elsewhere.example", "", "", 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, tt.path, tt.token)
			if r.code != tt.code {
				t.Fatalf("%d %s", r.code, r.body)
			}
			if tt.code != 200 {
				if r.errorText(t) != "Record not found" {
					t.Errorf("error %s", r.body)
				}
				return
			}
			m := r.json(t)
			sameKeys(t, tt.name, m, fixture(t, "account.json"))
			if m["id"] != tt.id {
				t.Errorf("id %v", m["id"])
			}
		})
	}
	if r := e.get(t, "/api/v1/accounts/mayor", ""); r.json(t)["bot"] != false || r.json(t)["display_name"] != "The Mayor" {
		t.Errorf("mayor: %s", r.body)
	}
}

func TestScopesAndTokens(t *testing.T) {
	e := newEnv(t, envOptions{})
	tests := []struct {
		name, scopes, method, path string
		code                       int
	}{
		{"profile may verify credentials", "profile", "GET", "/api/v1/accounts/verify_credentials", 200},
		{"read:accounts may verify credentials", "read:accounts", "GET", "/api/v1/accounts/verify_credentials", 200},
		{"read:statuses may not", "read:statuses", "GET", "/api/v1/accounts/verify_credentials", 403},
		{"write may not read", "write", "GET", "/api/v1/accounts/verify_credentials", 403},
		{"profile may not read statuses", "profile", "GET", "/api/v1/timelines/home", 403},
		{"follow grants nothing", "follow", "GET", "/api/v1/notifications", 403},
		{"read:notifications", "read:notifications", "GET", "/api/v1/notifications", 200},
		{"write:media may not post", "write:media", "POST", "/api/v1/statuses", 403},
		{"read may not pin", "read", "POST", "/api/v1/statuses/1/pin", 403},
		{"write:accounts may pin", "write:accounts", "POST", "/api/v1/statuses/1/pin", 404},
		{"preferences", "read", "GET", "/api/v1/preferences", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, request{method: tt.method, path: tt.path, token: e.token(t, "news", tt.scopes)})
			if r.code != tt.code {
				t.Errorf("%d %s, want %d", r.code, r.body, tt.code)
			}
		})
	}

	// Token use is recorded at most once a minute.
	tok, row := e.tokenRow(t, "news", "read")
	ctx := context.Background()
	lastUsed := func() time.Time {
		ts, err := e.store.ListTokens(ctx, "news")
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range ts {
			if x.ID == row.ID {
				return x.LastUsedAt
			}
		}
		t.Fatal("token not listed")
		return time.Time{}
	}
	now := time.Now()
	e.api.SetClock(func() time.Time { return now })
	e.get(t, "/api/v1/preferences", tok)
	first := lastUsed()
	if first.IsZero() {
		t.Fatal("use not recorded")
	}
	e.api.SetClock(func() time.Time { return now.Add(30 * time.Second) })
	e.get(t, "/api/v1/preferences", tok)
	if !lastUsed().Equal(first) {
		t.Error("use recorded twice within a minute")
	}
	e.api.SetClock(func() time.Time { return now.Add(2 * time.Minute) })
	e.get(t, "/api/v1/preferences", tok)
	if !lastUsed().After(first) {
		t.Error("use not recorded after a minute")
	}
}

func TestLoginEndpointsAnswerEmpty(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read")
	lists := []string{
		"/api/v1/notifications", "/api/v1/filters", "/api/v2/filters", "/api/v1/lists", "/api/v1/followed_tags",
		"/api/v1/announcements", "/api/v1/conversations", "/api/v1/follow_requests", "/api/v1/custom_emojis",
		"/api/v1/timelines/public", "/api/v1/timelines/tag/news", "/api/v1/accounts/relationships?id[]=news",
		"/api/v1/accounts/news/followers", "/api/v1/scheduled_statuses", "/api/v1/bookmarks",
	}
	for _, p := range lists {
		t.Run(p, func(t *testing.T) {
			r := e.get(t, p, tok)
			if r.code != http.StatusOK || strings.TrimSpace(string(r.body)) != "[]" {
				t.Errorf("%d %s", r.code, r.body)
			}
		})
	}
	if r := e.get(t, "/api/v1/markers?timeline[]=home", tok); r.code != http.StatusOK || string(r.body) != "{}" {
		t.Errorf("markers: %d %s", r.code, r.body)
	}
	if r := e.get(t, "/api/v1/notifications", ""); r.code != http.StatusUnauthorized {
		t.Errorf("notifications without a token: %d", r.code)
	}
	if r := e.get(t, "/api/v1/notifications", e.token(t, "news", "write")); r.code != http.StatusForbidden {
		t.Errorf("notifications with a write token: %d", r.code)
	}
}

func TestCrossOrigin(t *testing.T) {
	e := newEnv(t, envOptions{})
	origin := map[string]string{"Origin": "https://client.example"}
	pre := e.do(t, request{method: http.MethodOptions, path: "/api/v1/statuses", header: map[string]string{
		"Origin": "https://client.example", "Access-Control-Request-Method": "POST",
		"Access-Control-Request-Headers": "authorization, content-type, idempotency-key"}})
	if pre.code != http.StatusNoContent || pre.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.Contains(pre.header.Get("Access-Control-Allow-Headers"), "idempotency-key") {
		t.Errorf("preflight: %d %v", pre.code, pre.header)
	}
	tests := []struct {
		name, method, path string
		cors               bool
		code               int
	}{
		{"instance", "GET", "/api/v2/instance", true, 200},
		{"token endpoint", "POST", "/oauth/token", true, 400},
		{"unknown API path", "POST", "/api/v1/statuses/1/bookmark", true, 404},
		{"login page", "GET", "/oauth/authorize", false, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(t, request{method: tt.method, path: tt.path, header: origin})
			if r.code != tt.code || (r.header.Get("Access-Control-Allow-Origin") == "*") != tt.cors {
				t.Errorf("%d, CORS %q", r.code, r.header.Get("Access-Control-Allow-Origin"))
			}
		})
	}
	if r := e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses/1/bookmark"}); r.errorText(t) != "Record not found" {
		t.Errorf("unknown API path: %s", r.body)
	}
}

// Unknown API paths, GET included, answer Mastodon's JSON 404: masto.js
// (and clients built on it) read a plain-text 404 or 405 as "the server
// may be down" instead of a missing feature they can do without.
func TestUnknownAPIPathsAnswerJSON404(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	for _, rq := range []request{
		{method: http.MethodGet, path: "/api/v2/trends?limit=5", token: tok},
		{method: http.MethodGet, path: "/api/v1/instance/peers"},
		{method: http.MethodGet, path: "/api/v1/instance/activity"},
		{method: http.MethodGet, path: "/api/v1/streaming/health"},
		{method: http.MethodGet, path: "/api/v1/statuses/1/pin", token: tok}, // a POST-only route
		{method: http.MethodGet, path: "/api/v3/anything/else"},
		{method: http.MethodPost, path: "/api/v1/statuses/1/reblog", token: tok},
	} {
		t.Run(rq.method+" "+rq.path, func(t *testing.T) {
			r := e.do(t, rq)
			if ct := r.header.Get("Content-Type"); r.code != http.StatusNotFound || !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("%d %s %q, want 404 application/json", r.code, ct, r.body)
			}
			if got := r.errorText(t); got != "Record not found" {
				t.Errorf("error %q, want Record not found", got)
			}
		})
	}
	// Known routes and the web pages beside them are untouched.
	if r := e.get(t, "/api/v1/instance", ""); r.code != http.StatusOK {
		t.Errorf("GET /api/v1/instance: %d", r.code)
	}
	if r := e.get(t, "/api/v1/notifications", tok); r.code != http.StatusOK {
		t.Errorf("GET /api/v1/notifications: %d", r.code)
	}
	if r := e.get(t, "/@news", ""); r.code != http.StatusOK {
		t.Errorf("GET /@news: %d", r.code)
	}
}
