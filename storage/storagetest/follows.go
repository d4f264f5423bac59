package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunFollows runs the conformance tests of storage.Follows. open must
// return a new, empty store for each call.
func RunFollows(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("FollowLifecycle", func(t *testing.T) { testFollowLifecycle(t, open(t)) })
	t.Run("FollowPaging", func(t *testing.T) { testFollowPaging(t, open(t)) })
	t.Run("Home", func(t *testing.T) { testHome(t, open(t)) })
	t.Run("HomePrune", func(t *testing.T) { testHomePrune(t, open(t)) })
}

const partner = "https://partner.example/users/agency"

func testFollowLifecycle(t *testing.T, s storage.Store) {
	ctx := context.Background()
	f := storage.Follow{ID: 7001, Account: "news", ActorID: partner, ActivityID: "https://social.example/users/news#follows/7001",
		State: storage.FollowRequested, CreatedAt: base()}
	got, created, err := s.PutFollow(ctx, f)
	check(t, err)
	if !created || got != f {
		t.Fatalf("PutFollow = %+v, %v; want %+v, created", got, created, f)
	}
	// Following again keeps the first Follow (its id is what the Accept
	// and the Undo name).
	again := f
	again.ID, again.ActivityID = 7002, "https://social.example/users/news#follows/7002"
	got, created, err = s.PutFollow(ctx, again)
	check(t, err)
	if created || got != f {
		t.Errorf("second PutFollow = %+v, %v; want the first", got, created)
	}
	if _, _, err := s.PutFollow(ctx, storage.Follow{Account: "news", ActorID: partner}); err == nil {
		t.Error("PutFollow without id succeeded")
	}
	if g := must(s.GetFollowByActivity(ctx, f.ActivityID))(t); g != f {
		t.Errorf("GetFollowByActivity = %+v, want %+v", g, f)
	}
	_, err = s.GetFollowByActivity(ctx, again.ActivityID)
	wantErr(t, err, storage.ErrNotFound)
	if accs := must(s.FollowingAccounts(ctx, partner))(t); len(accs) != 0 {
		t.Errorf("FollowingAccounts before the Accept = %v, want none", accs)
	}
	at := base().Add(time.Minute)
	check(t, s.SetFollowState(ctx, "news", partner, storage.FollowAccepted, at))
	g := must(s.GetFollow(ctx, "news", partner))(t)
	if g.State != storage.FollowAccepted || !g.AcceptedAt.Equal(at) {
		t.Errorf("after the Accept: %+v", g)
	}
	wantErr(t, s.SetFollowState(ctx, "news", "https://partner.example/users/nobody", storage.FollowAccepted, at), storage.ErrNotFound)
	// town asks too; only news is accepted.
	_, _, err = s.PutFollow(ctx, storage.Follow{ID: 7003, Account: "town", ActorID: partner, ActivityID: "https://social.example/users/town#follows/7003", State: storage.FollowRequested})
	check(t, err)
	if accs := must(s.FollowingAccounts(ctx, partner))(t); len(accs) != 1 || accs[0] != "news" {
		t.Errorf("FollowingAccounts = %v, want [news]", accs)
	}
	if n := must(s.CountFollows(ctx, "news", storage.FollowAccepted))(t); n != 1 {
		t.Errorf("CountFollows(news, accepted) = %d", n)
	}
	if n := must(s.CountFollows(ctx, "town", storage.FollowAccepted))(t); n != 0 {
		t.Errorf("CountFollows(town, accepted) = %d", n)
	}
	if n := must(s.CountFollows(ctx, "town", ""))(t); n != 1 {
		t.Errorf("CountFollows(town) = %d", n)
	}

	// Unfollowing takes the actor's entries out of the home timeline.
	rs := putRemote(t, s, 8001, partner, base())
	_, err = s.InsertHomeEntries(ctx, []storage.HomeEntry{{ID: rs.ID, Account: "news", RemoteStatusID: rs.ID, ActorID: partner, ActivityID: rs.NoteID}})
	check(t, err)
	gone := must(s.DeleteFollow(ctx, "news", partner))(t)
	if gone.ID != f.ID {
		t.Errorf("DeleteFollow = %+v", gone)
	}
	_, err = s.DeleteFollow(ctx, "news", partner)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetFollow(ctx, "news", partner)
	wantErr(t, err, storage.ErrNotFound)
	if h := must(s.ListHome(ctx, storage.StatusPage{Account: "news", Limit: 10}))(t); len(h) != 0 {
		t.Errorf("home after the unfollow = %+v, want empty", h)
	}
}

