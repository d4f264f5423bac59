package storagetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunInteractions runs the conformance tests of storage.Interactions.
// open must return a new, empty store for each call.
func RunInteractions(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("RemoteProfiles", func(t *testing.T) { testRemoteProfiles(t, open(t)) })
	t.Run("RemoteStatuses", func(t *testing.T) { testRemoteStatuses(t, open(t)) })
	t.Run("Notifications", func(t *testing.T) { testNotifications(t, open(t)) })
	t.Run("NotificationStats", func(t *testing.T) { testNotificationStats(t, open(t)) })
	t.Run("AccountBlocks", func(t *testing.T) { testAccountBlocks(t, open(t)) })
	t.Run("Reports", func(t *testing.T) { testReports(t, open(t)) })
	t.Run("Filters", func(t *testing.T) { testFilters(t, open(t)) })
	t.Run("StatusPolicies", func(t *testing.T) { testStatusPolicies(t, open(t)) })
	t.Run("InteractionAuthorizations", func(t *testing.T) { testInteractionAuthorizations(t, open(t)) })
	t.Run("ActorAnnouncements", func(t *testing.T) { testActorAnnouncements(t, open(t)) })
	t.Run("InteractionsInTx", func(t *testing.T) { testInteractionsInTx(t, open(t)) })
	t.Run("StatusCounts", func(t *testing.T) { testStatusCounts(t, open(t)) })
}

func testRemoteProfiles(t *testing.T, s storage.Store) {
	ctx := context.Background()
	p := storage.RemoteProfile{ActorID: "https://remote.example/users/bob", Acct: "Bob@Remote.example", Domain: "Remote.example",
		DisplayName: "Bob", URL: "https://remote.example/@bob", UpdatedAt: base()}
	check(t, s.UpsertRemoteProfile(ctx, p))
	got := must(s.GetRemoteProfile(ctx, p.ActorID))(t)
	if got.Acct != "bob@remote.example" || got.Domain != "remote.example" || got.DisplayName != "Bob" || !got.UpdatedAt.Equal(p.UpdatedAt) {
		t.Errorf("GetRemoteProfile = %+v", got)
	}
	if got.Summary != "" {
		t.Errorf("Summary = %q, want none", got.Summary)
	}
	p.DisplayName, p.AvatarURL, p.Summary = "Bob 2", "https://remote.example/a.png", "<p>Librarian</p>"
	check(t, s.UpsertRemoteProfile(ctx, p))
	got = must(s.GetRemoteProfileByAcct(ctx, "@BOB@remote.example"))(t)
	if got.DisplayName != "Bob 2" || got.AvatarURL != p.AvatarURL || got.ActorID != p.ActorID || got.Summary != p.Summary {
		t.Errorf("GetRemoteProfileByAcct after update = %+v", got)
	}
	_, err := s.GetRemoteProfile(ctx, "https://remote.example/users/nobody")
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetRemoteProfileByAcct(ctx, "nobody@remote.example")
	wantErr(t, err, storage.ErrNotFound)
}

func remoteStatus(id int64, note string, replyTo int64) storage.RemoteStatus {
	return storage.RemoteStatus{ID: id, NoteID: note, ActorID: "https://remote.example/users/bob",
		URL: note + "/html", ContentHTML: "<p>hi</p>", Language: "en", Visibility: "public", InReplyToID: replyTo, CreatedAt: base()}
}

