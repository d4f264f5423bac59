package main

import (
	"context"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

func TestPruneOnce(t *testing.T) {
	ctx := context.Background()
	st := storagetest.OpenSQLite(t)
	now := time.Now()
	done, err := st.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Payload: []byte("{}"), RunAt: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimJobs(ctx, "w", []string{"deliver"}, 1, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteJob(ctx, done, "w"); err != nil {
		t.Fatal(err)
	}
	pending, err := st.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Payload: []byte("{}"), RunAt: now.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.MarkActivityProcessed(ctx, "https://remote.example/u/1", "https://remote.example/a/1", now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		at               time.Time
		jobs, activities int64
		doneKept, idKept bool
	}{
		{"a day later: everything kept", now.Add(24 * time.Hour), 0, 0, true, true},
		{"past the retention: done job and activity id pruned", now.Add(keepDoneJobs + time.Hour), 1, 1, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			jobs, activities, err := pruneOnce(ctx, st, tc.at)
			if err != nil {
				t.Fatal(err)
			}
			if jobs != tc.jobs || activities != tc.activities {
				t.Errorf("pruned %d jobs, %d activity ids; want %d, %d", jobs, activities, tc.jobs, tc.activities)
			}
			if _, err := st.GetJob(ctx, done); (err == nil) != tc.doneKept {
				t.Errorf("done job: %v, kept want %v", err, tc.doneKept)
			}
			if _, err := st.GetJob(ctx, pending); err != nil {
				t.Errorf("the pending job was pruned: %v", err)
			}
			first, err := st.MarkActivityProcessed(ctx, "https://remote.example/u/1", "https://remote.example/a/1", now)
			if err != nil {
				t.Fatal(err)
			}
			if first == tc.idKept {
				t.Errorf("activity id kept = %v, want %v", !first, tc.idKept)
			}
		})
	}
}
