package federation_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// TestFollowLifecycle: our account follows a remote actor (a signed
// Follow reaches its inbox, the follow stays requested), its Accept
// (embedded Follow, or by id alone) accepts it, its posts and boosts then
// fill the home timeline, our following collection lists it, the Undo
// reaches it on unfollow, and a Reject after acceptance ends a follow.
func TestFollowLifecycle(t *testing.T) {
	b := startBridge(t, true)
	ctx := context.Background()
	remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: fedtest.GenerateKeys(t, 2)})
	partner := remote.ActorID(0)

	f, err := b.svc.FollowActor(ctx, "news", partner)
	if err != nil {
		t.Fatal(err)
	}
	if f.State != storage.FollowRequested {
		t.Errorf("state after the Follow = %q, want requested", f.State)
	}
	again, err := b.svc.FollowActor(ctx, "news", partner)
	if err != nil || again.ActivityID != f.ActivityID {
		t.Errorf("following twice = %+v, %v; want the first follow", again, err)
	}
	got := b.deliverAll(t, remote, 1)
	follow := got[0].Activity
	if !got[0].Verified || follow["type"] != "Follow" || follow["id"] != f.ActivityID || follow["object"] != partner || follow["actor"] != b.actor {
		t.Fatalf("delivered: %+v (verified %v, %v)", follow, got[0].Verified, got[0].Err)
	}

	// A post before the Accept is not for the home timeline.
	post := func(i int, n string) string {
		t.Helper()
		note := remote.ActorID(i) + "/notes/" + n
		activity := map[string]any{"type": "Create", "id": note + "/activity", "object": map[string]any{
			"id": note, "type": "Note", "attributedTo": remote.ActorID(i), "content": "<p>Post " + n + `<script>x()</script></p>`,
			"to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "published": time.Now().UTC().Format(time.RFC3339)}}
		b.signedPost(t, remote, i, activity)
		return note
	}
	early := post(0, "early")
	if _, err := b.store.GetRemoteStatusByNoteID(ctx, early); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("a post of an actor not yet followed was kept: %v", err)
	}

	// The Accept, embedding our Follow as Mastodon does.
	b.signedPost(t, remote, 0, map[string]any{"type": "Accept", "object": follow})
	if st, _ := b.store.GetFollow(ctx, "news", partner); st.State != storage.FollowAccepted {
		t.Fatalf("after the Accept: %+v", st)
	}
	// An Accept of it by another actor changes nothing of it.
	b.signedPostStatus(t, remote, 1, map[string]any{"type": "Accept", "object": f.ActivityID}, http.StatusForbidden)

	note := post(0, "1")
	rs, err := b.store.GetRemoteStatusByNoteID(ctx, note)
	if err != nil {
		t.Fatalf("the followed actor's post was not kept: %v", err)
	}
	if strings.Contains(rs.ContentHTML, "script") {
		t.Errorf("content not sanitised: %q", rs.ContentHTML)
	}
	post(1, "unfollowed") // actor 1 is not followed: not kept
	b.signedPost(t, remote, 0, map[string]any{"type": "Announce", "id": partner + "/announces/1", "object": note,
		"to": []any{"https://www.w3.org/ns/activitystreams#Public"}})
	home, err := b.store.ListHome(ctx, storage.StatusPage{Account: "news", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(home) != 2 || !home[0].Reblog || home[1].Reblog || home[1].RemoteStatusID != rs.ID {
		t.Errorf("home = %+v, want the boost then the post", home)
	}

	// A boost of a post we do not hold: queued by the inbox, the post
	// fetched by the home.boost job, then in the home timeline; a boost of
	// a post that is not there is given up.
	third := remote.ObjectURL("third")
	if err := remote.SetObject("third", map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": third, "type": "Note", "attributedTo": remote.ActorID(1), "content": "<p>A third party's alert</p>",
		"to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "published": time.Now().UTC().Format(time.RFC3339)}); err != nil {
		t.Fatal(err)
	}
	b.signedPost(t, remote, 0, map[string]any{"type": "Announce", "id": partner + "/announces/2", "object": third,
		"to": []any{"https://www.w3.org/ns/activitystreams#Public"}})
	b.signedPost(t, remote, 0, map[string]any{"type": "Announce", "id": partner + "/announces/3", "object": remote.ObjectURL("missing"),
		"to": []any{"https://www.w3.org/ns/activitystreams#Public"}})
	if _, err := b.store.GetRemoteStatusByNoteID(ctx, third); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("the inbox fetched the boosted post itself: %v", err)
	}
	stopJobs := bridgetest.RunJobs(t, b.store, time.Second, b.svc.RegisterHome)
	var fetched storage.RemoteStatus
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		if fetched, err = b.store.GetRemoteStatusByNoteID(ctx, third); err == nil {
			if home, _ = b.store.ListHome(ctx, storage.StatusPage{Account: "news", Limit: 10}); len(home) == 3 {
				break
			}
		}
	}
	stopJobs()
	if len(home) != 3 || !home[0].Reblog || home[0].RemoteStatusID != fetched.ID || home[0].ActorID != partner {
		t.Errorf("home = %+v, want the fetched post's boost first", home)
	}
	if st, err := b.store.JobStats(ctx, time.Now()); err != nil || st.Failed != 1 {
		t.Errorf("jobs after the boosts: %+v, %v; want the missing post's fetch given up", st, err)
	}

	// The following collection.
	resp, err := http.Get(b.url + "/users/news/following?page=true")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var page struct {
		TotalItems   int64    `json:"totalItems"`
		OrderedItems []string `json:"orderedItems"`
	}
	if err := json.Unmarshal(body, &page); err != nil || page.TotalItems != 1 || len(page.OrderedItems) != 1 || page.OrderedItems[0] != partner {
		t.Errorf("following page = %s (%v)", body, err)
	}

	// Unfollow: the Undo embeds our Follow; the home timeline forgets
	// the actor.
	remote.Reset()
	if err := b.svc.UnfollowActor(ctx, "news", partner); err != nil {
		t.Fatal(err)
	}
	if err := b.svc.UnfollowActor(ctx, "news", partner); err != nil {
		t.Errorf("unfollowing twice: %v", err)
	}
	got = b.deliverAll(t, remote, 1)
	undo := got[0].Activity
	inner, _ := undo["object"].(map[string]any)
	if undo["type"] != "Undo" || inner["id"] != f.ActivityID || inner["type"] != "Follow" || !got[0].Verified {
		t.Errorf("undo delivered: %+v", undo)
	}
	if home, _ := b.store.ListHome(ctx, storage.StatusPage{Account: "news", Limit: 10}); len(home) != 0 {
		t.Errorf("home after unfollow = %+v", home)
	}

	// Follow again; an Accept by id alone; then the Reject of
	// "remove follower".
	remote.Reset()
	f2, err := b.svc.FollowActor(ctx, "news", partner)
	if err != nil {
		t.Fatal(err)
	}
	b.deliverAll(t, remote, 1)
	b.signedPost(t, remote, 0, map[string]any{"type": "Accept", "object": f2.ActivityID})
	if st, _ := b.store.GetFollow(ctx, "news", partner); st.State != storage.FollowAccepted {
		t.Fatalf("after the Accept by id: %+v", st)
	}
	b.signedPost(t, remote, 0, map[string]any{"type": "Reject", "object": map[string]any{"id": f2.ActivityID, "type": "Follow", "actor": b.actor, "object": partner}})
	if _, err := b.store.GetFollow(ctx, "news", partner); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("after the Reject: %v, want no follow", err)
	}
}

