package atproto

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestInboxExpiredSessionAndRateLimit, against a scripted PDS: a session
// that expires mid-poll is refreshed and the poll goes on; malformed
// notifications are skipped, the good one kept; a 429 fails the poll and
// blocks the account's requests until the PDS's time, without sending
// any (no storm).
func TestInboxExpiredSessionAndRateLimit(t *testing.T) {
	var (
		mu    sync.Mutex
		calls = map[string]int{}
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := strings.TrimPrefix(r.URL.Path, "/xrpc/")
		mu.Lock()
		calls[method]++
		n := calls[method]
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch method {
		case "com.atproto.server.createSession":
			fmt.Fprint(w, `{"did":"did:plc:city","handle":"city.test","accessJwt":"a1","refreshJwt":"r1","active":true}`)
		case "com.atproto.server.refreshSession":
			fmt.Fprint(w, `{"did":"did:plc:city","handle":"city.test","accessJwt":"a2","refreshJwt":"r2","active":true}`)
		case "app.bsky.notification.listNotifications":
			if r.URL.Query().Get("priority") != "false" {
				mu.Lock()
				calls["listNotifications without priority=false"]++
				mu.Unlock()
			}
			switch {
			case n == 1: // the access token expired mid-poll
				w.WriteHeader(http.StatusBadRequest)
				fmt.Fprint(w, `{"error":"ExpiredToken","message":"Token has expired"}`)
			case r.Header.Get("Authorization") != "Bearer a2":
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, `{"error":"InvalidToken"}`)
			case n == 2:
				fmt.Fprint(w, `{"notifications":[
				  {"uri":"at://did:plc:alice/app.bsky.graph.follow/1","cid":"c","reason":"follow","indexedAt":"2026-12-06T10:00:00.000Z",
				   "author":{"did":"did:plc:alice","handle":"alice.test","displayName":"Alice\u202e","description":"<b>bio</b>"},"record":{}},
				  {"uri":"at://did:plc:bad/app.bsky.feed.post/1","cid":"c","reason":"mention","indexedAt":"2026-12-06T09:59:00.000Z",
				   "author":{"did":"did:plc:bad","handle":"bad.test"},"record":{"text":5}},
				  {"uri":"","reason":"follow","indexedAt":"2026-12-06T09:58:00.000Z","author":{"did":""},"record":{}}]}`)
			default:
				w.Header().Set("Retry-After", "120")
				w.WriteHeader(http.StatusTooManyRequests)
				fmt.Fprint(w, `{"error":"RateLimitExceeded"}`)
			}
		case "app.bsky.notification.updateSeen":
			fmt.Fprint(w, `{}`)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	defer srv.Close()
	store := storagetest.OpenSQLite(t)
	now := time.Date(2026, 12, 6, 10, 1, 0, 0, time.UTC)
	m, err := New(Settings{
		Accounts:   []Account{{Username: "news", Bluesky: config.Bluesky{PDSURL: srv.URL, Identifier: "city.test", AppPassword: "app-password-1234"}}},
		HTTPClient: safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 10 * time.Second, MaxBodyBytes: 1 << 20}),
	}, store, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	m.SetClock(func() time.Time { return now })
	ctx := context.Background()

	res, err := m.PollInbox(ctx, "news")
	if err != nil {
		t.Fatalf("poll with a session expiring: %v", err)
	}
	if res.Read != 3 || res.Created != 1 || res.Invalid != 2 {
		t.Errorf("poll = %+v, want 3 read, 1 created, 2 invalid", res)
	}
	ns, err := store.ListNotifications(ctx, storage.NotificationPage{Account: "news", Limit: 10})
	if err != nil || len(ns) != 1 || ns[0].Type != storage.NotificationFollow || ns[0].ActorID != "did:plc:alice" {
		t.Fatalf("notifications %+v, %v", ns, err)
	}
	p, err := store.GetRemoteProfile(ctx, "did:plc:alice")
	if err != nil || p.DisplayName != "Alice" || strings.Contains(p.Summary, "<b>") {
		t.Errorf("profile %+v, %v: name and bio sanitised", p, err)
	}
	in, _ := store.GetBlueskyInbox(ctx, "news")
	if in.Newest != "2026-12-06T10:00:00Z" || in.SeenAt != in.Newest || !in.ActiveAt.Equal(now) {
		t.Errorf("inbox state %+v", in)
	}

	// Rate limited: the poll fails; the next one sends nothing.
	_, err = m.PollInbox(ctx, "news")
	if kind := classify(err); kind != kindRateLimited {
		t.Fatalf("poll on a 429: %v (kind %d)", err, kind)
	}
	before := calls["app.bsky.notification.listNotifications"]
	_, err = m.PollInbox(ctx, "news")
	var rl *RateLimitedError
	if !errors.As(err, &rl) || !rl.Until.Equal(now.Add(120*time.Second)) {
		t.Errorf("poll while rate limited: %v, want blocked until %v", err, now.Add(120*time.Second))
	}
	if after := calls["app.bsky.notification.listNotifications"]; after != before {
		t.Errorf("%d requests sent while rate limited", after-before)
	}
	if in, _ := store.GetBlueskyInbox(ctx, "news"); in.Failures != 2 {
		t.Errorf("failures %d, want 2", in.Failures)
	}
	if n := calls["listNotifications without priority=false"]; n != 0 {
		t.Errorf("%d listNotifications without priority=false (an account whose priority flag is set would list followed accounts only)", n)
	}
}