func testRemoteStatuses(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const ours = 42
	a := remoteStatus(1001, "https://remote.example/notes/a", ours)
	got, created, err := s.InsertRemoteStatus(ctx, a)
	check(t, err)
	if !created || got.ID != a.ID || got.NoteID != a.NoteID || got.InReplyToID != ours || got.Visibility != "public" || got.ContentHTML != a.ContentHTML || !got.CreatedAt.Equal(a.CreatedAt) {
		t.Fatalf("InsertRemoteStatus = %+v, %v", got, created)
	}
	// The same note again (another delivery): the first row is kept.
	again := a
	again.ID, again.ContentHTML = 1002, "<p>other</p>"
	got, created, err = s.InsertRemoteStatus(ctx, again)
	check(t, err)
	if created || got.ID != a.ID || got.ContentHTML != a.ContentHTML {
		t.Errorf("second InsertRemoteStatus = %+v, %v; want the first row", got, created)
	}
	_, _, err = s.InsertRemoteStatus(ctx, storage.RemoteStatus{NoteID: "https://remote.example/notes/noid"})
	if err == nil {
		t.Error("InsertRemoteStatus without id succeeded")
	}

	// Edit.
	edit := a
	edit.ContentHTML, edit.SpoilerText, edit.Sensitive, edit.EditedAt = "<p>edited</p>", "cw", true, base().Add(time.Minute)
	check(t, s.UpdateRemoteStatus(ctx, edit))
	got = must(s.GetRemoteStatusByNoteID(ctx, a.NoteID))(t)
	if got.ContentHTML != "<p>edited</p>" || got.SpoilerText != "cw" || !got.Sensitive || !got.EditedAt.Equal(edit.EditedAt) {
		t.Errorf("after UpdateRemoteStatus: %+v", got)
	}
	wantErr(t, s.UpdateRemoteStatus(ctx, remoteStatus(0, "https://remote.example/notes/missing", 0)), storage.ErrNotFound)

	// Replies, oldest first, deleted ones left out.
	b := remoteStatus(1003, "https://remote.example/notes/b", ours)
	c := remoteStatus(1004, "https://remote.example/notes/c", 7)
	for _, rs := range []storage.RemoteStatus{b, c} {
		_, _, err := s.InsertRemoteStatus(ctx, rs)
		check(t, err)
	}
	replies := must(s.ListReplies(ctx, ours, 10))(t)
	if len(replies) != 2 || replies[0].ID != a.ID || replies[1].ID != b.ID {
		t.Errorf("ListReplies = %+v", replies)
	}
	if r := must(s.ListReplies(ctx, ours, 1))(t); len(r) != 1 {
		t.Errorf("ListReplies limit 1 = %d rows", len(r))
	}

	// Delete dismisses the post's notifications.
	nid, _ := must2(s.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention,
		ActivityID: a.NoteID, ActorID: a.ActorID, ActorDomain: "remote.example", StatusID: ours, RemoteStatusID: a.ID, GroupKey: "g"}))(t)
	if !must(s.DeleteRemoteStatus(ctx, a.NoteID, base()))(t) {
		t.Error("DeleteRemoteStatus found nothing")
	}
	if must(s.DeleteRemoteStatus(ctx, a.NoteID, base()))(t) {
		t.Error("second DeleteRemoteStatus found the post again")
	}
	if got := must(s.GetRemoteStatus(ctx, a.ID))(t); got.DeletedAt.IsZero() {
		t.Error("deleted post has no DeletedAt")
	}
	_, err = s.GetNotification(ctx, "news", nid)
	wantErr(t, err, storage.ErrNotFound)
	if r := must(s.ListReplies(ctx, ours, 10))(t); len(r) != 1 || r[0].ID != b.ID {
		t.Errorf("ListReplies after delete = %+v", r)
	}
	wantErr(t, s.UpdateRemoteStatus(ctx, edit), storage.ErrNotFound)
	_, err = s.GetRemoteStatus(ctx, 999)
	wantErr(t, err, storage.ErrNotFound)
}

// must2 is must for functions returning two values and an error.
func must2[A, B any](a A, b B, err error) func(t *testing.T) (A, B) {
	return func(t *testing.T) (A, B) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return a, b
	}
}

func notification(account, typ, activity, actor, domain string, at time.Time) storage.Notification {
	return storage.Notification{Account: account, Type: typ, ActivityID: activity, ActorID: actor, ActorDomain: domain,
		StatusID: 42, GroupKey: typ + "-42", CreatedAt: at}
}

func notificationIDs(ns []storage.Notification) []int64 {
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = n.ID
	}
	return out
}

