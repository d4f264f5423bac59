package publish_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
)

// BenchmarkCrisisOnOff: turning crisis mode on for the last 200 posts
// (the maximum) and off again, on SQLite, what the
// command or API call costs (it queues an Update and a gates job per
// post; nothing is sent during the call). Reports ms per on and per off.
func BenchmarkCrisisOnOff(b *testing.B) {
	mirror := &countingMirror{}
	e := newEnvWith(b, func(o *bridgetest.Options) {
		o.Mirror = func(links.Site) publish.Mirror { return mirror }
	})
	mirror.store = e.store
	ctx := context.Background()
	for i := range publish.CrisisMaxPosts {
		if _, err := e.pub.Create(ctx, "news", publish.Draft{Text: fmt.Sprintf("post %d", i)}); err != nil {
			b.Fatal(err)
		}
	}
	var on, off time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		res, err := e.pub.CrisisOn(ctx, "news", publish.CrisisMaxPosts)
		if err != nil || res.Changed != publish.CrisisMaxPosts {
			b.Fatalf("on: %+v, %v", res, err)
		}
		on += time.Since(start)
		start = time.Now()
		if res, err := e.pub.CrisisOff(ctx, "news"); err != nil || res.Changed != publish.CrisisMaxPosts {
			b.Fatalf("off: %+v, %v", res, err)
		}
		off += time.Since(start)
	}
	b.ReportMetric(float64(on.Milliseconds())/float64(b.N), "ms/on")
	b.ReportMetric(float64(off.Milliseconds())/float64(b.N), "ms/off")
}
