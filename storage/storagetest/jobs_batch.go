package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// testCompleteJobs checks CompleteJobs: only the caller's running jobs are
// marked done, across several statements (more than 64 ids), and the
// count says how many.
func testCompleteJobs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	var all []int64
	for range 75 {
		all = append(all, must(s.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Payload: []byte("{}"), RunAt: now, Ref: "status:1"}))(t))
	}
	mine := must(s.ClaimJobs(ctx, "w1", nil, 70, time.Minute, now))(t)
	theirs := must(s.ClaimJobs(ctx, "w2", nil, 3, time.Minute, now))(t)
	if len(mine) != 70 || len(theirs) != 3 {
		t.Fatalf("claimed %d and %d jobs, want 70 and 3", len(mine), len(theirs))
	}
	finished := mine[69].ID
	check(t, s.CompleteJob(ctx, finished, "w1"))
	pending := all[len(all)-1]

	tests := []struct {
		name  string
		ids   []int64
		owner string
		want  int64
	}{
		{"nothing", nil, "w1", 0},
		{"someone else's", ids(theirs), "w1", 0},
		{"pending and unknown", []int64{pending, all[len(all)-1] + 1000}, "w1", 0},
		{"mine among others", append(append(ids(mine), ids(theirs)...), pending, finished), "w1", 69},
		{"again", ids(mine), "w1", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := s.CompleteJobs(ctx, tc.ids, tc.owner)
			check(t, err)
			if n != tc.want {
				t.Errorf("CompleteJobs completed %d jobs, want %d", n, tc.want)
			}
		})
	}
	for _, j := range mine {
		got := must(s.GetJob(ctx, j.ID))(t)
		if got.Status != storage.JobDone || got.LeaseOwner != "" || !got.LeaseUntil.IsZero() || got.Attempts != 1 {
			t.Errorf("completed job = %+v", got)
		}
	}
	for _, j := range theirs {
		if got := must(s.GetJob(ctx, j.ID))(t); got.Status != storage.JobRunning || got.LeaseOwner != "w2" {
			t.Errorf("other owner's job = %+v", got)
		}
	}
	if got := must(s.GetJob(ctx, pending))(t); got.Status != storage.JobPending {
		t.Errorf("unclaimed job = %+v", got)
	}
	if st := must(s.RefStats(ctx, "status:1"))(t); st.Done != 70 || st.Pending != 5 {
		t.Errorf("ref stats %+v, want 70 done and 5 pending", st)
	}
	// An hour later only the two unclaimed jobs and w2's (expired leases)
	// are due.
	want := append(ids(theirs), all[73:]...)
	if got := must(s.ClaimJobs(ctx, "w3", nil, 100, time.Minute, now.Add(time.Hour)))(t); !slices.Equal(ids(got), want) {
		t.Errorf("claimable after completion: %v, want %v", ids(got), want)
	}
}

// testRenewJobLeases checks RenewJobLeases: only the owner's running jobs
// of the given kinds get the new lease, and a job whose lease was renewed
// is not claimable by another worker when its first lease would have
// expired.
func testRenewJobLeases(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	deliver := enqueue(t, s, "deliver", now)
	mirror := enqueue(t, s, "bluesky", now)
	pending := enqueue(t, s, "deliver", now.Add(time.Hour))
	theirs := enqueue(t, s, "deliver", now)
	if got := must(s.ClaimJobs(ctx, "w1", []string{"deliver", "bluesky"}, 2, time.Minute, now))(t); len(got) != 2 {
		t.Fatalf("claimed %d jobs, want 2", len(got))
	}
	if got := must(s.ClaimJobs(ctx, "w2", nil, 1, time.Minute, now))(t); len(got) != 1 || got[0].ID != theirs {
		t.Fatalf("w2 claimed %+v, want job %d", got, theirs)
	}
	until := now.Add(10 * time.Minute)
	tests := []struct {
		name  string
		owner string
		kinds []string
		want  int64
	}{
		{"another owner's kinds", "nobody", nil, 0},
		{"one kind", "w1", []string{"deliver"}, 1},
		{"all kinds", "w1", nil, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if n := must(s.RenewJobLeases(ctx, tc.owner, tc.kinds, until))(t); n != tc.want {
				t.Errorf("renewed %d leases, want %d", n, tc.want)
			}
		})
	}
	for _, id := range []int64{deliver, mirror} {
		if j := must(s.GetJob(ctx, id))(t); j.Status != storage.JobRunning || j.LeaseOwner != "w1" || !j.LeaseUntil.Equal(until) {
			t.Errorf("renewed job = %+v, want running for w1 until %v", j, until)
		}
	}
	if j := must(s.GetJob(ctx, pending))(t); j.Status != storage.JobPending || !j.LeaseUntil.IsZero() {
		t.Errorf("pending job = %+v", j)
	}
	if j := must(s.GetJob(ctx, theirs))(t); !j.LeaseUntil.Equal(now.Add(time.Minute)) {
		t.Errorf("another owner's job got lease %v", j.LeaseUntil)
	}
	// Two minutes on, the first lease has expired, the renewed one has not.
	got := must(s.ClaimJobs(ctx, "w3", nil, 10, time.Minute, now.Add(2*time.Minute)))(t)
	if !slices.Equal(ids(got), []int64{theirs}) {
		t.Errorf("after the renewal w3 claimed %v, want only the unrenewed %d", ids(got), theirs)
	}
}

