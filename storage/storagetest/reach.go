package storagetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunReach checks what the console's reach page reads: follower
// snapshots (one per account and day, the day's last sample kept, a
// missing Bluesky count not erasing the day's earlier one), and the
// delivery problems (failed in the window, or waiting to be retried).
func RunReach(t *testing.T, open func(t *testing.T) storage.Store) {
	ctx := context.Background()
	t.Run("FollowerSnapshots", func(t *testing.T) {
		s := open(t)
		at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		for _, fs := range []storage.FollowerSnapshot{
			{Account: "news", Day: "2026-12-04", Fediverse: 10, TakenAt: at.AddDate(0, 0, -2)},
			{Account: "news", Day: "2026-12-05", Fediverse: 12, Bluesky: 7, BlueskyOK: true, TakenAt: at.AddDate(0, 0, -1)},
			{Account: "news", Day: "2026-12-06", Fediverse: 13, Bluesky: 8, BlueskyOK: true, TakenAt: at},
			// Later the same day: the PDS did not answer.
			{Account: "news", Day: "2026-12-06", Fediverse: 15, TakenAt: at.Add(6 * time.Hour)},
			{Account: "mayor", Day: "2026-12-06", Fediverse: 99, Bluesky: 1, BlueskyOK: true, TakenAt: at},
		} {
			check(t, s.PutFollowerSnapshot(ctx, fs))
		}
		got := must(s.FollowerSnapshots(ctx, "news", "2026-12-05"))(t)
		want := []storage.FollowerSnapshot{
			{Account: "news", Day: "2026-12-05", Fediverse: 12, Bluesky: 7, BlueskyOK: true, TakenAt: at.AddDate(0, 0, -1)},
			{Account: "news", Day: "2026-12-06", Fediverse: 15, Bluesky: 8, BlueskyOK: true, TakenAt: at.Add(6 * time.Hour)},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("snapshots of news = %+v, want %+v", got, want)
		}
		all := must(s.FollowerSnapshots(ctx, "news", "2026-01-01"))(t)
		if len(all) != 3 || all[0].Day != "2026-12-04" || all[0].BlueskyOK {
			t.Errorf("all snapshots of news = %+v, want 3 from 2026-12-04 (without Bluesky)", all)
		}
		if got := must(s.FollowerSnapshots(ctx, "nobody", "2026-01-01"))(t); len(got) != 0 {
			t.Errorf("snapshots of an account without any = %+v", got)
		}
	})
	t.Run("DeliveryProblems", func(t *testing.T) {
		s := open(t)
		now := base()
		type job struct{ host, outcome string }
		for _, j := range []job{
			{"a.example", "fail"}, {"b.example", "retry"}, {"c.example", "done"},
		} {
			must(s.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Host: j.host, Ref: "status:1",
				Payload: []byte(`{"signer":"news","outcome":"` + j.outcome + `"}`), RunAt: now}))(t)
		}
		must(s.EnqueueJob(ctx, storage.NewJob{Kind: "other", Host: "e.example", RunAt: now}))(t)
		next := now.Add(time.Hour)
		for _, j := range must(s.ClaimJobs(ctx, "w1", nil, 10, time.Minute, now))(t) {
			switch j.Host {
			case "a.example", "e.example":
				check(t, s.FailJob(ctx, j.ID, "w1", "410 Gone"))
			case "b.example":
				check(t, s.RetryJob(ctx, j.ID, "w1", next, "connection refused"))
			case "c.example":
				check(t, s.CompleteJob(ctx, j.ID, "w1"))
			}
		}
		// Not tried yet.
		must(s.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Host: "d.example", Payload: []byte(`{}`), RunAt: now}))(t)
		got := must(s.DeliveryProblems(ctx, "deliver", now.Add(-time.Hour), 10))(t)
		if len(got) != 2 {
			t.Fatalf("problems = %+v, want the failed and the retried delivery", got)
		}
		// The retry is due later than the failure happened: newest first.
		if got[0].Host != "b.example" || got[0].Failed || got[0].LastError != "connection refused" || !got[0].At.Equal(next) ||
			got[0].Attempts != 1 || string(got[0].Payload) != `{"signer":"news","outcome":"retry"}` || got[0].Ref != "status:1" {
			t.Errorf("first problem = %+v, want the retried delivery to b.example", got[0])
		}
		if got[1].Host != "a.example" || !got[1].Failed || got[1].LastError != "410 Gone" || got[1].At.Before(now.Add(-time.Minute)) {
			t.Errorf("second problem = %+v, want the failure at a.example", got[1])
		}
		if got := must(s.DeliveryProblems(ctx, "deliver", time.Now().Add(time.Hour), 10))(t); len(got) != 1 || got[0].Host != "b.example" {
			t.Errorf("problems since a later time = %+v, want only the retry", got)
		}
		if got := must(s.DeliveryProblems(ctx, "deliver", now.Add(-time.Hour), 1))(t); len(got) != 1 {
			t.Errorf("limit 1 gave %d problems", len(got))
		}
	})
}
