package web_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// TestNoticeFunnel: the notice page's visits are counted by source
// (prefetches not), a remote follow sent on to the visitor's server is a
// start, and a Follow from that server within 30 minutes its follow; what
// the page counted reaches the database when the funnel is written.
func TestNoticeFunnel(t *testing.T) {
	var mu sync.Mutex
	clock := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	s := newSite(t, siteOptions{allowPrivate: true, now: now})
	v := newVisitorServer(t)
	ctx := context.Background()

	visit := func(query string, header http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, s.url+"/x/news"+query, nil)
		for k, vs := range header {
			req.Header[k] = vs
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /x/news%s: %d", query, resp.StatusCode)
		}
	}
	visit("", nil)
	visit("?lang=fr", nil)
	visit("?src=qr", nil)
	visit("?src=QR", nil)
	visit("?src=Poster-Metro", nil)
	visit("?src=%3Cscript%3E", nil)
	visit("?src=qr", http.Header{"Sec-Purpose": {"prefetch;prerender"}}) // not a visit
	for i := range 20 {                                                  // a visitor inventing sources
		visit(fmt.Sprintf("?src=s%d", i), nil)
	}

	// Two remote follows sent on to the visitor's server; one Follow
	// comes from it 10 minutes later.
	for range 2 {
		if resp, _ := postFollow(t, s, "en", "@alice@"+v.host); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("remote follow: %d", resp.StatusCode)
		}
	}
	if _, err := s.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: v.url + "/users/alice",
		Inbox: v.url + "/inbox", State: storage.FollowerAccepted, CreatedAt: clock.Add(10 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	clock = clock.Add(31 * time.Minute)
	mu.Unlock()

	// Stopping the funnel writes it.
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- s.pages.RunFunnel(runCtx) }()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	days, err := s.store.NoticeFunnelDays(ctx, "news", "2026-12-01")
	if err != nil {
		t.Fatal(err)
	}
	if len(days) != 1 {
		t.Fatalf("funnel days = %+v, want one", days)
	}
	want := map[string]int64{"direct": 2, "qr": 2, "poster-metro": 1, "other": 1 + 20 - 13}
	for i := range 13 { // 16 sources a day: direct, qr, poster-metro and the first 13 invented
		want[fmt.Sprintf("s%d", i)] = 1
	}
	d := days[0]
	if d.Day != "2026-12-06" || !reflect.DeepEqual(d.Visits, want) || d.Starts != 2 || d.Follows != 1 {
		t.Fatalf("funnel = %+v, want visits %v, 2 starts, 1 follow", d, want)
	}
}
