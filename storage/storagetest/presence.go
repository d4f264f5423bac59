package storagetest

import (
	"context"
	"slices"
	"testing"

	"github.com/passerelle/passerelle/storage"
)

// RunPresence runs the conformance tests of storage.Presence (and of the
// reply columns of statuses and remote statuses). open must return a
// new, empty store for each call.
func RunPresence(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("OwnReactions", func(t *testing.T) { testOwnReactions(t, open(t)) })
	t.Run("OwnReblogPaging", func(t *testing.T) { testOwnReblogPaging(t, open(t)) })
	t.Run("OwnReactionsCounted", func(t *testing.T) { testOwnReactionsCounted(t, open(t)) })
	t.Run("Reactors", func(t *testing.T) { testReactors(t, open(t)) })
	t.Run("StatusEdits", func(t *testing.T) { testStatusEdits(t, open(t)) })
	t.Run("Threads", func(t *testing.T) { testThreads(t, open(t)) })
	t.Run("RemoteStatusesByActor", func(t *testing.T) { testRemoteStatusesByActor(t, open(t)) })
	t.Run("RemoteStatusNotified", func(t *testing.T) { testRemoteStatusNotified(t, open(t)) })
}

const remoteNote = "https://remote.example/users/bob/statuses/1"

func testOwnReactions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	fav := storage.OwnReaction{ID: 5001, Account: "news", Kind: storage.NotificationFavourite, ObjectURI: remoteNote,
		RemoteStatusID: 77, ActivityID: "https://social.example/users/news#likes/5001", CreatedAt: base()}
	got, created, err := s.PutOwnReaction(ctx, fav)
	check(t, err)
	if !created || got != fav {
		t.Fatalf("PutOwnReaction = %+v, %v; want %+v, created", got, created, fav)
	}
	// Favouriting again keeps the first one (its activity id is the one
	// an Undo must name).
	again := fav
	again.ID, again.ActivityID = 5002, "https://social.example/users/news#likes/5002"
	got, created, err = s.PutOwnReaction(ctx, again)
	check(t, err)
	if created || got.ID != fav.ID || got.ActivityID != fav.ActivityID {
		t.Errorf("second PutOwnReaction = %+v, %v; want the first", got, created)
	}
	boost := storage.OwnReaction{ID: 5003, Account: "news", Kind: storage.NotificationReblog, ObjectURI: remoteNote,
		RemoteStatusID: 77, ActivityID: "https://social.example/users/news#announces/5003", CreatedAt: base()}
	putReaction(t, s, boost)
	other := storage.OwnReaction{ID: 5004, Account: "town", Kind: storage.NotificationFavourite, ObjectURI: remoteNote,
		RemoteStatusID: 77, ActivityID: "https://social.example/users/town#likes/5004", CreatedAt: base()}
	putReaction(t, s, other)
	if _, _, err := s.PutOwnReaction(ctx, storage.OwnReaction{Account: "news", Kind: "favourite", ObjectURI: "x"}); err == nil {
		t.Error("PutOwnReaction without id succeeded")
	}

	kinds := must(s.OwnReactionKinds(ctx, "news", []string{remoteNote, "https://remote.example/other"}))(t)
	if want := []string{"favourite", "reblog"}; len(kinds) != 1 || !slices.Equal(kinds[remoteNote], want) {
		t.Errorf("OwnReactionKinds(news) = %v, want %s: %v", kinds, remoteNote, want)
	}
	if kinds := must(s.OwnReactionKinds(ctx, "nobody", []string{remoteNote}))(t); len(kinds) != 0 {
		t.Errorf("OwnReactionKinds(nobody) = %v, want none", kinds)
	}
	if r := must(s.GetOwnReaction(ctx, boost.ID))(t); r != boost {
		t.Errorf("GetOwnReaction = %+v, want %+v", r, boost)
	}

	gone := must(s.DeleteOwnReaction(ctx, "news", storage.NotificationFavourite, remoteNote))(t)
	if gone != fav {
		t.Errorf("DeleteOwnReaction = %+v, want %+v", gone, fav)
	}
	_, err = s.DeleteOwnReaction(ctx, "news", storage.NotificationFavourite, remoteNote)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetOwnReaction(ctx, fav.ID)
	wantErr(t, err, storage.ErrNotFound)
	kinds = must(s.OwnReactionKinds(ctx, "news", []string{remoteNote}))(t)
	if !slices.Equal(kinds[remoteNote], []string{"reblog"}) {
		t.Errorf("after the unfavourite, OwnReactionKinds = %v, want reblog only", kinds)
	}
	// town's favourite is its own.
	if kinds := must(s.OwnReactionKinds(ctx, "town", []string{remoteNote}))(t); !slices.Equal(kinds[remoteNote], []string{"favourite"}) {
		t.Errorf("OwnReactionKinds(town) = %v", kinds)
	}
}

