package atproto

import (
	"context"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestShieldRaid: the shield of a raid, without the network: a reply in
// our thread (to its second status) is hidden on the thread's root, a
// quote detached on the status quoted, every Bluesky account of the raid
// blocked (a mention outside our threads, a reply to a Bluesky-only
// answer: blocked, nothing to hide), the fediverse's left alone, the
// thread tightened; one gates job per status changed and one blocks job,
// in the same transaction. Again: nothing added, nothing queued.
func TestShieldRaid(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	m, err := New(Settings{Accounts: []Account{{Username: "news", Bluesky: config.Bluesky{PDSURL: "http://127.0.0.1:9",
		Identifier: "news.test", AppPassword: "x"}}}, HTTPClient: http.DefaultClient}, store, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	m.SetClock(func() time.Time { return now })
	status := func(st storage.Status, gate bool) int64 {
		t.Helper()
		st.Account, st.Visibility, st.CreatedAt = "news", storage.VisibilityPublic, now.Add(-time.Hour)
		id, err := store.InsertStatus(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.BumpBlueskyPost(ctx, id, "news", now); err != nil {
			t.Fatal(err)
		}
		kinds := []string{storage.BlueskyKindPost}
		if gate {
			kinds = append(kinds, storage.BlueskyKindThreadgate)
		}
		for _, k := range kinds {
			if err := store.PutBlueskyRecord(ctx, storage.BlueskyRecord{StatusID: id, Kind: k, Account: "news", RKey: "r",
				URI: "at://did:plc:us/" + k, CID: "c"}); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	root := status(storage.Status{Text: "root"}, true)
	second := status(storage.Status{Text: "second", InReplyToID: root}, false)
	answer := status(storage.Status{Text: "answer", Visibility: storage.VisibilityBluesky}, false)
	notes := []storage.Notification{
		{Type: storage.NotificationMention, ActivityID: "at://did:plc:a/app.bsky.feed.post/1", ActorID: "did:plc:a", StatusID: second},
		{Type: storage.NotificationMention, ActivityID: "at://did:plc:a/app.bsky.feed.post/2", ActorID: "did:plc:a", StatusID: root},
		{Type: storage.NotificationQuote, ActivityID: "at://did:plc:b/app.bsky.feed.post/3", ActorID: "did:plc:b", StatusID: second},
		{Type: storage.NotificationMention, ActivityID: "at://did:plc:c/app.bsky.feed.post/4", ActorID: "did:plc:c"},
		{Type: storage.NotificationMention, ActivityID: "at://did:plc:d/app.bsky.feed.post/5", ActorID: "did:plc:d", StatusID: answer},
		{Type: storage.NotificationMention, ActivityID: "https://fedi.example/notes/6", ActorID: "https://fedi.example/users/e", StatusID: root},
		{Type: storage.NotificationFavourite, ActivityID: "at://did:plc:f/app.bsky.feed.like/7", ActorID: "did:plc:f", StatusID: root},
	}
	for i, n := range notes {
		n.Account, n.ActorDomain, n.GroupKey, n.CreatedAt = "news", "x.test", n.ActivityID, now.Add(-time.Duration(10-i)*time.Minute)
		if _, _, err := store.InsertNotification(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	from, to := now.Add(-time.Hour), now
	res, err := m.ShieldRaid(ctx, "news", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ShieldResult{Threads: 2, HiddenReplies: 2, DetachedQuotes: 1, Accounts: 4, Blocked: 4}); res != want {
		t.Errorf("ShieldRaid = %+v, want %+v", res, want)
	}
	sh, err := store.GetBlueskyShield(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Replies != config.RepliesFollowing || !slices.Equal(sh.HiddenReplies, []string{notes[1].ActivityID, notes[0].ActivityID}) {
		t.Errorf("the root's shield: %+v", sh)
	}
	if sh, _ := store.GetBlueskyShield(ctx, second); sh.Replies != "" || !slices.Equal(sh.DetachedQuotes, []string{notes[2].ActivityID}) || len(sh.HiddenReplies) != 0 {
		t.Errorf("the second status's shield: %+v", sh)
	}
	for _, did := range []string{"did:plc:a", "did:plc:b", "did:plc:c", "did:plc:d"} {
		if kinds, _ := store.AccountBlockKinds(ctx, "news", did); !slices.Equal(kinds, []string{storage.BlockKindBlock}) {
			t.Errorf("%s: blocks %v", did, kinds)
		}
	}
	for _, who := range []string{"https://fedi.example/users/e", "did:plc:f"} {
		if kinds, _ := store.AccountBlockKinds(ctx, "news", who); len(kinds) != 0 {
			t.Errorf("%s (not of the raid) blocked", who)
		}
	}
	jobsOf := func() map[string]int {
		js, err := store.ClaimJobs(ctx, "test", []string{JobKind}, 100, time.Minute, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]int{}
		for _, j := range js {
			out[j.Ref]++
			if err := store.CompleteJob(ctx, j.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}
	got := jobsOf()
	if len(got) != 3 || got["blocks:news:bluesky"] != 1 {
		t.Errorf("jobs queued: %v, want the gates of two statuses and one blocks", got)
	}

	again, err := m.ShieldRaid(ctx, "news", from, to)
	if err != nil {
		t.Fatal(err)
	}
	if again.Threads != 0 || again.Blocked != 0 || again.HiddenReplies != 2 || again.DetachedQuotes != 1 {
		t.Errorf("again: %+v", again)
	}
	if got := jobsOf(); len(got) != 0 {
		t.Errorf("again, jobs queued: %v", got)
	}
}