func testNotifications(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	bob, eve := "https://remote.example/users/bob", "https://evil.example/users/eve"
	var made []int64
	for i, n := range []storage.Notification{
		notification("news", storage.NotificationMention, "https://remote.example/notes/1", bob, "Remote.example", now),
		notification("news", storage.NotificationFavourite, "https://remote.example/likes/1", bob, "remote.example", now),
		notification("news", storage.NotificationReblog, "https://evil.example/announces/1", eve, "evil.example", now),
		notification("news", storage.NotificationMention, "https://evil.example/notes/2", eve, "evil.example", now),
		notification("mayor", storage.NotificationMention, "https://remote.example/notes/1", bob, "remote.example", now),
	} {
		id, created := must2(s.InsertNotification(ctx, n))(t)
		if !created || id <= 0 {
			t.Fatalf("notification %d: id %d created %v", i, id, created)
		}
		made = append(made, id)
	}
	// Idempotent per account, type and activity.
	id, created := must2(s.InsertNotification(ctx, notification("news", storage.NotificationMention, "https://remote.example/notes/1", bob, "remote.example", now)))(t)
	if created || id != made[0] {
		t.Errorf("duplicate notification: id %d created %v, want %d false", id, created, made[0])
	}
	got := must(s.GetNotification(ctx, "news", made[0]))(t)
	if got.Type != storage.NotificationMention || got.ActorDomain != "remote.example" || got.StatusID != 42 || !got.CreatedAt.Equal(now) {
		t.Errorf("GetNotification = %+v", got)
	}
	_, err := s.GetNotification(ctx, "mayor", made[0])
	wantErr(t, err, storage.ErrNotFound)

	steps := []struct {
		name string
		page storage.NotificationPage
		want []int64
	}{
		{"all, newest first", storage.NotificationPage{Account: "news", Limit: 10}, []int64{made[3], made[2], made[1], made[0]}},
		{"limit", storage.NotificationPage{Account: "news", Limit: 2}, []int64{made[3], made[2]}},
		{"max_id", storage.NotificationPage{Account: "news", Limit: 10, MaxID: made[2]}, []int64{made[1], made[0]}},
		{"since_id", storage.NotificationPage{Account: "news", Limit: 10, SinceID: made[1]}, []int64{made[3], made[2]}},
		{"min_id: the oldest above", storage.NotificationPage{Account: "news", Limit: 1, MinID: made[0]}, []int64{made[1]}},
		{"types", storage.NotificationPage{Account: "news", Limit: 10, Types: []string{storage.NotificationMention}}, []int64{made[3], made[0]}},
		{"exclude types", storage.NotificationPage{Account: "news", Limit: 10, ExcludeTypes: []string{storage.NotificationMention, storage.NotificationReblog}}, []int64{made[1]}},
		{"other account", storage.NotificationPage{Account: "mayor", Limit: 10}, []int64{made[4]}},
	}
	for _, st := range steps {
		if got := notificationIDs(must(s.ListNotifications(ctx, st.page))(t)); !slices.Equal(got, st.want) {
			t.Errorf("%s: ListNotifications = %v, want %v", st.name, got, st.want)
		}
	}
	if n := must(s.CountNotifications(ctx, "news", 0, nil, 0))(t); n != 4 {
		t.Errorf("CountNotifications = %d, want 4", n)
	}
	if n := must(s.CountNotifications(ctx, "news", made[1], []string{storage.NotificationMention}, 0))(t); n != 1 {
		t.Errorf("CountNotifications since, mentions = %d, want 1", n)
	}
	if n := must(s.CountNotifications(ctx, "news", 0, nil, 2))(t); n != 2 {
		t.Errorf("CountNotifications limit 2 = %d", n)
	}

	// A muted actor's notifications are hidden, and back when unmuted.
	must(s.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: eve, Kind: storage.BlockKindMute}))(t)
	if got := notificationIDs(must(s.ListNotifications(ctx, storage.NotificationPage{Account: "news", Limit: 10}))(t)); !slices.Equal(got, []int64{made[1], made[0]}) {
		t.Errorf("with eve muted: %v", got)
	}
	_, err = s.GetNotification(ctx, "news", made[3])
	wantErr(t, err, storage.ErrNotFound)
	must(s.DeleteAccountBlock(ctx, "news", eve, storage.BlockKindMute))(t)

	// Dismiss one, undo another, clear the rest.
	check(t, s.DismissNotification(ctx, "news", made[1], now))
	wantErr(t, s.DismissNotification(ctx, "news", made[1], now), storage.ErrNotFound)
	wantErr(t, s.DismissNotification(ctx, "news", made[4], now), storage.ErrNotFound) // mayor's
	if n := must(s.DeleteNotificationsByActivity(ctx, bob, "https://evil.example/announces/1"))(t); n != 0 {
		t.Errorf("an Undo by another actor removed %d notifications", n)
	}
	if n := must(s.DeleteNotificationsByActivity(ctx, eve, "https://evil.example/announces/1"))(t); n != 1 {
		t.Errorf("DeleteNotificationsByActivity = %d, want 1", n)
	}
	if n := must(s.DismissNotificationsFromDomains(ctx, "news", []string{"EVIL.example"}, now))(t); n != 1 {
		t.Errorf("DismissNotificationsFromDomains = %d, want 1", n)
	}
	if got := notificationIDs(must(s.ListNotifications(ctx, storage.NotificationPage{Account: "news", Limit: 10}))(t)); !slices.Equal(got, []int64{made[0]}) {
		t.Errorf("after dismissals: %v", got)
	}
	if n := must(s.ClearNotifications(ctx, "news", now))(t); n != 1 {
		t.Errorf("ClearNotifications = %d, want 1", n)
	}
	if got := must(s.ListNotifications(ctx, storage.NotificationPage{Account: "news", Limit: 10}))(t); len(got) != 0 {
		t.Errorf("after clear: %v", notificationIDs(got))
	}
	if got := must(s.ListNotifications(ctx, storage.NotificationPage{Account: "mayor", Limit: 10}))(t); len(got) != 1 {
		t.Errorf("clearing news cleared mayor's: %v", notificationIDs(got))
	}
}

