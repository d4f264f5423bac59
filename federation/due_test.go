package federation

import (
	"context"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestDueTimes: the claimer is told the earliest retry still to come;
// times a claim has passed are forgotten, far or surplus ones never kept.
func TestDueTimes(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var q dueTimes
	for _, d := range []time.Duration{900 * time.Millisecond, 250 * time.Millisecond, 2 * time.Hour, 500 * time.Millisecond} {
		q.add(at(d), t0)
	}
	steps := []struct {
		name    string
		claimed time.Time
		want    time.Time
		ok      bool
	}{
		{"before any: the earliest", t0, at(250 * time.Millisecond), true},
		{"a claim at the earliest forgets it", at(250 * time.Millisecond), at(500 * time.Millisecond), true},
		{"a later claim forgets what it passed", at(600 * time.Millisecond), at(900 * time.Millisecond), true},
		{"two hours ahead was never kept", at(time.Second), time.Time{}, false},
	}
	for _, tc := range steps {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := q.next(tc.claimed)
			if !got.Equal(tc.want) || ok != tc.ok {
				t.Errorf("next(%v) = %v, %v; want %v, %v", tc.claimed.Sub(t0), got.Sub(t0), ok, tc.want.Sub(t0), tc.ok)
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		var q dueTimes
		for i := range dueMax + 10 {
			q.add(at(time.Duration(i)*time.Millisecond), t0)
		}
		if len(q.h) != dueMax {
			t.Errorf("holds %d times, want %d", len(q.h), dueMax)
		}
	})
}

// TestRetryIsRemembered: a job put back by Deliverer.retry is due in the
// database and in the claimer's due times, at the same moment.
func TestRetryIsRemembered(t *testing.T) {
	ctx := context.Background()
	st := storagetest.OpenSQLite(t)
	if _, err := st.EnqueueJob(ctx, storage.NewJob{Kind: JobDeliver, Payload: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	d := &Deliverer{s: &Service{store: st, now: func() time.Time { return now }, log: zerolog.Nop()}, owner: "w"}
	jobs, err := st.ClaimJobs(ctx, d.owner, []string{JobDeliver}, 1, time.Minute, now)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claim: %v, %v", jobs, err)
	}
	due := now.Add(300 * time.Millisecond)
	d.retry(ctx, jobs[0], due, "status 500")
	if got, ok := d.due.next(now); !ok || !got.Equal(due) {
		t.Errorf("due times: next = %v, %v; want %v", got, ok, due)
	}
	if again, err := st.ClaimJobs(ctx, d.owner, []string{JobDeliver}, 1, time.Minute, now); err != nil || len(again) != 0 {
		t.Errorf("claimed before it is due: %v, %v", again, err)
	}
	if again, err := st.ClaimJobs(ctx, d.owner, []string{JobDeliver}, 1, time.Minute, due); err != nil || len(again) != 1 {
		t.Errorf("not claimable when due: %v, %v", again, err)
	}
}