// testEnqueueJobs checks EnqueueJobs: jobs added in several statements
// (more than 100) as EnqueueJob adds them, keyed ones at most once (a key
// already present, or twice in the batch), keyless ones always, and the
// count says how many were added.
func testEnqueueJobs(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	act := must(s.InsertOutgoingActivity(ctx, "news", []byte(`{"type":"Create"}`), now))(t)
	must(s.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Key: "f1:https://b7.example/inbox", Ref: "status:1", RunAt: now}))(t)
	var js []storage.NewJob
	for i := range 250 {
		js = append(js, storage.NewJob{Kind: "deliver", Payload: []byte(fmt.Sprintf(`{"n":%d}`, i)),
			Key: fmt.Sprintf("f1:https://b%d.example/inbox", i), Host: fmt.Sprintf("b%d.example", i),
			Ref: "status:1", RunAt: now, ActivityID: act})
	}
	js = append(js, js[3])                                                        // twice in the batch
	js = append(js, storage.NewJob{Kind: "bluesky", Ref: "status:1", RunAt: now}) // keyless, no payload
	if got := must(s.EnqueueJobs(ctx, js))(t); got != 250 {                       // 251 new ones less the duplicate
		t.Errorf("EnqueueJobs added %d, want 250", got)
	}
	if got := must(s.EnqueueJobs(ctx, nil))(t); got != 0 {
		t.Errorf("EnqueueJobs of nothing added %d", got)
	}
	if _, err := s.EnqueueJobs(ctx, []storage.NewJob{{Ref: "status:1"}}); err == nil {
		t.Error("EnqueueJobs of a job without kind: no error")
	}
	pending := must(s.ListJobsByRef(ctx, "deliver", "status:1", storage.JobPending, 1000))(t)
	if len(pending) != 250 {
		t.Fatalf("%d pending deliveries, want 250", len(pending))
	}
	byKey := map[string]storage.Job{}
	for _, j := range pending {
		byKey[j.Key] = j
	}
	j := byKey["f1:https://b42.example/inbox"]
	if string(j.Payload) != `{"n":42}` || j.Host != "b42.example" || j.Status != storage.JobPending || j.Attempts != 0 || !j.RunAt.Equal(now) {
		t.Errorf("job b42 = %+v", j)
	}
	if j := byKey["f1:https://b7.example/inbox"]; len(j.Payload) != 0 {
		t.Errorf("the job already present was replaced: %+v", j)
	}
	if n := len(must(s.ListJobsByRef(ctx, "bluesky", "status:1", storage.JobPending, 10))(t)); n != 1 {
		t.Errorf("%d keyless jobs, want 1", n)
	}
	// They are claimed as any job, and keep the activity they name.
	claimed := must(s.ClaimJobs(ctx, "w1", []string{"deliver"}, 300, time.Minute, now))(t)
	if len(claimed) != 250 {
		t.Errorf("claimed %d, want 250", len(claimed))
	}
	if n := must(s.PruneOutgoingActivities(ctx, now.Add(time.Hour)))(t); n != 0 {
		t.Errorf("the activity named by the enqueued jobs was pruned (%d)", n)
	}
}