func testNotificationStats(t *testing.T, s storage.Store) {
	ctx := context.Background()
	width := 10 * time.Minute
	start := base().Truncate(width).Add(-time.Hour)
	mention := storage.NotificationMention
	type row struct {
		at     time.Duration
		actor  string
		domain string
		typ    string
	}
	rows := []row{
		{0, "https://a.example/u/1", "a.example", mention},
		{time.Minute, "https://a.example/u/1", "a.example", mention},
		{2 * time.Minute, "https://a.example/u/2", "a.example", mention},
		{3 * time.Minute, "https://b.example/u/1", "b.example", mention},
		{4 * time.Minute, "https://b.example/u/1", "b.example", storage.NotificationFavourite},
		{30 * time.Minute, "https://c.example/u/1", "c.example", mention},
		// Bluesky accounts (DIDs; their handle as domain): one origin.
		{5 * time.Minute, "did:plc:raider1", "raider1.bsky.social", mention},
		{6 * time.Minute, "did:plc:raider2", "raider2.example.com", mention},
		{7 * time.Minute, "did:plc:raider2", "raider2.example.com", mention},
	}
	for i, r := range rows {
		n := notification("news", r.typ, "https://x.example/"+string(rune('a'+i)), r.actor, r.domain, start.Add(r.at))
		must2(s.InsertNotification(ctx, n))(t)
	}
	must2(s.InsertNotification(ctx, notification("mayor", mention, "https://x.example/m", "https://a.example/u/1", "a.example", start)))(t)

	buckets := must(s.NotificationBuckets(ctx, "news", []string{mention}, start, width))(t)
	want := []storage.NotificationBucket{
		{Start: start, Notifications: 7, Actors: 5, Domains: 4},
		{Start: start.Add(30 * time.Minute), Notifications: 1, Actors: 1, Domains: 1},
	}
	if len(buckets) != len(want) {
		t.Fatalf("NotificationBuckets = %+v, want %+v", buckets, want)
	}
	for i := range want {
		if !buckets[i].Start.Equal(want[i].Start) || buckets[i].Notifications != want[i].Notifications ||
			buckets[i].Actors != want[i].Actors || buckets[i].Domains != want[i].Domains {
			t.Errorf("bucket %d = %+v, want %+v", i, buckets[i], want[i])
		}
	}
	if all := must(s.NotificationBuckets(ctx, "news", nil, start, width))(t); len(all) != 2 || all[0].Notifications != 8 {
		t.Errorf("NotificationBuckets of all types = %+v", all)
	}
	if _, err := s.NotificationBuckets(ctx, "news", nil, start, 0); err == nil {
		t.Error("NotificationBuckets with a zero width succeeded")
	}

	domains := must(s.NotificationDomains(ctx, "news", []string{mention}, start, start.Add(width)))(t)
	wantD := []storage.DomainCount{{Domain: "", Notifications: 3, Actors: 2, Bluesky: true},
		{Domain: "a.example", Notifications: 3, Actors: 2}, {Domain: "b.example", Notifications: 1, Actors: 1}}
	if !slices.Equal(domains, wantD) {
		t.Errorf("NotificationDomains = %+v, want %+v", domains, wantD)
	}
}