func testFollowPaging(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for i := int64(1); i <= 5; i++ {
		state := storage.FollowAccepted
		if i == 3 {
			state = storage.FollowRequested
		}
		_, _, err := s.PutFollow(ctx, storage.Follow{ID: 100 + i, Account: "news", ActorID: fmt.Sprintf("https://p.example/users/u%d", i),
			ActivityID: fmt.Sprintf("https://social.example/users/news#follows/%d", i), State: state, CreatedAt: base()})
		check(t, err)
	}
	ids := func(fs []storage.Follow) []int64 {
		var out []int64
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		page  storage.StatusPage
		state string
		want  []int64
	}{
		{"newest first", storage.StatusPage{Limit: 2}, "", []int64{105, 104}},
		{"max_id", storage.StatusPage{MaxID: 104, Limit: 2}, "", []int64{103, 102}},
		{"since_id", storage.StatusPage{SinceID: 102, Limit: 2}, "", []int64{105, 104}},
		{"min_id", storage.StatusPage{MinID: 102, Limit: 2}, "", []int64{104, 103}},
		{"accepted only", storage.StatusPage{MaxID: 105, Limit: 3}, storage.FollowAccepted, []int64{104, 102, 101}},
		{"no limit", storage.StatusPage{}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.page.Account = "news"
			got := ids(must(s.ListFollows(ctx, tc.page, tc.state))(t))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("ListFollows = %v, want %v", got, tc.want)
			}
		})
	}
}

// putRemote stores a public remote post of actor.
func putRemote(t *testing.T, s storage.Store, id int64, actor string, at time.Time) storage.RemoteStatus {
	t.Helper()
	rs, _, err := s.InsertRemoteStatus(context.Background(), storage.RemoteStatus{ID: id, NoteID: fmt.Sprintf("%s/notes/%d", actor, id),
		ActorID: actor, URL: fmt.Sprintf("%s/notes/%d", actor, id), ContentHTML: "<p>hi</p>", Visibility: storage.VisibilityPublic, CreatedAt: at})
	check(t, err)
	return rs
}

func testHome(t *testing.T, s storage.Store) {
	ctx := context.Background()
	booster := "https://other.example/users/booster"
	a := putRemote(t, s, 9001, partner, base())
	b := putRemote(t, s, 9002, partner, base())
	c := putRemote(t, s, 9003, "https://third.example/users/x", base())
	entries := []storage.HomeEntry{
		{ID: a.ID, Account: "news", RemoteStatusID: a.ID, ActorID: partner, ActivityID: a.NoteID},
		{ID: b.ID, Account: "news", RemoteStatusID: b.ID, ActorID: partner, ActivityID: b.NoteID},
		{ID: 9010, Account: "news", RemoteStatusID: c.ID, ActorID: booster, ActivityID: booster + "/announces/1", Reblog: true},
		{ID: a.ID, Account: "town", RemoteStatusID: a.ID, ActorID: partner, ActivityID: a.NoteID},
	}
	if n := must(s.InsertHomeEntries(ctx, entries))(t); n != 4 {
		t.Errorf("InsertHomeEntries = %d, want 4", n)
	}
	// The same activity again adds nothing.
	if n := must(s.InsertHomeEntries(ctx, entries[:1]))(t); n != 0 {
		t.Errorf("InsertHomeEntries again = %d, want 0", n)
	}
	if _, err := s.InsertHomeEntries(ctx, []storage.HomeEntry{{Account: "news"}}); err == nil {
		t.Error("InsertHomeEntries without ids succeeded")
	}
	ids := func(p storage.StatusPage) []int64 {
		t.Helper()
		p.Account = "news"
		var out []int64
		for _, e := range must(s.ListHome(ctx, p))(t) {
			out = append(out, e.ID)
		}
		return out
	}
	if got := ids(storage.StatusPage{Limit: 10}); fmt.Sprint(got) != "[9010 9002 9001]" {
		t.Errorf("ListHome = %v", got)
	}
	if got := ids(storage.StatusPage{MaxID: 9010, Limit: 1}); fmt.Sprint(got) != "[9002]" {
		t.Errorf("ListHome max_id = %v", got)
	}
	if got := ids(storage.StatusPage{MinID: 9001, Limit: 1}); fmt.Sprint(got) != "[9002]" {
		t.Errorf("ListHome min_id = %v", got)
	}
	e := must(s.ListHome(ctx, storage.StatusPage{Account: "news", Limit: 1}))(t)[0]
	if !e.Reblog || e.RemoteStatusID != c.ID || e.ActorID != booster {
		t.Errorf("boost entry = %+v", e)
	}
	// A muted booster, or a blocked author, is left out.
	_, err := s.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: booster, Kind: storage.BlockKindMute})
	check(t, err)
	if got := ids(storage.StatusPage{Limit: 10}); fmt.Sprint(got) != "[9002 9001]" {
		t.Errorf("ListHome with the booster muted = %v", got)
	}
	_, err = s.DeleteAccountBlock(ctx, "news", booster, storage.BlockKindMute)
	check(t, err)
	_, err = s.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: c.ActorID, Kind: storage.BlockKindBlock})
	check(t, err)
	if got := ids(storage.StatusPage{Limit: 10}); fmt.Sprint(got) != "[9002 9001]" {
		t.Errorf("ListHome with the boosted author blocked = %v", got)
	}
	_, err = s.DeleteAccountBlock(ctx, "news", c.ActorID, storage.BlockKindBlock)
	check(t, err)
	// A deleted post is left out; a boost taken back goes.
	_, err = s.DeleteRemoteStatus(ctx, b.NoteID, base())
	check(t, err)
	if n := must(s.DeleteHomeEntriesByActivity(ctx, booster, booster+"/announces/1"))(t); n != 1 {
		t.Errorf("DeleteHomeEntriesByActivity = %d", n)
	}
	if got := ids(storage.StatusPage{Limit: 10}); fmt.Sprint(got) != "[9001]" {
		t.Errorf("ListHome after a deletion and an undo = %v", got)
	}
}