// putReaction records r, failing the test on error.
func putReaction(t *testing.T, s storage.Store, r storage.OwnReaction) {
	t.Helper()
	_, _, err := s.PutOwnReaction(context.Background(), r)
	check(t, err)
}

// insertRemote stores rs, failing the test on error.
func insertRemote(t *testing.T, s storage.Store, rs storage.RemoteStatus) {
	t.Helper()
	_, _, err := s.InsertRemoteStatus(context.Background(), rs)
	check(t, err)
}

func testOwnReblogPaging(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for i := range 5 {
		id := int64(100 + i)
		uri := remoteNote + "/" + string(rune('a'+i))
		putReaction(t, s, storage.OwnReaction{ID: id, Account: "news", Kind: storage.NotificationReblog,
			ObjectURI: uri, ActivityID: uri + "#a", CreatedAt: base()})
	}
	// A favourite and another account's boost are not news' boosts.
	putReaction(t, s, storage.OwnReaction{ID: 200, Account: "news", Kind: storage.NotificationFavourite,
		ObjectURI: remoteNote, ActivityID: "l", CreatedAt: base()})
	putReaction(t, s, storage.OwnReaction{ID: 201, Account: "town", Kind: storage.NotificationReblog,
		ObjectURI: remoteNote, ActivityID: "a", CreatedAt: base()})
	idsOf := func(rs []storage.OwnReaction) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		p    storage.StatusPage
		want []int64
	}{
		{"newest first", storage.StatusPage{Account: "news", Limit: 3}, []int64{104, 103, 102}},
		{"max_id", storage.StatusPage{Account: "news", Limit: 3, MaxID: 102}, []int64{101, 100}},
		{"since_id", storage.StatusPage{Account: "news", Limit: 10, SinceID: 102}, []int64{104, 103}},
		{"min_id: the oldest above, newest first", storage.StatusPage{Account: "news", Limit: 2, MinID: 100}, []int64{102, 101}},
		{"no limit", storage.StatusPage{Account: "news"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := idsOf(must(s.ListOwnReblogs(ctx, tc.p))(t))
			if !slices.Equal(got, tc.want) {
				t.Errorf("ListOwnReblogs = %v, want %v", got, tc.want)
			}
		})
	}
	if n := must(s.CountOwnReblogs(ctx, "news"))(t); n != 5 {
		t.Errorf("CountOwnReblogs = %d, want 5", n)
	}
}

func testOwnReactionsCounted(t *testing.T, s storage.Store) {
	ctx := context.Background()
	st := must(s.InsertStatus(ctx, storage.Status{Account: "news", Text: "hi", ContentHTML: "<p>hi</p>", Visibility: "public"}))(t)
	putReaction(t, s, storage.OwnReaction{ID: 9001, Account: "news", Kind: storage.NotificationReblog,
		ObjectURI: "https://social.example/users/news/statuses/1", StatusID: st, ActivityID: "a", CreatedAt: base()})
	_, _, err := s.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationReblog,
		ActivityID: "https://remote.example/announce/1", ActorID: "https://remote.example/users/bob", ActorDomain: "remote.example",
		StatusID: st, GroupKey: "g", CreatedAt: base()})
	check(t, err)
	c := must(s.StatusCounts(ctx, []int64{st}))(t)[st]
	if c.Reblogs != 2 || c.Favourites != 0 {
		t.Errorf("StatusCounts = %+v, want 2 boosts (ours and bob's)", c)
	}
	must(s.DeleteOwnReaction(ctx, "news", storage.NotificationReblog, "https://social.example/users/news/statuses/1"))(t)
	if c := must(s.StatusCounts(ctx, []int64{st}))(t)[st]; c.Reblogs != 1 {
		t.Errorf("after our unboost, StatusCounts = %+v, want 1 boost", c)
	}
}