func testAccountBlocks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	bob := "https://remote.example/users/bob"
	if !must(s.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: bob, Kind: storage.BlockKindBlock, CreatedAt: now}))(t) {
		t.Error("first block not created")
	}
	if must(s.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: bob, Kind: storage.BlockKindBlock}))(t) {
		t.Error("second block created")
	}
	must(s.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: bob, Kind: storage.BlockKindMute}))(t)
	if k := must(s.AccountBlockKinds(ctx, "news", bob))(t); !slices.Equal(k, []string{"block", "mute"}) {
		t.Errorf("AccountBlockKinds = %v", k)
	}
	if k := must(s.AccountBlockKinds(ctx, "mayor", bob))(t); len(k) != 0 {
		t.Errorf("another account's kinds = %v", k)
	}
	bl := must(s.ListAccountBlocks(ctx, "news", storage.BlockKindBlock))(t)
	if len(bl) != 1 || bl[0].ActorID != bob || !bl[0].CreatedAt.Equal(now) {
		t.Errorf("ListAccountBlocks = %+v", bl)
	}
	if !must(s.DeleteAccountBlock(ctx, "news", bob, storage.BlockKindBlock))(t) {
		t.Error("DeleteAccountBlock found nothing")
	}
	if must(s.DeleteAccountBlock(ctx, "news", bob, storage.BlockKindBlock))(t) {
		t.Error("second DeleteAccountBlock found the block")
	}
	if k := must(s.AccountBlockKinds(ctx, "news", bob))(t); !slices.Equal(k, []string{"mute"}) {
		t.Errorf("after unblock = %v", k)
	}
}

func testReports(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	r := storage.Report{ActivityID: "https://remote.example/flags/1", Account: "news", ReporterID: "https://remote.example/actor",
		Targets: []string{"https://city.example/users/news", "https://city.example/users/news/statuses/1"}, Comment: "spam", CreatedAt: now}
	id1, created := must2(s.InsertReport(ctx, r))(t)
	if !created {
		t.Fatal("report not created")
	}
	if id, created := must2(s.InsertReport(ctx, r))(t); created || id != id1 {
		t.Errorf("duplicate report: %d %v", id, created)
	}
	r2 := r
	r2.ActivityID, r2.Targets, r2.Comment = "https://remote.example/flags/2", nil, ""
	id2, _ := must2(s.InsertReport(ctx, r2))(t)
	got := must(s.ListReports(ctx, 0, 10))(t)
	if len(got) != 2 || got[0].ID != id2 || got[1].ID != id1 {
		t.Fatalf("ListReports = %+v", got)
	}
	if !slices.Equal(got[1].Targets, r.Targets) || got[1].Comment != "spam" || got[1].Account != "news" || !got[1].CreatedAt.Equal(now) {
		t.Errorf("report = %+v", got[1])
	}
	if len(got[0].Targets) != 0 {
		t.Errorf("targets of a report without any = %v", got[0].Targets)
	}
	if older := must(s.ListReports(ctx, id2, 10))(t); len(older) != 1 || older[0].ID != id1 {
		t.Errorf("ListReports before %d = %+v", id2, older)
	}
}

