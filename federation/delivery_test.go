package federation_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// createActivity is a Create by the bridge's news account.
func createActivity(t *testing.T, b *bridge, n int) []byte {
	t.Helper()
	note := fmt.Sprintf("%s/statuses/%d", b.actor, n)
	return mustJSON(t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       note + "/activity",
		"type":     "Create",
		"actor":    b.actor,
		"to":       []string{"https://www.w3.org/ns/activitystreams#Public"},
		"object":   map[string]any{"id": note, "type": "Note", "attributedTo": b.actor, "content": "<p>hello</p>"},
	})
}

// runDeliverer runs a Deliverer until the test ends.
func runDeliverer(t *testing.T, svc *federation.Service, workers int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.NewDeliverer(workers).Run(ctx, 100*time.Millisecond) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
}

func follow(t *testing.T, b *bridge, servers ...*fedtest.Server) {
	t.Helper()
	for _, s := range servers {
		for i := range s.NumActors() {
			_, err := b.store.UpsertFollower(context.Background(), storage.Follower{
				Account: "news", ActorID: s.ActorID(i), Inbox: s.InboxURL(i), SharedInbox: s.SharedInboxURL(),
				State: storage.FollowerAccepted,
			})
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

// signatureCounter is an Observer that counts outgoing signatures.
type signatureCounter struct {
	federation.Observer
	n atomic.Int64
}

func (c *signatureCounter) Signed(spec, alg string)        { c.n.Add(1) }
func (c *signatureCounter) Delivery(string, time.Duration) {}
func (c *signatureCounter) Inbound(typ, outcome string)    {}
func (c *signatureCounter) SignatureFailure(reason string) {}

// TestDeliveryRetrySignature: a server that rejects the first attempt
// receives a second one that verifies. A retry within four minutes of the
// first signature sends it again (same Date, same Signature: nothing
// signed); a later one is signed again with a later Date (resign.go).
func TestDeliveryRetrySignature(t *testing.T) {
	tests := []struct {
		name       string
		after      time.Duration // how far the clocks move before the retry
		same       bool          // the retry carries the first signature
		signatures int64
	}{
		{"retry 5 s later sends the same signature", 5 * time.Second, true, 1},
		{"retry 3 min 50 s later sends the same signature", 3*time.Minute + 50*time.Second, true, 1},
		{"retry 4 min later is signed again", 4*time.Minute + time.Second, false, 2},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sigs := &signatureCounter{}
			b := startObservedBridge(t, sigs)
			var skew atomic.Int64 // the bridge's and the remote's clock run ahead by this
			now := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			b.svc.SetClock(now)
			remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{FailFirst: 1, Now: now})
			ctx := context.Background()
			ref := fmt.Sprintf("status:%d", i+1)
			err := b.svc.Enqueue(ctx, b.store, federation.Outgoing{
				Account: "news", Activity: createActivity(t, b, i+1), Inboxes: []string{remote.SharedInboxURL()}, Ref: ref,
			})
			if err != nil {
				t.Fatal(err)
			}
			runDeliverer(t, b.svc, 4)
			if !remote.WaitFor(1, 10*time.Second) {
				t.Fatal("no first attempt")
			}
			// The retry is due a quarter of a second later; moving the
			// clocks on makes it go at once (Dates have a one-second
			// resolution: a new signature would have a new Date).
			skew.Store(int64(tc.after))
			if !remote.WaitFor(2, 10*time.Second) {
				t.Fatal("no second attempt")
			}
			waitStats(t, b, ref, storage.RefStats{Done: 1})
			got := remote.Received()
			first, second := got[0], got[1]
			checks := []struct {
				name string
				ok   bool
			}{
				{"first attempt verified and answered 500", first.Verified && first.Status == http.StatusInternalServerError},
				{"second attempt verified and answered 202", second.Verified && second.Status == http.StatusAccepted},
				{"Date", (second.Header.Get("Date") == first.Header.Get("Date")) == tc.same},
				{"Signature", (second.Header.Get("Signature") == first.Header.Get("Signature")) == tc.same},
				{"same activity", string(second.Body) == string(first.Body)},
				{"signatures made", sigs.n.Load() == tc.signatures},
			}
			for _, c := range checks {
				if !c.ok {
					t.Errorf("%s: first: %s %q verified=%v (%v); second: %s %q verified=%v (%v); %d signatures made, want %d",
						c.name, first.Header.Get("Date"), first.Header.Get("Signature"), first.Verified, first.Err,
						second.Header.Get("Date"), second.Header.Get("Signature"), second.Verified, second.Err, sigs.n.Load(), tc.signatures)
				}
			}
		})
	}
}

