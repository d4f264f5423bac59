package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunMoves runs the conformance tests of storage.Moves (account moves).
// open must return a new, empty store for each call.
func RunMoves(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("MoveOut", func(t *testing.T) { testMoveOut(t, open(t)) })
	t.Run("MoveInWindows", func(t *testing.T) { testMoveInWindows(t, open(t)) })
	t.Run("FollowersMovedIn", func(t *testing.T) { testFollowersMovedIn(t, open(t)) })
}

func testMoveOut(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, err := s.GetMoveOut(ctx, "news")
	wantErr(t, err, storage.ErrNotFound)

	steps := []struct {
		name string
		put  storage.MoveOut
	}{
		{"first move", storage.MoveOut{Account: "news", Target: "https://new.example/users/news", TargetHandle: "news@new.example",
			TargetURL: "https://new.example/@news", ActivityID: "https://city.example/users/news#moves/1", MovedAt: base()}},
		{"moved again elsewhere", storage.MoveOut{Account: "news", Target: "https://other.example/u/news", TargetHandle: "news@other.example",
			TargetURL: "https://other.example/@news", ActivityID: "https://city.example/users/news#moves/2", MovedAt: base().Add(time.Hour)}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			check(t, s.PutMoveOut(ctx, st.put))
			got := must(s.GetMoveOut(ctx, "news"))(t)
			if got.Account != st.put.Account || got.Target != st.put.Target || got.TargetHandle != st.put.TargetHandle ||
				got.TargetURL != st.put.TargetURL || got.ActivityID != st.put.ActivityID || !got.MovedAt.Equal(st.put.MovedAt) {
				t.Errorf("GetMoveOut = %+v, want %+v", got, st.put)
			}
		})
	}
	_, err = s.GetMoveOut(ctx, "events")
	wantErr(t, err, storage.ErrNotFound)
}

func testMoveInWindows(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	const (
		old   = "https://mastodon.example/users/city"
		older = "https://old.example/users/city"
	)
	_, err := s.OpenMoveIn(ctx, "news", now)
	wantErr(t, err, storage.ErrNotFound)

	check(t, s.PutMoveIn(ctx, storage.MoveIn{Account: "news", Origin: old, Source: storage.MoveInExpected,
		OpenedAt: now.Add(-time.Hour), Until: now.Add(24 * time.Hour)}))
	check(t, s.PutMoveIn(ctx, storage.MoveIn{Account: "news", Origin: older, Source: storage.MoveInReceived,
		ActivityID: older + "#moves/1", OpenedAt: now.Add(-48 * time.Hour), Until: now.Add(-24 * time.Hour)}))
	check(t, s.PutMoveIn(ctx, storage.MoveIn{Account: "events", Origin: old, Source: storage.MoveInExpected,
		OpenedAt: now, Until: now.Add(72 * time.Hour)}))

	cases := []struct {
		name    string
		account string
		at      time.Time
		want    string // origin; "" for ErrNotFound
	}{
		{"open now", "news", now, old},
		{"the closed one at its time", "news", now.Add(-30 * time.Hour), older},
		{"before any opened", "news", now.Add(-72 * time.Hour), ""},
		{"after both closed", "news", now.Add(25 * time.Hour), ""},
		{"until is exclusive", "news", now.Add(24 * time.Hour), ""},
		{"another account's window", "events", now.Add(48 * time.Hour), old},
		{"no window", "mayor", now, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := s.OpenMoveIn(ctx, c.account, c.at)
			if c.want == "" {
				wantErr(t, err, storage.ErrNotFound)
				return
			}
			check(t, err)
			if got.Origin != c.want || got.Account != c.account {
				t.Errorf("OpenMoveIn(%s) = %+v, want origin %s", c.account, got, c.want)
			}
		})
	}

	list := must(s.ListMovesIn(ctx, "news"))(t)
	if len(list) != 2 || list[0].Origin != old || list[1].Origin != older {
		t.Fatalf("ListMovesIn = %+v, want %s then %s", list, old, older)
	}
	if r := list[1]; r.Source != storage.MoveInReceived || r.ActivityID != older+"#moves/1" ||
		!r.OpenedAt.Equal(now.Add(-48*time.Hour)) || !r.Until.Equal(now.Add(-24*time.Hour)) {
		t.Errorf("received window read back as %+v", r)
	}

	// Replacing closes it.
	check(t, s.PutMoveIn(ctx, storage.MoveIn{Account: "news", Origin: old, Source: storage.MoveInExpected, OpenedAt: now, Until: now}))
	_, err = s.OpenMoveIn(ctx, "news", now)
	wantErr(t, err, storage.ErrNotFound)
	if n := len(must(s.ListMovesIn(ctx, "news"))(t)); n != 2 {
		t.Errorf("after replacing, %d windows listed, want 2", n)
	}
}

func testFollowersMovedIn(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	const old = "https://mastodon.example/users/city"
	for _, f := range []storage.Follower{
		follower("news", "https://a.example/u/1", storage.FollowerAccepted, now),
		follower("news", "https://b.example/u/2", storage.FollowerAccepted, now),
		follower("news", "https://c.example/u/3", storage.FollowerPending, now),
		follower("events", "https://a.example/u/1", storage.FollowerAccepted, now),
	} {
		must(s.UpsertFollower(ctx, f))(t)
	}
	check(t, s.SetFollowerMovedFrom(ctx, "news", "https://a.example/u/1", old))
	check(t, s.SetFollowerMovedFrom(ctx, "news", "https://c.example/u/3", old))
	wantErr(t, s.SetFollowerMovedFrom(ctx, "news", "https://z.example/u/9", old), storage.ErrNotFound)

	counts := []struct {
		account string
		want    int64
	}{{"news", 1}, {"events", 0}, {"mayor", 0}}
	for _, c := range counts {
		if got := must(s.CountFollowersMovedIn(ctx, c.account))(t); got != c.want {
			t.Errorf("CountFollowersMovedIn(%s) = %d, want %d (accepted only)", c.account, got, c.want)
		}
	}

	var ids []string
	for after := ""; ; {
		page := must(s.ListFollowersMovedIn(ctx, "news", after, 1))(t)
		if len(page) == 0 {
			break
		}
		if page[0].MovedFrom != old {
			t.Errorf("listed %+v, want moved from %s", page[0], old)
		}
		ids = append(ids, page[0].ActorID)
		after = page[0].ActorID
	}
	if len(ids) != 2 || ids[0] != "https://a.example/u/1" || ids[1] != "https://c.example/u/3" {
		t.Errorf("ListFollowersMovedIn pages = %v", ids)
	}

	// The mark survives an upsert (a repeated Follow) and is kept apart
	// from the follower's other fields.
	f := follower("news", "https://a.example/u/1", storage.FollowerAccepted, now)
	f.Inbox = "https://a.example/u/1/inbox2"
	must(s.UpsertFollower(ctx, f))(t)
	if got := must(s.CountFollowersMovedIn(ctx, "news"))(t); got != 1 {
		t.Errorf("after an upsert CountFollowersMovedIn = %d, want 1", got)
	}
	check(t, s.SetFollowerMovedFrom(ctx, "news", "https://a.example/u/1", ""))
	if got := must(s.CountFollowersMovedIn(ctx, "news"))(t); got != 0 {
		t.Errorf("after clearing CountFollowersMovedIn = %d, want 0", got)
	}
}
