package federation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestDeliveryFailures: an account's failed and retried deliveries,
// grouped by server with the most recent error; another account's, the
// successful ones and other kinds of job are left out.
func TestDeliveryFailures(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	now := time.Now().UTC()
	type job struct {
		signer, host, outcome, err string
	}
	for i, j := range []job{
		{"news", "gone.example", "fail", "410 Gone"},
		{"news", "slow.example", "retry", "timeout"},
		{"news", "slow.example", "fail", "503 Service Unavailable"},
		{"news", "fine.example", "done", ""},
		{"mayor", "mayor-only.example", "fail", "refused"},
	} {
		_, err := store.EnqueueJob(ctx, storage.NewJob{Kind: federation.JobDeliver, Host: j.host, RunAt: now.Add(time.Duration(i) * time.Second),
			Payload: []byte(`{"signer":"` + j.signer + `","inbox":"https://` + j.host + `/inbox","activity_id":1}`)})
		if err != nil {
			t.Fatal(err)
		}
	}
	claimed, err := store.ClaimJobs(ctx, "w", nil, 10, time.Minute, now.Add(time.Minute))
	if err != nil || len(claimed) != 5 {
		t.Fatalf("claimed %d jobs, %v", len(claimed), err)
	}
	outcomes := map[string][]string{}
	for _, c := range claimed {
		switch {
		case c.Host == "fine.example":
			err = store.CompleteJob(ctx, c.ID, "w")
		case c.Host == "slow.example" && len(outcomes[c.Host]) == 0:
			err = store.RetryJob(ctx, c.ID, "w", now.Add(time.Hour), "timeout")
		case c.Host == "slow.example":
			err = store.FailJob(ctx, c.ID, "w", "503 Service Unavailable")
		case c.Host == "gone.example":
			err = store.FailJob(ctx, c.ID, "w", "410 Gone")
		default:
			err = store.FailJob(ctx, c.ID, "w", "refused")
		}
		outcomes[c.Host] = append(outcomes[c.Host], "x")
		if err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name    string
		account string
		want    []federation.HostFailure
	}{
		{"news", "News", []federation.HostFailure{
			{Host: "slow.example", Failed: 1, Retrying: 1, LastError: "timeout", Next: true}, // the retry is due later
			{Host: "gone.example", Failed: 1, LastError: "410 Gone"},
		}},
		{"mayor", "mayor", []federation.HostFailure{{Host: "mayor-only.example", Failed: 1, LastError: "refused"}}},
		{"no failure", "other", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := federation.DeliveryFailures(ctx, store, c.account, now.Add(-time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("failures = %+v, want %+v", got, c.want)
			}
			for i := range got {
				g := got[i]
				g.LastAt = time.Time{}
				if g != c.want[i] {
					t.Errorf("failure %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// BenchmarkDeliveryFailures: the reach page's failures of one account
// among 20,000 delivered jobs, 2,000 given up and 500 retried, of two
// accounts, on SQLite.
func BenchmarkDeliveryFailures(b *testing.B) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(b)
	now := time.Now().UTC()
	var js []storage.NewJob
	for i := range 22_500 {
		signer := []string{"news", "mayor"}[i%2]
		host := fmt.Sprintf("h%d.example", i%300)
		js = append(js, storage.NewJob{Kind: federation.JobDeliver, Host: host, RunAt: now.Add(-time.Hour), Key: fmt.Sprint("k", i),
			Payload: []byte(`{"signer":"` + signer + `","inbox":"https://` + host + `/inbox","activity_id":1}`)})
	}
	if _, err := store.EnqueueJobs(ctx, js); err != nil {
		b.Fatal(err)
	}
	claimed, err := store.ClaimJobs(ctx, "w", nil, len(js), time.Hour, now)
	if err != nil {
		b.Fatal(err)
	}
	var done []int64
	for i, j := range claimed {
		switch {
		case i < 2000:
			err = store.FailJob(ctx, j.ID, "w", "410 Gone")
		case i < 2500:
			err = store.RetryJob(ctx, j.ID, "w", now.Add(time.Hour), "timeout")
		default:
			done = append(done, j.ID)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	if _, err := store.CompleteJobs(ctx, done, "w"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		fs, err := federation.DeliveryFailures(ctx, store, "news", now.Add(-7*24*time.Hour))
		if err != nil || len(fs) == 0 {
			b.Fatal(len(fs), err)
		}
	}
}
