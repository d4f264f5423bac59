package storagetest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// testBlueskyShield: a status's shield keeps its replies setting and its
// hidden replies and detached quotes, the newest within the bounds;
// adding what is there (or only older replies than the bound keeps)
// changes nothing; another status's shield is its own; a rollback leaves
// nothing.
func testBlueskyShield(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	if sh := must(s.GetBlueskyShield(ctx, 7))(t); !sh.Empty() || sh.StatusID != 7 {
		t.Fatalf("GetBlueskyShield before any: %+v, want an empty shield", sh)
	}
	reply := func(i int) storage.ShieldURI {
		return storage.ShieldURI{URI: fmt.Sprintf("at://did:plc:r%d/app.bsky.feed.post/a", i), At: now.Add(time.Duration(i) * time.Second)}
	}
	quote := storage.ShieldURI{URI: "at://did:plc:q/app.bsky.feed.post/q", At: now}
	add := func(c storage.BlueskyShieldChange) bool {
		t.Helper()
		var changed bool
		check(t, s.InTx(ctx, func(q storage.Queries) error {
			var err error
			changed, err = q.AddToBlueskyShield(ctx, c)
			return err
		}))
		return changed
	}
	first := storage.BlueskyShieldChange{StatusID: 7, Account: "news", Replies: "following",
		Hidden: []storage.ShieldURI{reply(1), reply(2), reply(3)}, Detached: []storage.ShieldURI{quote},
		MaxHidden: 3, MaxDetached: 2, At: now}
	if !add(first) {
		t.Error("a first shield: changed false")
	}
	sh := must(s.GetBlueskyShield(ctx, 7))(t)
	if sh.Account != "news" || sh.Replies != "following" || !sh.UpdatedAt.Equal(now) ||
		!slices.Equal(sh.HiddenReplies, []string{reply(3).URI, reply(2).URI, reply(1).URI}) ||
		!slices.Equal(sh.DetachedQuotes, []string{quote.URI}) {
		t.Fatalf("shield = %+v", sh)
	}
	if add(first) {
		t.Error("the same shield again: changed true")
	}
	if add(storage.BlueskyShieldChange{StatusID: 7, Account: "news", Hidden: []storage.ShieldURI{reply(0)}, MaxHidden: 3}) {
		t.Error("a reply older than the three kept: changed true")
	}
	if !add(storage.BlueskyShieldChange{StatusID: 7, Account: "news", Hidden: []storage.ShieldURI{reply(5), reply(4)}, MaxHidden: 3}) {
		t.Error("two newer replies: changed false")
	}
	sh = must(s.GetBlueskyShield(ctx, 7))(t)
	if want := []string{reply(5).URI, reply(4).URI, reply(3).URI}; !slices.Equal(sh.HiddenReplies, want) || sh.Replies != "following" {
		t.Errorf("after newer replies: %+v, want hidden %v and replies kept", sh, want)
	}
	if !add(storage.BlueskyShieldChange{StatusID: 7, Account: "news", Replies: "mentioned"}) {
		t.Error("a narrower replies setting: changed false")
	}
	if sh := must(s.GetBlueskyShield(ctx, 7))(t); sh.Replies != "mentioned" || len(sh.HiddenReplies) != 3 || len(sh.DetachedQuotes) != 1 {
		t.Errorf("after the replies setting: %+v", sh)
	}
	if sh := must(s.GetBlueskyShield(ctx, 8))(t); !sh.Empty() {
		t.Errorf("another status's shield: %+v", sh)
	}
	// Nothing of a rolled back transaction stays.
	_ = s.InTx(ctx, func(q storage.Queries) error {
		if _, err := q.AddToBlueskyShield(ctx, storage.BlueskyShieldChange{StatusID: 8, Account: "news", Replies: "nobody",
			Detached: []storage.ShieldURI{quote}}); err != nil {
			return err
		}
		return fmt.Errorf("rollback")
	})
	if sh := must(s.GetBlueskyShield(ctx, 8))(t); !sh.Empty() {
		t.Errorf("a rolled back shield: %+v", sh)
	}
}

// testNotificationsBetween: an account's notifications of a time span,
// of some types, dismissed ones included, newest first, bounded.
func testNotificationsBetween(t *testing.T, s storage.Store) {
	ctx := context.Background()
	from := base()
	mention := storage.NotificationMention
	for i, n := range []storage.Notification{
		notification("news", mention, "at://a", "did:plc:a", "a.test", from.Add(-time.Second)), // before
		notification("news", mention, "at://b", "did:plc:b", "b.test", from),
		notification("news", storage.NotificationQuote, "at://c", "did:plc:c", "c.test", from.Add(time.Minute)),
		notification("news", storage.NotificationFavourite, "at://d", "did:plc:d", "d.test", from.Add(2*time.Minute)),
		notification("news", mention, "at://e", "did:plc:e", "e.test", from.Add(10*time.Minute)), // at the end: out
		notification("mayor", mention, "at://f", "did:plc:f", "f.test", from.Add(time.Minute)),
	} {
		id, _ := must2(s.InsertNotification(ctx, n))(t)
		if i == 2 {
			check(t, s.DismissNotification(ctx, "news", id, from))
		}
	}
	to := from.Add(10 * time.Minute)
	acts := func(ns []storage.Notification) []string {
		var out []string
		for _, n := range ns {
			out = append(out, n.ActivityID)
		}
		return out
	}
	if got := acts(must(s.ListNotificationsBetween(ctx, "news", []string{mention, storage.NotificationQuote}, from, to, 10))(t)); !slices.Equal(got, []string{"at://c", "at://b"}) {
		t.Errorf("mentions and quotes = %v, want [at://c at://b]", got)
	}
	if got := acts(must(s.ListNotificationsBetween(ctx, "news", nil, from, to, 2))(t)); !slices.Equal(got, []string{"at://d", "at://c"}) {
		t.Errorf("all types, two = %v, want [at://d at://c]", got)
	}
}