// TestFollowNotified: an inbound Follow makes a follow notification, or
// a follow_request one for an account that approves followers by hand;
// both go to the Notifier (Web Push).
func TestFollowNotified(t *testing.T) {
	b := startBridge(t, true)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	b.follow(t, remote, 0, b.actor)
	ns := b.notifications(t, "news")
	if len(ns) != 1 || ns[0].Type != storage.NotificationFollow || ns[0].ActorID != remote.ActorID(0) {
		t.Errorf("notifications = %+v, want one follow", ns)
	}
	if _, err := b.store.GetRemoteProfile(context.Background(), remote.ActorID(0)); err != nil {
		t.Errorf("the follower's profile: %v", err)
	}

	locked := startBridgeWith(t, true, []config.Account{{Username: "news", Type: "Organization", ManuallyApprovesFollowers: true}})
	locked.follow(t, remote, 0, locked.actor)
	if ns := locked.notifications(t, "news"); len(ns) != 1 || ns[0].Type != storage.NotificationFollowRequest {
		t.Errorf("notifications of a locked account = %+v, want one follow_request", ns)
	}
}

func (b *bridge) signedPost(t *testing.T, remote *fedtest.Server, i int, activity map[string]any) {
	t.Helper()
	b.signedPostStatus(t, remote, i, activity, http.StatusAccepted)
}

func (b *bridge) signedPostStatus(t *testing.T, remote *fedtest.Server, i int, activity map[string]any, want int) {
	t.Helper()
	r, err := remote.SignedActivity(i, b.url+"/inbox", activity, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != want {
		t.Fatalf("%s: %d %s, want %d", activity["type"], code, body, want)
	}
}