func testFilters(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	f := storage.Filter{Account: "news", Title: "Raid words", Context: []string{"notifications", "thread"}, Action: "hide",
		Keywords: []storage.FilterKeyword{{Keyword: "spam"}, {Keyword: "scam", WholeWord: true}}, CreatedAt: base()}
	id := must(s.InsertFilter(ctx, f))(t)
	empty := must(s.InsertFilter(ctx, storage.Filter{Account: "news", Title: "Empty", Context: []string{"home"}, Action: "warn",
		ExpiresAt: now.Add(time.Hour)}))(t)
	must(s.InsertFilter(ctx, storage.Filter{Account: "mayor", Title: "Other", Context: []string{"home"}, Action: "warn"}))(t)

	got := must(s.GetFilter(ctx, "news", id))(t)
	if got.Title != f.Title || !slices.Equal(got.Context, f.Context) || got.Action != "hide" || len(got.Keywords) != 2 ||
		got.Keywords[0].Keyword != "spam" || got.Keywords[0].WholeWord || !got.Keywords[1].WholeWord || got.Keywords[1].ID == 0 {
		t.Errorf("GetFilter = %+v", got)
	}
	_, err := s.GetFilter(ctx, "mayor", id)
	wantErr(t, err, storage.ErrNotFound)
	list := must(s.ListFilters(ctx, "news"))(t)
	if len(list) != 2 || list[0].ID != id || list[1].ID != empty || len(list[1].Keywords) != 0 || !list[1].ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Errorf("ListFilters = %+v", list)
	}

	got.Title, got.Keywords = "Renamed", []storage.FilterKeyword{{Keyword: "fraud"}}
	check(t, s.UpdateFilter(ctx, got))
	if g := must(s.GetFilter(ctx, "news", id))(t); g.Title != "Renamed" || len(g.Keywords) != 1 || g.Keywords[0].Keyword != "fraud" {
		t.Errorf("after UpdateFilter = %+v", g)
	}
	got.Account = "mayor"
	wantErr(t, s.UpdateFilter(ctx, got), storage.ErrNotFound)

	check(t, s.DeleteFilter(ctx, "news", id))
	wantErr(t, s.DeleteFilter(ctx, "news", id), storage.ErrNotFound)
	if list := must(s.ListFilters(ctx, "news"))(t); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}
}

func testStatusPolicies(t *testing.T, s storage.Store) {
	ctx := context.Background()
	_, err := s.GetStatusPolicy(ctx, 1)
	wantErr(t, err, storage.ErrNotFound)
	check(t, s.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: 1, Replies: "mentioned"}))
	check(t, s.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: 1, Replies: "nobody", Quotes: "disallow"}))
	if got := must(s.GetStatusPolicy(ctx, 1))(t); got != (storage.StatusPolicy{StatusID: 1, Replies: "nobody", Quotes: "disallow"}) {
		t.Errorf("GetStatusPolicy = %+v", got)
	}
}

func testInteractionAuthorizations(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	qa := storage.InteractionAuthorization{Kind: storage.AuthorizationQuote, StatusID: 42, Account: "news",
		InteractionID: "https://remote.example/notes/q", ActorID: "https://remote.example/users/bob",
		RequestID: "https://remote.example/quote-requests/1", CreatedAt: now}
	first, created, err := s.PutInteractionAuthorization(ctx, qa)
	check(t, err)
	if !created || first.ID == 0 || first.Kind != storage.AuthorizationQuote || first.InteractionID != qa.InteractionID || first.RequestID != qa.RequestID {
		t.Fatalf("PutInteractionAuthorization = %+v, %v", first, created)
	}
	again := qa
	again.RequestID = "https://remote.example/quote-requests/2"
	second, created, err := s.PutInteractionAuthorization(ctx, again)
	check(t, err)
	if created || second.ID != first.ID || second.RequestID != qa.RequestID {
		t.Errorf("second PutInteractionAuthorization = %+v, %v; want the first, not created", second, created)
	}
	if got := must(s.GetInteractionAuthorization(ctx, first.ID))(t); got != first || !got.CreatedAt.Equal(now) {
		t.Errorf("GetInteractionAuthorization = %+v, want %+v", got, first)
	}
	// Replies, likes and boosts: one per interaction with a post, the
	// request optional.
	kinds := []storage.InteractionAuthorization{
		{Kind: storage.AuthorizationReply, StatusID: 42, Account: "news", InteractionID: "https://remote.example/notes/r",
			ActorID: "https://remote.example/users/bob", RequestID: "https://remote.example/reply-requests/1"},
		{Kind: storage.AuthorizationLike, StatusID: 42, Account: "news", InteractionID: "https://remote.example/likes/1",
			ActorID: "https://remote.example/users/bob"},
		{Kind: storage.AuthorizationAnnounce, StatusID: 43, Account: "news", InteractionID: "https://remote.example/notes/q",
			ActorID: "https://remote.example/users/bob"},
	}
	ids := map[int64]bool{first.ID: true}
	for _, a := range kinds {
		got, created, err := s.PutInteractionAuthorization(ctx, a)
		check(t, err)
		if !created || ids[got.ID] || got.Kind != a.Kind || got.StatusID != a.StatusID || got.RequestID != a.RequestID || got.CreatedAt.IsZero() {
			t.Errorf("PutInteractionAuthorization(%s) = %+v, %v", a.Kind, got, created)
		}
		ids[got.ID] = true
		if back := must(s.GetInteractionAuthorization(ctx, got.ID))(t); back != got {
			t.Errorf("GetInteractionAuthorization(%d) = %+v, want %+v", got.ID, back, got)
		}
	}
	_, _, err = s.PutInteractionAuthorization(ctx, storage.InteractionAuthorization{StatusID: 1, InteractionID: "x"})
	if err == nil {
		t.Error("an authorization without a kind was stored")
	}
	_, err = s.GetInteractionAuthorization(ctx, first.ID+100)
	wantErr(t, err, storage.ErrNotFound)
}