func testHomePrune(t *testing.T, s storage.Store) {
	ctx := context.Background()
	old, recent := base().Add(-40*24*time.Hour), base()
	onlyHome := putRemote(t, s, 9101, partner, old)
	notified := putRemote(t, s, 9102, partner, old)
	stillShown := putRemote(t, s, 9103, partner, old)
	fresh := putRemote(t, s, 9104, partner, recent)
	_, _, err := s.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: notified.NoteID,
		ActorID: partner, ActorDomain: "partner.example", RemoteStatusID: notified.ID, GroupKey: "g", CreatedAt: old})
	check(t, err)
	_, err = s.InsertHomeEntries(ctx, []storage.HomeEntry{
		{ID: onlyHome.ID, Account: "news", RemoteStatusID: onlyHome.ID, ActorID: partner, ActivityID: onlyHome.NoteID, CreatedAt: old},
		{ID: notified.ID, Account: "news", RemoteStatusID: notified.ID, ActorID: partner, ActivityID: notified.NoteID, CreatedAt: old},
		{ID: stillShown.ID, Account: "news", RemoteStatusID: stillShown.ID, ActorID: partner, ActivityID: stillShown.NoteID, CreatedAt: old},
		// A recent boost of an old post keeps the post.
		{ID: 9200, Account: "news", RemoteStatusID: stillShown.ID, ActorID: partner, ActivityID: partner + "/announces/9", Reblog: true, CreatedAt: recent},
		{ID: fresh.ID, Account: "news", RemoteStatusID: fresh.ID, ActorID: partner, ActivityID: fresh.NoteID, CreatedAt: recent},
	})
	check(t, err)
	entries, statuses, err := s.PruneHome(ctx, base().Add(-30*24*time.Hour))
	check(t, err)
	if entries != 3 || statuses != 1 {
		t.Errorf("PruneHome = %d entries, %d posts; want 3, 1", entries, statuses)
	}
	_, err = s.GetRemoteStatus(ctx, onlyHome.ID)
	wantErr(t, err, storage.ErrNotFound)
	for _, id := range []int64{notified.ID, stillShown.ID, fresh.ID} {
		if _, err := s.GetRemoteStatus(ctx, id); err != nil {
			t.Errorf("post %d pruned: %v", id, err)
		}
	}
	var got []int64
	for _, e := range must(s.ListHome(ctx, storage.StatusPage{Account: "news", Limit: 10}))(t) {
		got = append(got, e.ID)
	}
	if fmt.Sprint(got) != "[9200 9104]" {
		t.Errorf("home after pruning = %v", got)
	}
}
