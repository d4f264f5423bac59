package storagetest

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunNoticeFunnel checks the notice page's funnel: visits added up by day
// and source, follow starts rolled up once each, counted as follows only
// for a new follower from the same host within the window.
func RunNoticeFunnel(t *testing.T, open func(t *testing.T) storage.Store) {
	ctx := context.Background()
	t.Run("Visits", func(t *testing.T) {
		s := open(t)
		for _, v := range []struct {
			account, day, source string
			n                    int64
		}{
			{"news", "2026-12-05", "direct", 3}, {"news", "2026-12-05", "qr", 2}, {"news", "2026-12-05", "direct", 4},
			{"news", "2026-12-06", "qr", 1}, {"news", "2026-12-04", "direct", 9}, {"mayor", "2026-12-05", "direct", 5},
		} {
			if err := s.AddNoticeVisits(ctx, v.account, v.day, v.source, v.n); err != nil {
				t.Fatal(err)
			}
		}
		got := must(s.NoticeFunnelDays(ctx, "news", "2026-12-05"))(t)
		want := []storage.NoticeFunnelDay{
			{Day: "2026-12-05", Visits: map[string]int64{"direct": 7, "qr": 2}},
			{Day: "2026-12-06", Visits: map[string]int64{"qr": 1}},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("funnel = %+v, want %+v", got, want)
		}
	})
	t.Run("FollowStarts", func(t *testing.T) {
		s := open(t)
		t0 := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
		follow := func(actor string, at time.Time) {
			t.Helper()
			if _, err := s.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: actor, Inbox: actor + "/inbox",
				State: storage.FollowerAccepted, CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
		start := func(account, host string, at time.Time) {
			t.Helper()
			if err := s.AddNoticeFollowStart(ctx, account, host, at); err != nil {
				t.Fatal(err)
			}
		}
		start("news", "Social.Example", t0)                    // followed 10 minutes later: a follow
		start("news", "social.example", t0.Add(5*time.Minute)) // the same visitor again: their one follow counts once
		start("news", "slow.example", t0)                      // followed 40 minutes later: not
		start("news", "early.example", t0)                     // a follower from before: not
		start("news", "other_host.example", t0)                // "_" is no wildcard: otherxhost's follow does not count
		start("mayor", "social.example", t0)                   // another account's
		start("news", "late.example", t0.Add(2*time.Hour))     // not rolled up yet
		follow("https://social.example/users/ann", t0.Add(10*time.Minute))
		follow("https://slow.example/users/bo", t0.Add(40*time.Minute))
		follow("https://early.example/users/cy", t0.Add(-time.Hour))
		follow("https://otherxhost.example/users/di", t0.Add(time.Minute))

		n := must(s.RollUpNoticeFollowStarts(ctx, t0.Add(time.Hour), 30*time.Minute))(t)
		if n != 6 {
			t.Fatalf("rolled up %d starts, want 6", n)
		}
		if n := must(s.RollUpNoticeFollowStarts(ctx, t0.Add(time.Hour), 30*time.Minute))(t); n != 0 {
			t.Fatalf("rolled up %d starts again, want 0", n)
		}
		got := must(s.NoticeFunnelDays(ctx, "news", "2026-12-01"))(t)
		want := []storage.NoticeFunnelDay{{Day: "2026-12-06", Visits: map[string]int64{}, Starts: 5, Follows: 1}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("news funnel = %+v, want %+v", got, want)
		}
		got = must(s.NoticeFunnelDays(ctx, "mayor", "2026-12-01"))(t)
		want = []storage.NoticeFunnelDay{{Day: "2026-12-06", Visits: map[string]int64{}, Starts: 1, Follows: 0}}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("mayor funnel = %+v, want %+v", got, want)
		}
		if n := must(s.RollUpNoticeFollowStarts(ctx, t0.Add(3*time.Hour), 30*time.Minute))(t); n != 1 {
			t.Fatalf("rolled up %d later starts, want 1", n)
		}
	})
}