// testActorAnnouncements: a digest swapped once whatever the number of
// writers, and a sequence that grows with every announcement.
func testActorAnnouncements(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	_, err := s.GetActorAnnouncement(ctx, "news")
	wantErr(t, err, storage.ErrNotFound)
	seq, swapped, err := s.SwapActorAnnouncement(ctx, "news", "", "aaa", now)
	check(t, err)
	if !swapped || seq != 1 {
		t.Fatalf("first swap = %d, %v", seq, swapped)
	}
	if _, swapped, err := s.SwapActorAnnouncement(ctx, "news", "", "bbb", now); err != nil || swapped {
		t.Errorf("a second first swap = %v, %v; want not swapped", swapped, err)
	}
	if _, swapped, err := s.SwapActorAnnouncement(ctx, "news", "zzz", "bbb", now); err != nil || swapped {
		t.Errorf("swap from a stale digest = %v, %v; want not swapped", swapped, err)
	}
	seq, swapped, err = s.SwapActorAnnouncement(ctx, "news", "aaa", "bbb", now)
	check(t, err)
	if !swapped || seq != 2 {
		t.Errorf("swap aaa -> bbb = %d, %v", seq, swapped)
	}
	later := now.Add(time.Minute)
	if seq := must(s.BumpActorAnnouncement(ctx, "news", "bbb", later))(t); seq != 3 {
		t.Errorf("bump = %d, want 3", seq)
	}
	if seq := must(s.BumpActorAnnouncement(ctx, "alerts", "ccc", later))(t); seq != 1 {
		t.Errorf("first bump of another account = %d, want 1", seq)
	}
	got := must(s.GetActorAnnouncement(ctx, "news"))(t)
	if got.Digest != "bbb" || got.Seq != 3 || !got.AnnouncedAt.Equal(later) {
		t.Errorf("GetActorAnnouncement = %+v", got)
	}
	// Writers racing from the same digest: one wins.
	var (
		mu   sync.Mutex
		wins int
		wg   sync.WaitGroup
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.InTx(ctx, func(q storage.Queries) error {
				_, swapped, err := q.SwapActorAnnouncement(ctx, "news", "bbb", "ddd", later)
				if swapped {
					mu.Lock()
					wins++
					mu.Unlock()
				}
				return err
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d racing swaps won, want 1", wins)
	}
}

// testInteractionsInTx: what an inbound activity writes in its one
// transaction is all there or not at all.
func testInteractionsInTx(t *testing.T, s storage.Store) {
	ctx := context.Background()
	rs := remoteStatus(2001, "https://remote.example/notes/tx", 42)
	boom := errTest("rolled back")
	err := s.InTx(ctx, func(q storage.Queries) error {
		stored, _, err := q.InsertRemoteStatus(ctx, rs)
		if err != nil {
			return err
		}
		if _, _, err := q.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention,
			ActivityID: rs.NoteID, ActorID: rs.ActorID, ActorDomain: "remote.example", RemoteStatusID: stored.ID, GroupKey: "g"}); err != nil {
			return err
		}
		return boom
	})
	wantErr(t, err, boom)
	_, err = s.GetRemoteStatusByNoteID(ctx, rs.NoteID)
	wantErr(t, err, storage.ErrNotFound)
	if n := must(s.CountNotifications(ctx, "news", 0, nil, 0))(t); n != 0 {
		t.Errorf("%d notifications after a rolled back transaction", n)
	}
	check(t, s.InTx(ctx, func(q storage.Queries) error {
		stored, _, err := q.InsertRemoteStatus(ctx, rs)
		if err != nil {
			return err
		}
		_, _, err = q.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention,
			ActivityID: rs.NoteID, ActorID: rs.ActorID, ActorDomain: "remote.example", RemoteStatusID: stored.ID, GroupKey: "g"})
		if err != nil {
			return err
		}
		_, err = q.DeleteRemoteStatus(ctx, "https://remote.example/notes/absent", base())
		return err
	}))
	if n := must(s.CountNotifications(ctx, "news", 0, nil, 0))(t); n != 1 {
		t.Errorf("%d notifications after a committed transaction, want 1", n)
	}
}

