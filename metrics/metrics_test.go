package metrics_test

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/metrics"
	"github.com/passerelle/passerelle/storage"
)

var _ federation.Observer = (*metrics.Metrics)(nil)

// scrape reads the metrics as Prometheus would: series (name and labels,
// as printed) to value.
func scrape(t *testing.T, m *metrics.Metrics) map[string]float64 {
	t.Helper()
	w := httptest.NewRecorder()
	m.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	if w.Code != 200 {
		t.Fatalf("GET /metrics: %d", w.Code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(w.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

func TestObserverCounters(t *testing.T) {
	m := metrics.New("1.2.3", "abc")
	m.Inbound("Follow", "accepted")
	m.Inbound("Follow", "accepted")
	m.Inbound("x-evil-\"type", "rejected") // remote input: never a label value
	m.Inbound("", "rejected")
	m.SignatureFailure("signature expired")
	m.Delivery("delivered", 120*time.Millisecond)
	m.Delivery("retry", 3*time.Second)
	m.BlueskyMirror("mirrored")
	m.Signed("draft-cavage", "rsa")
	m.Signed("rfc9421", "ed25519")
	m.Signed("rfc9421", "ed25519")

	got := scrape(t, m)
	want := map[string]float64{
		`passerelle_inbound_activities_total{outcome="accepted",type="Follow"}`:      2,
		`passerelle_inbound_activities_total{outcome="rejected",type="other"}`:       1,
		`passerelle_inbound_activities_total{outcome="rejected",type="unknown"}`:     1,
		`passerelle_signature_failures_total{reason="signature expired"}`:            1,
		`passerelle_deliveries_total{outcome="delivered"}`:                           1,
		`passerelle_deliveries_total{outcome="retry"}`:                               1,
		`passerelle_deliveries_total{outcome="failed"}`:                              0,
		`passerelle_delivery_duration_seconds_count{outcome="delivered"}`:            1,
		`passerelle_delivery_duration_seconds_bucket{outcome="delivered",le="0.25"}`: 1,
		`passerelle_delivery_duration_seconds_bucket{outcome="delivered",le="0.1"}`:  0,
		`passerelle_bluesky_mirror_total{outcome="mirrored"}`:                        1,
		`passerelle_signatures_total{alg="rsa",spec="draft-cavage"}`:                 1,
		`passerelle_signatures_total{alg="ed25519",spec="rfc9421"}`:                  2,
		`passerelle_signatures_total{alg="rsa",spec="rfc9421"}`:                      0,
		`passerelle_bluesky_mirror_total{outcome="failed"}`:                          0,
		`passerelle_build_info{commit="abc",version="1.2.3"}`:                        1,
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	if _, ok := got["go_goroutines"]; !ok {
		t.Error("Go runtime metrics missing")
	}
}

func TestMiddlewareRoutes(t *testing.T) {
	m := metrics.New("dev", "")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/{name}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("name") == "ghost" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte("ok"))
	})
	h := m.Middleware(mux)
	for _, p := range []string{"/users/news", "/users/info", "/users/ghost", "/nowhere/1", "/nowhere/2"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	got := scrape(t, m)
	want := map[string]float64{
		`passerelle_http_requests_total{code="200",route="GET /users/{name}"}`: 2,
		`passerelle_http_requests_total{code="404",route="GET /users/{name}"}`: 1,
		`passerelle_http_requests_total{code="404",route="unmatched"}`:         2,
		`passerelle_http_request_duration_seconds_count{route="unmatched"}`:    2,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
}

type fakeQueue struct {
	calls atomic.Int32
	err   error
}

func (f *fakeQueue) JobStats(context.Context, time.Time) (storage.JobStats, error) {
	f.calls.Add(1)
	return storage.JobStats{Pending: 7, Running: 2, Failed: 1, OldestPending: 90 * time.Second}, f.err
}

func TestQueueCollector(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want map[string]float64
	}{
		{name: "stats read", want: map[string]float64{
			`passerelle_queue_jobs{state="pending"}`:  7,
			`passerelle_queue_jobs{state="running"}`:  2,
			`passerelle_queue_jobs{state="failed"}`:   1,
			`passerelle_queue_oldest_pending_seconds`: 90,
			`passerelle_queue_stats_up`:               1,
		}},
		{name: "database down", err: errors.New("storage: ping: connection refused"), want: map[string]float64{
			`passerelle_queue_stats_up`: 0,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := metrics.New("dev", "")
			q := &fakeQueue{err: tt.err}
			m.WatchQueue(q, time.Hour, zerolog.Nop())
			got := scrape(t, m)
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || g != v {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			if tt.err != nil {
				if _, ok := got[`passerelle_queue_jobs{state="pending"}`]; ok {
					t.Error("queue gauges exported without statistics")
				}
			}
			scrape(t, m)
			if n := q.calls.Load(); n != 1 {
				t.Errorf("JobStats called %d times for two scrapes within the cache TTL, want 1", n)
			}
		})
	}
}
