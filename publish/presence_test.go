package publish_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// remotePost stores a post of the remote actor i, as search keeps one.
func remotePost(t *testing.T, e *env, remote *fedtest.Server, i int, name, visibility string) storage.RemoteStatus {
	t.Helper()
	rs, _, err := e.store.InsertRemoteStatus(context.Background(), storage.RemoteStatus{
		ID: time.Now().UnixMilli() << 16, NoteID: remote.ActorID(i) + "/statuses/" + name, ActorID: remote.ActorID(i),
		ContentHTML: "<p>Flood warning</p>", Visibility: visibility, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// TestReplyToRemotePost: the reply names the remote post, mentions and
// addresses its author (though its text does not), reaches the author's
// server and the followers'; an edit keeps the author mentioned and the
// earlier version.
func TestReplyToRemotePost(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	keys := fedtest.GenerateKeys(t, 1)
	author := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	fans := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: keys})
	e.follow(t, fans)
	rs := remotePost(t, e, author, 0, "1", storage.VisibilityPublic)

	st, err := e.pub.Create(ctx, "news", publish.Draft{Text: "Thanks, we share it.", InReplyToID: rs.ID})
	if err != nil {
		t.Fatal(err)
	}
	if st.InReplyToID != 0 || st.InReplyToRemoteID != rs.ID || st.InReplyToURI != rs.NoteID ||
		len(st.Mentions) != 1 || st.Mentions[0].ActorID != author.ActorID(0) || st.Mentions[0].Inbox != author.SharedInboxURL() {
		t.Fatalf("reply = %+v", st)
	}
	e.deliver(t, 1, author, fans)
	for _, r := range []*fedtest.Server{author, fans} {
		d := r.Received()[0]
		obj, _ := d.Activity["object"].(map[string]any)
		if !d.Verified || d.Activity["type"] != "Create" || obj["inReplyTo"] != rs.NoteID {
			t.Errorf("%s received %v (verified %v), want the Create of the reply to %s", r.Host(), d.Activity["type"], d.Verified, rs.NoteID)
		}
		if cc, _ := obj["cc"].([]any); !containsAny(cc, author.ActorID(0)) {
			t.Errorf("the reply's cc %v does not address the author", obj["cc"])
		}
	}

	edited, err := e.pub.Edit(ctx, "news", st.ID, publish.Draft{Text: "Thanks, we shared it."})
	if err != nil {
		t.Fatal(err)
	}
	if len(edited.Mentions) != 1 || edited.Mentions[0].ActorID != author.ActorID(0) || edited.InReplyToURI != rs.NoteID {
		t.Errorf("after the edit: mentions %+v, in reply to %q", edited.Mentions, edited.InReplyToURI)
	}
	versions, err := e.store.ListStatusEdits(ctx, st.ID)
	if err != nil || len(versions) != 1 || versions[0].Text != "Thanks, we share it." || !versions[0].CreatedAt.Equal(st.CreatedAt) {
		t.Errorf("kept versions = %+v, %v", versions, err)
	}
}

// TestDirectReply: a direct reply goes to the author alone.
func TestDirectReply(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	keys := fedtest.GenerateKeys(t, 1)
	author := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	fans := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: keys})
	e.follow(t, fans)
	rs := remotePost(t, e, author, 0, "1", storage.VisibilityPublic)
	st, err := e.pub.Create(ctx, "news", publish.Draft{Text: "Privately: call us.", Visibility: "direct", InReplyToID: rs.ID})
	if err != nil {
		t.Fatal(err)
	}
	if st.Visibility != storage.VisibilityDirect {
		t.Fatalf("visibility %q", st.Visibility)
	}
	e.deliver(t, 1, author)
	time.Sleep(300 * time.Millisecond)
	if n := fans.Count(); n != 0 {
		t.Errorf("the followers' server received %d deliveries of a direct reply", n)
	}
}

