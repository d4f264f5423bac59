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
	sent, err := st.InsertOutgoingActivity(ctx, "news", []byte(`{"type":"Create"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	sending, err := st.InsertOutgoingActivity(ctx, "news", []byte(`{"type":"Update"}`), now)
	if err != nil {
		t.Fatal(err)
	}
	done, err := st.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Payload: []byte("{}"), RunAt: now, ActivityID: sent})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ClaimJobs(ctx, "w", []string{"deliver"}, 1, time.Minute, now); err != nil {
		t.Fatal(err)
	}
	if err := st.CompleteJob(ctx, done, "w"); err != nil {
		t.Fatal(err)
	}
	pending, err := st.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Payload: []byte("{}"), RunAt: now.Add(time.Hour), ActivityID: sending})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.MarkActivityProcessed(ctx, "https://remote.example/u/1", "https://remote.example/a/1", now); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name             string
		at               time.Time
		want             pruned
		doneKept, idKept bool
	}{
		{"a minute later: everything kept", now.Add(time.Minute), pruned{}, true, true},
		// The activity only a done job names goes; the one a pending job
		// names stays, whatever its age.
		{"a day later: the sent activity pruned", now.Add(24 * time.Hour), pruned{outgoing: 1}, true, true},
		{"past the retention: done job and activity id pruned", now.Add(keepDoneJobs + time.Hour), pruned{jobs: 1, activityIDs: 1}, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := pruneOnce(ctx, st, tc.at, 30*24*time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("pruned %+v, want %+v", got, tc.want)
			}
			if _, err := st.GetOutgoingActivity(ctx, sending); err != nil {
				t.Errorf("the activity a pending job sends was pruned: %v", err)
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