func testReactors(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const st = 4242
	actor := func(i int) string { return "https://remote.example/users/u" + string(rune('0'+i)) }
	var notified []int64
	add := func(i int, kind, activity string) {
		id, _, err := s.InsertNotification(ctx, storage.Notification{Account: "news", Type: kind, ActivityID: activity,
			ActorID: actor(i), ActorDomain: "remote.example", StatusID: st, GroupKey: "g", CreatedAt: base()})
		check(t, err)
		notified = append(notified, id)
	}
	add(0, storage.NotificationFavourite, "like0")
	add(1, storage.NotificationFavourite, "like1")
	add(2, storage.NotificationReblog, "announce2")
	add(0, storage.NotificationFavourite, "like0-again") // a second Like by u0: one reactor
	add(3, storage.NotificationFavourite, "like3")
	must(s.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: actor(3), Kind: storage.BlockKindBlock}))(t)

	actors := func(rs []storage.Reactor) []string {
		var out []string
		for _, r := range rs {
			out = append(out, r.ActorID)
		}
		return out
	}
	favs := must(s.ListReactors(ctx, st, storage.NotificationFavourite, 0, 10))(t)
	if got, want := actors(favs), []string{actor(0), actor(1)}; !slices.Equal(got, want) {
		t.Fatalf("ListReactors(favourites) = %v, want %v (u0's latest first, the blocked u3 left out)", got, want)
	}
	if favs[0].ID != notified[3] {
		t.Errorf("u0's reactor id = %d, want its latest notification %d", favs[0].ID, notified[3])
	}
	page2 := must(s.ListReactors(ctx, st, storage.NotificationFavourite, favs[0].ID, 10))(t)
	if got := actors(page2); !slices.Equal(got, []string{actor(1)}) {
		t.Errorf("ListReactors below %d = %v, want u1", favs[0].ID, got)
	}
	if got := actors(must(s.ListReactors(ctx, st, storage.NotificationReblog, 0, 10))(t)); !slices.Equal(got, []string{actor(2)}) {
		t.Errorf("ListReactors(boosts) = %v, want u2", got)
	}
	// An Undo removes the reactor.
	must(s.DeleteNotificationsByActivity(ctx, actor(2), "announce2"))(t)
	if got := must(s.ListReactors(ctx, st, storage.NotificationReblog, 0, 10))(t); len(got) != 0 {
		t.Errorf("after the Undo, ListReactors(boosts) = %v", got)
	}
}

func testStatusEdits(t *testing.T, s storage.Store) {
	ctx := context.Background()
	first, second := base().Add(-2e9), base().Add(-1e9)
	check(t, s.InsertStatusEdit(ctx, storage.StatusEdit{StatusID: 7, Text: "v1", ContentHTML: "<p>v1</p>", CreatedAt: first}))
	check(t, s.InsertStatusEdit(ctx, storage.StatusEdit{StatusID: 7, Text: "v2", ContentHTML: "<p>v2</p>", SpoilerText: "cw",
		Sensitive: true, MediaIDs: []int64{3, 1}, CreatedAt: second}))
	check(t, s.InsertStatusEdit(ctx, storage.StatusEdit{StatusID: 8, Text: "other", CreatedAt: second}))
	got := must(s.ListStatusEdits(ctx, 7))(t)
	if len(got) != 2 || got[0].Text != "v1" || !got[0].CreatedAt.Equal(first) || got[0].MediaIDs != nil ||
		got[1].Text != "v2" || got[1].SpoilerText != "cw" || !got[1].Sensitive || !slices.Equal(got[1].MediaIDs, []int64{3, 1}) ||
		!got[1].CreatedAt.Equal(second) || got[1].StatusID != 7 {
		t.Errorf("ListStatusEdits(7) = %+v", got)
	}
	if got := must(s.ListStatusEdits(ctx, 9))(t); len(got) != 0 {
		t.Errorf("ListStatusEdits(9) = %+v, want none", got)
	}
}