type errTest string

func (e errTest) Error() string { return string(e) }

func testStatusCounts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	a := insertStatus(t, s, newStatus("news", "a", storage.VisibilityPublic))
	b := insertStatus(t, s, newStatus("news", "b", storage.VisibilityPublic))
	c := insertStatus(t, s, newStatus("news", "c", storage.VisibilityPublic))
	reply := newStatus("news", "a, 2/2", storage.VisibilityPublic)
	reply.InReplyToID = a
	insertStatus(t, s, reply)
	deletedReply := newStatus("news", "a, 3/3", storage.VisibilityPublic)
	deletedReply.InReplyToID = a
	dr := insertStatus(t, s, deletedReply)
	check(t, s.DeleteStatus(ctx, "news", dr, now))
	for i, del := range []bool{false, false, true} {
		rs := storage.RemoteStatus{ID: int64(1000 + i), NoteID: "https://remote.example/notes/" + string(rune('a'+i)),
			ActorID: "https://remote.example/users/bob", Visibility: storage.VisibilityPublic, InReplyToID: a, CreatedAt: now}
		must2(s.InsertRemoteStatus(ctx, rs))(t)
		if del {
			must(s.DeleteRemoteStatus(ctx, rs.NoteID, now))(t)
		}
	}
	for i, n := range []storage.Notification{
		{Type: storage.NotificationFavourite, ActorID: "https://remote.example/users/x", StatusID: a},
		{Type: storage.NotificationFavourite, ActorID: "https://remote.example/users/y", StatusID: a, DismissedAt: now},
		{Type: storage.NotificationFavourite, ActorID: "https://remote.example/users/x", StatusID: a}, // a second Like of x
		{Type: storage.NotificationReblog, ActorID: "https://remote.example/users/x", StatusID: a},
		{Type: storage.NotificationMention, ActorID: "https://remote.example/users/z", StatusID: a},
		{Type: storage.NotificationReblog, ActorID: "https://remote.example/users/y", StatusID: b},
	} {
		n.Account, n.ActivityID, n.ActorDomain, n.GroupKey, n.CreatedAt = "news", "https://remote.example/act/"+string(rune('a'+i)), "remote.example", "g", now
		must2(s.InsertNotification(ctx, n))(t)
	}
	// From Bluesky (the mirror's reader stores DIDs as actors): a reply,
	// a like and a repost.
	must2(s.InsertRemoteStatus(ctx, storage.RemoteStatus{ID: 1100, NoteID: "at://did:plc:carol/app.bsky.feed.post/1",
		ActorID: "did:plc:carol", Visibility: storage.VisibilityPublic, InReplyToID: b, CreatedAt: now}))(t)
	for i, kind := range []string{storage.NotificationFavourite, storage.NotificationReblog} {
		must2(s.InsertNotification(ctx, storage.Notification{Account: "news", Type: kind, ActorID: "did:plc:carol", StatusID: b,
			ActivityID: "at://did:plc:carol/r/" + string(rune('a'+i)), ActorDomain: "bsky.social", GroupKey: "g", CreatedAt: now}))(t)
	}
	got := must(s.StatusCounts(ctx, []int64{a, b, c}))(t)
	want := map[int64]storage.StatusCounts{
		a: {Replies: 3, Reblogs: 1, Favourites: 2},
		b: {Replies: 1, Reblogs: 2, Favourites: 1, Bluesky: storage.InteractionCounts{Replies: 1, Reblogs: 1, Favourites: 1}},
	}
	if len(got) != len(want) || got[a] != want[a] || got[b] != want[b] {
		t.Errorf("StatusCounts = %+v, want %+v", got, want)
	}
	if got := must(s.StatusCounts(ctx, nil))(t); len(got) != 0 {
		t.Errorf("StatusCounts(nil) = %v", got)
	}
}
