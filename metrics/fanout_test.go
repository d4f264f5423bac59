package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/metrics"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestMetricsMoveDuringFanOut wires the metrics as `bridge serve` does
// (observer, HTTP middleware, queue collector) around a real federation
// service on SQLite, with remote servers on loopback: follows come in
// signed, Accepts go out, then a post fans out to every follower's server,
// the slow ones last, while /metrics is scraped.
func TestMetricsMoveDuringFanOut(t *testing.T) {
	const servers, actorsPer = 5, 2
	ctx := context.Background()
	m := metrics.New("test", "")
	store := storagetest.OpenSQLite(t)
	m.WatchQueue(store, time.Millisecond, zerolog.Nop())

	b := bridgetest.New(t, bridgetest.Options{
		Store:    store,
		Accounts: []config.Account{{Username: "news", Type: "Organization"}},
		Observer: m,
		Handler:  m.Middleware,
	})
	svc, base := b.Fed, b.URL
	actor := base + "/users/news"

	keys := fedtest.GenerateKeys(t, 2)
	var remotes []*fedtest.Server
	for i := range servers {
		remotes = append(remotes, fedtest.StartWith(t, fmt.Sprintf("127.0.0.%d:0", i+2), actorsPer,
			fedtest.Options{Keys: keys, Latency: time.Duration(i) * 200 * time.Millisecond}))
	}
	for _, r := range remotes {
		for i := range actorsPer {
			req, _, err := r.SignedFollow(i, base+"/inbox", actor, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("follow: %d", resp.StatusCode)
			}
		}
	}
	// An unsigned POST: a signature failure.
	resp, err := http.Post(base+"/inbox", "application/activity+json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	got := scrape(t, m)
	followers := float64(servers * actorsPer)
	for k, v := range map[string]float64{
		`passerelle_inbound_activities_total{outcome="followed",type="Follow"}`: followers,
		`passerelle_http_requests_total{code="202",route="POST /inbox"}`:        followers,
		`passerelle_http_requests_total{code="401",route="POST /inbox"}`:        1,
		`passerelle_queue_jobs{state="pending"}`:                                followers, // the Accepts
		`passerelle_deliveries_total{outcome="delivered"}`:                      0,
	} {
		if got[k] != v {
			t.Errorf("before delivery: %s = %v, want %v", k, got[k], v)
		}
	}
	if sum := sumPrefix(got, "passerelle_signature_failures_total{"); sum != 1 {
		t.Errorf("signature failures = %v, want 1", sum)
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.NewDeliverer(16).Run(runCtx, 5*time.Second) }()
	defer func() {
		stop()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for _, r := range remotes {
		if !r.WaitFor(actorsPer, 20*time.Second) {
			t.Fatal("Accepts not delivered")
		}
	}
	waitFor(t, m, `passerelle_deliveries_total{outcome="delivered"}`, followers)

	// The fan-out: one Create to every follower's server.
	activity, _ := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": actor + "/statuses/1/activity", "type": "Create", "actor": actor,
		"to":     []string{"https://www.w3.org/ns/activitystreams#Public"},
		"object": map[string]any{"id": actor + "/statuses/1", "type": "Note", "attributedTo": actor, "content": "Hello"},
	})
	err = store.InTx(ctx, func(q storage.Queries) error {
		return svc.Enqueue(ctx, q, federation.Outgoing{Account: "news", Activity: activity, Followers: true, Ref: "status:1"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Scrape while it runs: the delivered counter climbs as the servers,
	// slowest last, answer.
	seen := map[float64]bool{}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		v := scrape(t, m)[`passerelle_deliveries_total{outcome="delivered"}`]
		seen[v] = true
		if v == followers+servers {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !seen[followers+servers] {
		t.Fatalf("fan-out deliveries not all counted: saw %v", seen)
	}
	intermediate := 0
	for v := range seen {
		if v > followers && v < followers+servers {
			intermediate++
		}
	}
	if intermediate == 0 {
		t.Errorf("no scrape saw the fan-out in progress (values %v)", seen)
	}
	got = scrape(t, m)
	if n := got[`passerelle_delivery_duration_seconds_count{outcome="delivered"}`]; n != followers+servers {
		t.Errorf("delivery durations observed: %v, want %v", n, followers+servers)
	}
	// The slowest server answered after about 800 ms.
	if slow := got[`passerelle_delivery_duration_seconds_bucket{outcome="delivered",le="0.5"}`]; slow >= followers+servers {
		t.Errorf("every delivery under 0.5 s (%v): latency not measured", slow)
	}
	waitFor(t, m, `passerelle_queue_jobs{state="pending"}`, 0)
	// Every delivery went at the first attempt, each signed once
	// (draft-cavage: fedtest's servers never sent us RFC 9421), and the
	// followers' keys were fetched unsigned.
	got = scrape(t, m)
	if n := got[`passerelle_signatures_total{alg="rsa",spec="draft-cavage"}`]; n != followers+servers {
		t.Errorf("draft-cavage signatures: %v, want %v (one per delivery)", n, followers+servers)
	}
	if n := sumPrefix(got, "passerelle_signatures_total{"); n != followers+servers {
		t.Errorf("signatures in all: %v, want %v", n, followers+servers)
	}
}

func sumPrefix(got map[string]float64, prefix string) float64 {
	var sum float64
	for k, v := range got {
		if len(k) >= len(prefix) && k[:len(prefix)] == prefix {
			sum += v
		}
	}
	return sum
}

func waitFor(t *testing.T, m *metrics.Metrics, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := scrape(t, m)[series]
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", series, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