func testThreads(t *testing.T, s storage.Store) {
	ctx := context.Background()
	parent := remoteStatus(3001, remoteNote, 0)
	insertRemote(t, s, parent)
	child := remoteStatus(3002, "https://remote.example/users/bob/statuses/2", 0)
	child.InReplyToURI = remoteNote
	stored, _, err := s.InsertRemoteStatus(ctx, child)
	check(t, err)
	if stored.InReplyToURI != remoteNote {
		t.Errorf("InsertRemoteStatus kept in_reply_to_uri %q, want %q", stored.InReplyToURI, remoteNote)
	}
	deleted := remoteStatus(3003, "https://remote.example/users/bob/statuses/3", 0)
	deleted.InReplyToURI = remoteNote
	insertRemote(t, s, deleted)
	must(s.DeleteRemoteStatus(ctx, deleted.NoteID, base()))(t)
	replies := must(s.ListRemoteReplies(ctx, remoteNote, 10))(t)
	if len(replies) != 1 || replies[0].ID != child.ID {
		t.Errorf("ListRemoteReplies = %+v, want the live child only", replies)
	}
	if got := must(s.ListRemoteReplies(ctx, "", 10))(t); len(got) != 0 {
		t.Errorf("ListRemoteReplies(\"\") = %+v", got)
	}

	// Our reply to the remote post, and our reply to our reply.
	ours := storage.Status{Account: "news", Text: "answer", ContentHTML: "<p>answer</p>", Visibility: "direct",
		InReplyToURI: remoteNote, InReplyToRemoteID: parent.ID}
	oursID := must(s.InsertStatus(ctx, ours))(t)
	got := must(s.GetStatus(ctx, oursID))(t)
	if got.InReplyToURI != remoteNote || got.InReplyToRemoteID != parent.ID || got.InReplyToID != 0 || got.Visibility != "direct" {
		t.Errorf("GetStatus = %+v; want the reply to %s (%d), direct", got, remoteNote, parent.ID)
	}
	thread := must(s.InsertStatus(ctx, storage.Status{Account: "news", Text: "more", ContentHTML: "<p>more</p>", Visibility: "public", InReplyToID: oursID}))(t)
	if rs := must(s.ListStatusReplies(ctx, parent.ID, true, 10))(t); len(rs) != 1 || rs[0].ID != oursID {
		t.Errorf("ListStatusReplies(remote %d) = %+v, want our reply", parent.ID, rs)
	}
	if rs := must(s.ListStatusReplies(ctx, oursID, false, 10))(t); len(rs) != 1 || rs[0].ID != thread {
		t.Errorf("ListStatusReplies(%d) = %+v, want the thread's next", oursID, rs)
	}
	check(t, s.DeleteStatus(ctx, "news", thread, base()))
	if rs := must(s.ListStatusReplies(ctx, oursID, false, 10))(t); len(rs) != 0 {
		t.Errorf("after the delete, ListStatusReplies = %+v", rs)
	}
}

func testRemoteStatusesByActor(t *testing.T, s storage.Store) {
	ctx := context.Background()
	bob := "https://remote.example/users/bob"
	vis := []string{"public", "unlisted", "direct", "public"}
	for i, v := range vis {
		rs := remoteStatus(int64(10+i), remoteNote+"/by/"+string(rune('a'+i)), 0)
		rs.Visibility = v
		insertRemote(t, s, rs)
	}
	other := remoteStatus(99, "https://remote.example/users/carol/statuses/1", 0)
	other.ActorID = "https://remote.example/users/carol"
	insertRemote(t, s, other)
	ids := func(rs []storage.RemoteStatus) []int64 {
		var out []int64
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	pub := []string{"public", "unlisted"}
	for _, tc := range []struct {
		name string
		p    storage.StatusPage
		want []int64
	}{
		{"public and unlisted, newest first", storage.StatusPage{Limit: 10, Visibilities: pub}, []int64{13, 11, 10}},
		{"all", storage.StatusPage{Limit: 10}, []int64{13, 12, 11, 10}},
		{"max_id", storage.StatusPage{Limit: 10, MaxID: 13, Visibilities: pub}, []int64{11, 10}},
		{"min_id", storage.StatusPage{Limit: 1, MinID: 10, Visibilities: pub}, []int64{11}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ids(must(s.ListRemoteStatusesByActor(ctx, bob, tc.p))(t)); !slices.Equal(got, tc.want) {
				t.Errorf("ListRemoteStatusesByActor = %v, want %v", got, tc.want)
			}
		})
	}
}

func testRemoteStatusNotified(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, _, err := s.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention,
		ActivityID: remoteNote, ActorID: "https://remote.example/users/bob", ActorDomain: "remote.example",
		RemoteStatusID: 555, GroupKey: "g", CreatedAt: base()})
	check(t, err)
	for _, tc := range []struct {
		account string
		id      int64
		want    bool
	}{{"news", 555, true}, {"town", 555, false}, {"news", 556, false}} {
		if got := must(s.RemoteStatusNotified(ctx, tc.account, tc.id))(t); got != tc.want {
			t.Errorf("RemoteStatusNotified(%s, %d) = %v, want %v", tc.account, tc.id, got, tc.want)
		}
	}
}
