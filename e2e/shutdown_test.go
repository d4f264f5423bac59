package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
)

// SIGTERM while Accepts are queued for a slow remote: the bridge exits 0,
// and after a restart every pending Accept is delivered, exactly once.
func TestGracefulShutdownKeepsPendingDeliveries(t *testing.T) {
	const (
		n       = 80
		latency = 400 * time.Millisecond
	)
	// On shutdown the deliverer lets every delivery it has started finish
	// (up to its grace period): with one worker that is at most 17 (one
	// running, 16 parked waiting on the remote). The remote takes 8 at a
	// time, 400 ms each: 80 Accepts take about 4 s, so SIGTERM, sent as
	// soon as the Follows are answered, leaves most of them queued.
	h := newHarness(t, "sqlite", "", func(c *Config) { c.DeliveryWorkers = 1 })
	h.start()
	slow := fedtest.StartWith(t, "127.0.0.4:0", n, fedtest.Options{Keys: keyPool(t), Latency: latency})
	var fs []*remoteFollower
	for i := range n {
		fs = append(fs, &remoteFollower{srv: slow, i: i, n: i})
	}
	sendAll(t, h, fs, func(f *remoteFollower) (*http.Request, error) { return signedFollow(h, f) })
	// One Accept verified: the remote has our key (the bridge stops
	// serving it before its deliveries drain).
	if !slow.WaitFor(1, 10*time.Second) {
		t.Fatal("no Accept delivered in 10 s")
	}

	stopped := time.Now()
	h.stop()
	before := slow.Count()
	t.Logf("SIGTERM: exit 0 in %v with %d of %d Accepts delivered", time.Since(stopped).Round(time.Millisecond), before, n)
	if before >= n {
		t.Fatalf("all %d Accepts were delivered before shutdown: the test did not exercise pending deliveries", n)
	}

	h.start()
	if !slow.WaitFor(n, 20*time.Second) {
		t.Fatalf("after restart, %d of %d Accepts delivered in 20 s: pending deliveries were lost", slow.Count(), n)
	}
	time.Sleep(2 * latency) // a duplicate would arrive now
	checkAccepts(t, h, []*fedtest.Server{slow}, fs)
	h.stop()
}