// TestReactionsAndRefusals: boosts and favourites of remote posts and of
// ours are recorded once and sent; what cannot be seen is not found; a
// followers-only post cannot be boosted; replies to blocked accounts or
// to posts addressed to another account are refused; nothing is written
// by a refusal.
func TestReactionsAndRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	keys := fedtest.GenerateKeys(t, 1)
	author := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: keys})
	rs := remotePost(t, e, author, 0, "1", storage.VisibilityPublic)

	boosted, err := e.pub.Reblog(ctx, "news", rs.ID, true)
	if err != nil {
		t.Fatal(err)
	}
	if boosted.Reaction.ID == 0 || boosted.Reaction.RemoteStatusID != rs.ID || boosted.Reaction.ObjectURI != rs.NoteID {
		t.Errorf("Reblog = %+v", boosted.Reaction)
	}
	if again, err := e.pub.Reblog(ctx, "news", rs.ID, true); err != nil || again.Reaction.ID != boosted.Reaction.ID {
		t.Errorf("second Reblog = %+v, %v; want the first boost", again.Reaction, err)
	}
	if _, err := e.pub.Favourite(ctx, "news", rs.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pub.Reblog(ctx, "news", rs.ID, false); err != nil {
		t.Fatal(err)
	}
	e.deliver(t, 3, author) // Announce, Like, Undo(Announce): each once
	var types []string
	for _, d := range author.Received() {
		types = append(types, d.Activity["type"].(string))
	}
	if len(types) != 3 {
		t.Errorf("the author's server received %v", types)
	}
	kinds, err := e.store.OwnReactionKinds(ctx, "news", []string{rs.NoteID})
	if err != nil || len(kinds[rs.NoteID]) != 1 || kinds[rs.NoteID][0] != storage.NotificationFavourite {
		t.Errorf("reactions left: %v, %v", kinds, err)
	}

	private, err := e.pub.Create(ctx, "news", publish.Draft{Text: "followers", Visibility: "private"})
	if err != nil {
		t.Fatal(err)
	}
	direct := remotePost(t, e, author, 1, "dm", storage.VisibilityDirect)
	if _, _, err := e.store.InsertNotification(ctx, storage.Notification{Account: "mayor", Type: storage.NotificationMention,
		ActivityID: direct.NoteID, ActorID: direct.ActorID, ActorDomain: author.Host(), RemoteStatusID: direct.ID, GroupKey: "g"}); err != nil {
		t.Fatal(err)
	}
	var ve *publish.ValidationError
	n, _ := e.store.CountStatuses(ctx, "news", nil)
	for _, tc := range []struct {
		name    string
		do      func() error
		invalid bool // else not found
	}{
		{"boost of our followers-only post", func() error { _, err := e.pub.Reblog(ctx, "news", private.ID, true); return err }, true},
		{"favourite of another account's followers-only post", func() error { _, err := e.pub.Favourite(ctx, "mayor", private.ID, true); return err }, false},
		{"favourite of a direct post sent to another account", func() error { _, err := e.pub.Favourite(ctx, "news", direct.ID, true); return err }, false},
		{"boost of a post we do not hold", func() error { _, err := e.pub.Reblog(ctx, "news", 987654321, true); return err }, false},
		{"reply to a direct post sent to another account", func() error {
			_, err := e.pub.Create(ctx, "news", publish.Draft{Text: "x", InReplyToID: direct.ID})
			return err
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.do()
			if tc.invalid && !errors.As(err, &ve) || !tc.invalid && !errors.Is(err, publish.ErrNotFound) {
				t.Errorf("err = %v, want invalid %v", err, tc.invalid)
			}
		})
	}
	// mayor may favourite the direct post sent to it.
	if _, err := e.pub.Favourite(ctx, "mayor", direct.ID, true); err != nil {
		t.Errorf("mayor's favourite of the post sent to it: %v", err)
	}
	// A blocked author: no reply, no boost.
	if _, err := e.store.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: author.ActorID(0), Kind: storage.BlockKindBlock}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pub.Create(ctx, "news", publish.Draft{Text: "x", InReplyToID: rs.ID}); !errors.As(err, &ve) {
		t.Errorf("reply to a blocked author: %v", err)
	}
	if _, err := e.pub.Reblog(ctx, "news", rs.ID, true); !errors.Is(err, publish.ErrNotFound) {
		t.Errorf("boost of a blocked author's post: %v", err)
	}
	if after, _ := e.store.CountStatuses(ctx, "news", nil); after != n {
		t.Errorf("refusals wrote %d statuses", after-n)
	}
}

func containsAny(list []any, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