// waitStats waits until the deliveries of ref are as want.
func waitStats(t *testing.T, b *bridge, ref string, want storage.RefStats) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, _, err := b.svc.DeliveryStats(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if st == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery stats of %s: %+v, want %+v", ref, st, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDeadServersDoNotHoldWorkers: with 2 workers and 6 servers that
// never answer (each holds its request for the 10 s delivery timeout),
// 12 live servers still get the post at once: deliveries waiting on their
// server give their worker up.
func TestDeadServersDoNotHoldWorkers(t *testing.T) {
	b := startBridge(t, true)
	keys := fedtest.GenerateKeys(t, 1)
	var dark, live []*fedtest.Server
	for i := range 6 {
		dark = append(dark, fedtest.StartWith(t, fmt.Sprintf("127.0.0.%d:0", 10+i), 1, fedtest.Options{Keys: keys, Latency: time.Hour}))
	}
	for i := range 12 {
		live = append(live, fedtest.StartWith(t, fmt.Sprintf("127.0.0.%d:0", 20+i), 1, fedtest.Options{Keys: keys}))
	}
	// The dark servers come first in the fan-out (inboxes are sorted).
	follow(t, b, dark...)
	follow(t, b, live...)
	err := b.svc.Enqueue(context.Background(), b.store, federation.Outgoing{
		Account: "news", Activity: createActivity(t, b, 1), Followers: true, Ref: "status:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	runDeliverer(t, b.svc, 2)
	for _, s := range live {
		if !s.WaitFor(1, 5*time.Second) {
			t.Fatalf("%s: no Create within 5 s while dark servers hold their requests (10 s each)", s.Host())
		}
	}
	t.Logf("12 live servers reached in %v with 6 dark ones and 2 workers", time.Since(start).Round(time.Millisecond))
	for _, s := range live {
		if d := s.Received()[0]; !d.Verified || d.Activity["type"] != "Create" {
			t.Errorf("%s: %v verified=%v %v", s.Host(), d.Activity["type"], d.Verified, d.Err)
		}
	}
	// The activity is stored once (outgoing activities): the fan-out job
	// and the 18 delivery jobs only name it.
	deliveries := 0
	for id := int64(1); id < 40; id++ {
		j, err := b.store.GetJob(context.Background(), id)
		if err != nil || j.Kind != "deliver" {
			continue
		}
		deliveries++
		if bytes.Contains(j.Payload, []byte(`"activity"`)) || !bytes.Contains(j.Payload, []byte(`"activity_id":`)) {
			t.Errorf("delivery job %d carries %s", id, j.Payload)
		}
	}
	if deliveries != 18 {
		t.Errorf("%d delivery jobs, want 18", deliveries)
	}
}

// TestDeadWorkerJobsQueuedAgain: jobs leased by a worker that died
// without releasing them are sent at once by the next worker, not after
// their lease (an hour here) expires.
func TestDeadWorkerJobsQueuedAgain(t *testing.T) {
	tests := []struct {
		name      string
		owner     string
		heartbeat time.Duration // age of its last heartbeat
	}{
		{"stale heartbeat on another host", "elsewhere.example-12345-1", -2 * time.Minute},
		{"fresh heartbeat, process gone on this host", "", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBridge(t, true)
			remote := fedtest.Start(t, "127.0.0.2:0", 1)
			ctx := context.Background()
			err := b.svc.Enqueue(ctx, b.store, federation.Outgoing{
				Account: "news", Activity: createActivity(t, b, 1), Inboxes: []string{remote.SharedInboxURL()}, Ref: "status:1",
			})
			if err != nil {
				t.Fatal(err)
			}
			owner := tc.owner
			if owner == "" {
				owner = deadLocalOwner(t)
			}
			// The dead worker had claimed the fan-out, for an hour.
			jobs, err := b.store.ClaimJobs(ctx, owner, nil, 10, time.Hour, time.Now())
			if err != nil || len(jobs) != 1 {
				t.Fatalf("claimed %d jobs: %v", len(jobs), err)
			}
			if err := b.store.PutValue(ctx, "workers/"+owner, nil, time.Now().Add(tc.heartbeat)); err != nil {
				t.Fatal(err)
			}
			runDeliverer(t, b.svc, 4)
			if !remote.WaitFor(1, 10*time.Second) {
				t.Fatal("the dead worker's job was not sent again")
			}
			if d := remote.Received()[0]; !d.Verified {
				t.Errorf("delivery not verified: %v", d.Err)
			}
			waitStats(t, b, "status:1", storage.RefStats{Done: 1})
			if _, err := b.store.GetValue(ctx, "workers/"+owner); err == nil {
				t.Error("the dead worker is still registered")
			}
		})
	}
}

// deadLocalOwner is a worker id of this host whose process is gone.
func deadLocalOwner(t *testing.T) string {
	t.Helper()
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no hostname:", err)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	return fmt.Sprintf("%s-%d-1", host, cmd.Process.Pid)
}

// TestUnavailableHostsAdoptedAtStart: a host marked unavailable in storage
// (by an earlier run, or another replica) is not signed for nor contacted
// by a new deliverer before its pause ends: its delivery waits, due at the
// end of the pause, and nothing was signed for it.
func TestUnavailableHostsAdoptedAtStart(t *testing.T) {
	sigs := &signatureCounter{}
	b := startObservedBridge(t, sigs)
	paused := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{})
	ctx := context.Background()
	host := strings.TrimPrefix(paused.URL(), "http://")
	until := time.Now().Add(time.Hour).Truncate(time.Microsecond)
	for range 5 {
		if _, err := b.store.RecordHostFailure(ctx, host, time.Now(), until); err != nil {
			t.Fatal(err)
		}
	}
	err := b.svc.Enqueue(ctx, b.store, federation.Outgoing{
		Account: "news", Activity: createActivity(t, b, 1), Inboxes: []string{paused.SharedInboxURL()}, Ref: "status:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	runDeliverer(t, b.svc, 4)
	// The delivery is put back, due when the host's pause ends.
	deadline := time.Now().Add(10 * time.Second)
	for {
		jobs, err := b.store.ListJobsByRef(ctx, federation.JobDeliver, "status:1", storage.JobPending, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(jobs) == 1 && jobs[0].Attempts == 1 && !jobs[0].RunAt.Before(until) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery jobs %+v, want one put back until %v", jobs, until)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n := paused.Count(); n != 0 {
		t.Errorf("the paused host received %d requests", n)
	}
	if n := sigs.n.Load(); n != 0 {
		t.Errorf("%d signatures made for a paused host", n)
	}
}
