package federation_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// BenchmarkInboundCreateFollowed: signed Creates from followed actors
// POSTed to the shared inbox (8 at once), end to end to the home
// timeline, on SQLite. The requests are signed before the timer starts;
// creates/s is reported.
//
//	go test ./federation -run '^$' -bench BenchmarkInboundCreateFollowed -benchtime 2000x
func BenchmarkInboundCreateFollowed(b *testing.B) {
	ctx := context.Background()
	// The inbox's rate limits are off: what is measured is the work per
	// activity, not the limits.
	env := bridgetest.New(b, bridgetest.Options{Accounts: []config.Account{{Username: "news", Type: "Organization"}},
		Federation: config.Federation{InboxLimits: config.InboxLimits{PerDomain: "off", PerActor: "off", KeyFetches: "off"}}})
	br := &bridge{svc: env.Fed, store: env.Store, url: env.URL, actor: env.URL + "/users/news"}
	remote := fedtest.StartWith(b, "127.0.0.2:0", 4, fedtest.Options{Keys: fedtest.GenerateKeys(b, 4)})
	for i := range 4 {
		if _, err := br.svc.FollowActor(ctx, "news", remote.ActorID(i)); err != nil {
			b.Fatal(err)
		}
		if err := br.store.SetFollowState(ctx, "news", remote.ActorID(i), storage.FollowAccepted, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	reqs := make([]*http.Request, b.N)
	for n := range b.N {
		i := n % 4
		note := fmt.Sprintf("%s/notes/%d", remote.ActorID(i), n)
		r, err := remote.SignedActivity(i, br.url+"/inbox", map[string]any{"type": "Create", "id": note + "/activity", "object": map[string]any{
			"id": note, "type": "Note", "attributedTo": remote.ActorID(i), "content": "<p>Partner update</p>",
			"to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "published": time.Now().UTC().Format(time.RFC3339)}}, time.Now())
		if err != nil {
			b.Fatal(err)
		}
		reqs[n] = r
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	work := make(chan *http.Request)
	var wg sync.WaitGroup
	b.ResetTimer()
	t0 := time.Now()
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				resp, err := client.Do(r)
				if err != nil || resp.StatusCode != http.StatusAccepted {
					b.Errorf("inbox: %v %v", err, resp)
					continue
				}
				resp.Body.Close()
			}
		}()
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	elapsed := time.Since(t0)
	b.StopTimer()
	home, err := br.store.ListHome(ctx, storage.StatusPage{Account: "news", Limit: b.N + 1})
	if err != nil {
		b.Fatal(err)
	}
	if len(home) != b.N {
		b.Fatalf("home holds %d posts, want %d", len(home), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "creates/s")
}
