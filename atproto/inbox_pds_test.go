package atproto

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// TestAppViewInbox: against the reference PDS and AppView, a mirrored
// post's reply (with a link, a mention and a tag), a mention, a quote, a
// like, a repost and a follow by a Bluesky account become the account's
// notifications, the reply is in the status's replies and the counts add
// Bluesky's; an account blocked in the app is dropped; polling again, or
// from a new process, adds nothing; the seenAt is sent; an AppView outage
// fails the poll (and only the poll), and after it the notifications,
// indexed again, are not duplicated.
func TestAppViewInbox(t *testing.T) {
	srv := pdstest.StartT(t, pdstest.Options{AppView: true})
	e := newEnv(t, srv, envOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	st := e.post(publish.Draft{Text: "Travaux rue principale cette semaine"})
	e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
	ours := e.records(collPost)[0]
	ref := map[string]string{"uri": ours.URI, "cid": ours.CID}

	alice, err := srv.CreateAccount(ctx, newHandle("alice"))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := srv.CreateAccount(ctx, newHandle("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: bob.DID, Kind: storage.BlockKindBlock}); err != nil {
		t.Fatal(err)
	}
	create := func(who pdstest.Account, coll string, rec map[string]any) pdstest.Record {
		t.Helper()
		rec["$type"], rec["createdAt"] = coll, pdstest.Now()
		r, err := srv.CreateRecord(ctx, who, coll, rec)
		if err != nil {
			t.Fatalf("%s by %s: %v", coll, who.Handle, err)
		}
		return r
	}
	mention := "@" + e.acct.Handle
	text := "Merci " + mention + " ! Détails https://ville.example/travaux #travaux"
	facets := []map[string]any{
		facetAt(text, mention, map[string]any{"$type": "app.bsky.richtext.facet#mention", "did": e.acct.DID}),
		facetAt(text, "https://ville.example/travaux", map[string]any{"$type": "app.bsky.richtext.facet#link", "uri": "https://ville.example/travaux"}),
		facetAt(text, "#travaux", map[string]any{"$type": "app.bsky.richtext.facet#tag", "tag": "travaux"}),
		{"index": map[string]int{"byteStart": 2, "byteEnd": 4000}, "features": []map[string]any{{"$type": "app.bsky.richtext.facet#link", "uri": "https://bad.example"}}},
	}
	reply := create(alice, "app.bsky.feed.post", map[string]any{"text": text, "facets": facets, "langs": []string{"fr"},
		"reply": map[string]any{"root": ref, "parent": ref}})
	create(alice, "app.bsky.feed.like", map[string]any{"subject": ref})
	create(alice, "app.bsky.feed.repost", map[string]any{"subject": ref})
	create(alice, "app.bsky.graph.follow", map[string]any{"subject": e.acct.DID})
	quote := create(alice, "app.bsky.feed.post", map[string]any{"text": "À lire",
		"embed": map[string]any{"$type": "app.bsky.embed.record", "record": ref}})
	mtext := "Question pour " + mention
	create(alice, "app.bsky.feed.post", map[string]any{"text": mtext,
		"facets": []map[string]any{facetAt(mtext, mention, map[string]any{"$type": "app.bsky.richtext.facet#mention", "did": e.acct.DID})}})
	create(bob, "app.bsky.feed.post", map[string]any{"text": "raid", "reply": map[string]any{"root": ref, "parent": ref}})
	create(bob, "app.bsky.feed.like", map[string]any{"subject": ref})

	want := map[string]int{storage.NotificationMention: 2, storage.NotificationQuote: 1, storage.NotificationFavourite: 1,
		storage.NotificationReblog: 1, storage.NotificationFollow: 1}
	got := waitNotifications(t, e, ctx, 6)
	counts := map[string]int{}
	for _, n := range got {
		counts[n.Type]++
		if n.ActorID != alice.DID {
			t.Errorf("notification %s from %s, want only alice's (bob is blocked)", n.Type, n.ActorID)
		}
	}
	for k, v := range want {
		if counts[k] != v {
			t.Errorf("%d %s notifications, want %d (all: %v)", counts[k], k, v, counts)
		}
	}

	replies, err := e.store.ListReplies(ctx, st.ID, 10)
	if err != nil || len(replies) != 1 {
		t.Fatalf("replies to the status: %+v, %v; want alice's", replies, err)
	}
	r := replies[0]
	for _, part := range []string{
		`<a href="https://bsky.app/profile/` + e.acct.DID + `" class="u-url mention"`, mention + "</a>",
		`<a href="https://ville.example/travaux"`, `<a href="https://bsky.app/hashtag/travaux" class="mention hashtag"`,
	} {
		if !strings.Contains(r.ContentHTML, part) {
			t.Errorf("reply HTML %q lacks %q", r.ContentHTML, part)
		}
	}
	if strings.Contains(r.ContentHTML, "bad.example") || r.NoteID != reply.URI || r.Language != "fr" ||
		!strings.HasPrefix(r.URL, "https://bsky.app/profile/"+alice.DID+"/post/") {
		t.Errorf("reply stored as %+v", r)
	}
	if q, err := e.store.GetRemoteStatusByNoteID(ctx, quote.URI); err != nil || q.QuoteOfID != st.ID {
		t.Errorf("quote stored as %+v, %v", q, err)
	}
	if p, err := e.store.GetRemoteProfile(ctx, alice.DID); err != nil || p.Acct != alice.Handle || p.Domain != alice.Handle {
		t.Errorf("alice's profile: %+v, %v", p, err)
	}
	c, err := e.store.StatusCounts(ctx, []int64{st.ID})
	bsky := storage.InteractionCounts{Replies: 1, Reblogs: 1, Favourites: 1} // all from Bluesky
	if err != nil || c[st.ID] != (storage.StatusCounts{Replies: 1, Reblogs: 1, Favourites: 1, Bluesky: bsky}) {
		t.Errorf("counts %+v, %v", c[st.ID], err)
	}
	// The account's follower count, as the AppView has it through the
	// PDS (the console's follower chart): alice follows.
	var followers int64
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		followers, err = e.mirror.FollowersCount(ctx, "news")
		if (err == nil && followers == 1) || time.Now().After(deadline) {
			break
		}
	}
	if err != nil || followers != 1 {
		t.Errorf("FollowersCount = %d, %v; want alice's follow", followers, err)
	}

	// Again, and from a new process: nothing more.
	if res, err := e.mirror.PollInbox(ctx, "news"); err != nil || res.Created != 0 {
		t.Errorf("second poll: %+v, %v", res, err)
	}
	e.halt()
	e2 := newEnv(t, srv, envOptions{account: &e.acct, store: e.store, noRun: true})
	if res, err := e2.mirror.PollInbox(ctx, "news"); err != nil || res.Created != 0 {
		t.Errorf("poll after a restart: %+v, %v", res, err)
	}
	// The seenAt was sent: nothing unread on Bluesky.
	var unread struct {
		Count int `json:"count"`
	}
	if err := srv.XRPC(ctx, http.MethodGet, "app.bsky.notification.getUnreadCount", e.acct.AccessJWT, nil, nil, &unread); err != nil || unread.Count != 0 {
		t.Errorf("unread on Bluesky: %+v, %v", unread, err)
	}

	// The AppView down: the poll fails, and says so.
	srv.StopAppView()
	if _, err := e2.mirror.PollInbox(ctx, "news"); err == nil {
		t.Error("a poll with the AppView down succeeded")
	}
	if in, err := e.store.GetBlueskyInbox(ctx, "news"); err != nil || in.Failures != 1 || in.LastError == "" {
		t.Errorf("inbox state after the failed poll: %+v, %v", in, err)
	}
	// Back (its index rebuilt from the firehose, with new indexedAt):
	// nothing twice.
	if err := srv.StartAppView(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(4 * time.Minute) // a loaded machine indexes slowly
	for {
		res, err := e2.mirror.PollInbox(ctx, "news")
		if err == nil && res.Read > 0 {
			if res.Created != 0 {
				t.Errorf("after the outage: %+v, want nothing created", res)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage: %+v, %v", res, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	if n := len(listAll(t, e)); n != 6 {
		t.Errorf("%d notifications after the outage, want 6", n)
	}
	if in, _ := e.store.GetBlueskyInbox(ctx, "news"); in.Failures != 0 {
		t.Errorf("failures not reset: %+v", in)
	}
}

// facetAt is a facet over the first occurrence of part in text.
func facetAt(text, part string, feature map[string]any) map[string]any {
	i := strings.Index(text, part)
	return map[string]any{"index": map[string]int{"byteStart": i, "byteEnd": i + len(part)}, "features": []map[string]any{feature}}
}

func listAll(t *testing.T, e *env) []storage.Notification {
	t.Helper()
	ns, err := e.store.ListNotifications(e.ctx, storage.NotificationPage{Account: "news", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// waitNotifications polls until the account has n notifications (the
// AppView indexes the firehose in the background).
func waitNotifications(t *testing.T, e *env, ctx context.Context, n int) []storage.Notification {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute) // a loaded machine indexes slowly
	for {
		if _, err := e.mirror.PollInbox(ctx, "news"); err != nil {
			t.Logf("poll: %v", err)
		}
		got := listAll(t, e)
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(300 * time.Millisecond)
	}
}