// TestInboxReadsLateRecords: a notification the AppView lists after one
// already read but dated before it (indexed late, or backdated) is still
// brought in, once; what was read before is not added again.
func TestInboxReadsLateRecords(t *testing.T) {
	follow := func(who, at string) string {
		return fmt.Sprintf(`{"uri":"at://did:plc:%s/app.bsky.graph.follow/1","cid":"c","reason":"follow","indexedAt":%q,
		  "author":{"did":"did:plc:%s","handle":"%s.test"},"record":{}}`, who, at, who, who)
	}
	var (
		mu    sync.Mutex
		polls int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimPrefix(r.URL.Path, "/xrpc/") {
		case "com.atproto.server.createSession":
			fmt.Fprint(w, `{"did":"did:plc:city","handle":"city.test","accessJwt":"a1","refreshJwt":"r1","active":true}`)
		case "app.bsky.notification.listNotifications":
			mu.Lock()
			polls++
			n := polls
			mu.Unlock()
			items := []string{follow("alice", "2026-12-06T10:00:00.000Z")}
			if n > 1 { // bob's follow, listed now, dated 30 s before alice's
				items = append(items, follow("bob", "2026-12-06T09:59:30.000Z"))
			}
			fmt.Fprintf(w, `{"notifications":[%s]}`, strings.Join(items, ","))
		case "app.bsky.notification.updateSeen":
			fmt.Fprint(w, `{}`)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	defer srv.Close()
	store := storagetest.OpenSQLite(t)
	m, err := New(Settings{
		Accounts:   []Account{{Username: "news", Bluesky: config.Bluesky{PDSURL: srv.URL, Identifier: "city.test", AppPassword: "app-password-1234"}}},
		HTTPClient: safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 10 * time.Second, MaxBodyBytes: 1 << 20}),
	}, store, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	m.SetClock(func() time.Time { return time.Date(2026, 12, 6, 10, 1, 0, 0, time.UTC) })
	ctx := context.Background()
	for i, want := range []int{1, 1, 0} {
		res, err := m.PollInbox(ctx, "news")
		if err != nil || res.Created != want {
			t.Errorf("poll %d = %+v, %v; want %d created", i+1, res, err, want)
		}
	}
	ns, err := store.ListNotifications(ctx, storage.NotificationPage{Account: "news", Limit: 10})
	if err != nil || len(ns) != 2 {
		t.Fatalf("notifications %+v, %v; want alice's and bob's follows", ns, err)
	}
}

// TestInboxAfterEmptyPolls: an account polled before with nothing to
// read then gets a burst (a raid) bigger than a page: the next poll reads
// all of it, not only the latest page as the very first poll does.
func TestInboxAfterEmptyPolls(t *testing.T) {
	var (
		mu    sync.Mutex
		burst bool
	)
	const total = 120
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch strings.TrimPrefix(r.URL.Path, "/xrpc/") {
		case "com.atproto.server.createSession":
			fmt.Fprint(w, `{"did":"did:plc:city","handle":"city.test","accessJwt":"a1","refreshJwt":"r1","active":true}`)
		case "app.bsky.notification.listNotifications":
			mu.Lock()
			b := burst
			mu.Unlock()
			start := 0
			fmt.Sscan(r.URL.Query().Get("cursor"), &start)
			var items []string
			for i := start; b && i < total && i < start+50; i++ {
				// Newest first: i=0 is the newest.
				at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Second).Format("2006-01-02T15:04:05.000Z")
				items = append(items, fmt.Sprintf(`{"uri":"at://did:plc:r%d/app.bsky.graph.follow/1","cid":"c","reason":"follow","indexedAt":%q,
				  "author":{"did":"did:plc:r%d","handle":"r%d.test"},"record":{}}`, i, at, i, i))
			}
			cursor := ""
			if b && start+50 < total {
				cursor = fmt.Sprint(start + 50)
			}
			fmt.Fprintf(w, `{"cursor":%q,"notifications":[%s]}`, cursor, strings.Join(items, ","))
		case "app.bsky.notification.updateSeen":
			fmt.Fprint(w, `{}`)
		default:
			w.WriteHeader(http.StatusNotImplemented)
		}
	}))
	defer srv.Close()
	store := storagetest.OpenSQLite(t)
	now := time.Date(2026, 12, 6, 9, 58, 0, 0, time.UTC)
	m, err := New(Settings{
		Accounts:   []Account{{Username: "news", Bluesky: config.Bluesky{PDSURL: srv.URL, Identifier: "city.test", AppPassword: "app-password-1234"}}},
		HTTPClient: safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 10 * time.Second, MaxBodyBytes: 1 << 20}),
	}, store, zerolog.New(zerolog.NewTestWriter(t)))
	if err != nil {
		t.Fatal(err)
	}
	m.SetClock(func() time.Time { return now })
	ctx := context.Background()
	if res, err := m.PollInbox(ctx, "news"); err != nil || res.Read != 0 {
		t.Fatalf("first poll, nothing there: %+v, %v", res, err)
	}
	mu.Lock()
	burst = true
	mu.Unlock()
	now = now.Add(3 * time.Minute)
	res, err := m.PollInbox(ctx, "news")
	if err != nil || res.Created != total {
		t.Errorf("the poll after the burst: %+v, %v; want %d created", res, err, total)
	}
}
