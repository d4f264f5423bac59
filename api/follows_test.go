package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// TestFollowAPI: follow (requested until the Accept, idempotent, one
// Follow queued), relationships, the home timeline with the followed
// account's posts and boosts, following and followers lists with Link
// headers, unfollow, and a blocked domain refused with 403.
func TestFollowAPI(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{moderation: func(store storage.Store) api.DomainModerator {
		client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second})
		m, err := moderation.New(ctx, config.Moderation{DomainBlocks: []string{"blocked.example"}}, store, client, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		return m
	}})
	tok := e.token(t, "news", "read write")
	rs := e.knowRemote(t, bob, "bob@remote.example")
	own := mustID(t, e.post(t, tok, map[string][]string{"status": {"Road works"}}))

	before := e.jobStats(t).Pending
	r := e.form(t, http.MethodPost, "/api/v1/accounts/bob@remote.example/follow", tok, nil)
	if rel := r.json(t); r.code != 200 || rel["requested"] != true || rel["following"] != false || rel["id"] != "bob@remote.example" {
		t.Fatalf("follow: %d %s", r.code, r.body)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/accounts/bob@remote.example/follow", tok, nil); r.code != 200 || r.json(t)["requested"] != true {
		t.Errorf("follow again: %d %s", r.code, r.body)
	}
	if n := e.jobStats(t).Pending - before; n != 1 {
		t.Errorf("following twice queued %d jobs, want 1", n)
	}
	// The remote Accept (federation's tests send a real one).
	if err := e.store.SetFollowState(ctx, "news", bob, storage.FollowAccepted, time.Now()); err != nil {
		t.Fatal(err)
	}
	rels := e.get(t, "/api/v1/accounts/relationships?id[]=bob@remote.example", tok).list(t)
	if len(rels) != 1 || rels[0]["following"] != true || rels[0]["requested"] != false || rels[0]["followed_by"] != false {
		t.Errorf("relationships = %v", rels)
	}

	// Home: our post, the followed account's post and its boost.
	if _, err := e.store.InsertHomeEntries(ctx, []storage.HomeEntry{{ID: rs.ID, Account: "news", RemoteStatusID: rs.ID, ActorID: bob, ActivityID: rs.NoteID}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	other := e.remotePost(t, "https://other.example/users/ann", "https://other.example/users/ann/statuses/9", "", storage.VisibilityPublic)
	boostID := time.Now().UnixMilli() << 16
	if _, err := e.store.InsertHomeEntries(ctx, []storage.HomeEntry{{ID: boostID, Account: "news", RemoteStatusID: other.ID, ActorID: bob,
		ActivityID: bob + "/announces/1", Reblog: true, CreatedAt: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	home := e.get(t, "/api/v1/timelines/home", tok)
	list := home.list(t)
	want := []string{fmt.Sprint(boostID), fmt.Sprint(own), fmt.Sprint(rs.ID)}
	if got := ids(list); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("home = %v, want %v (the boost, our post, their older post)", got, want)
	}
	if inner, _ := list[0]["reblog"].(map[string]any); inner == nil || inner["id"] != fmt.Sprint(other.ID) || list[0]["account"].(map[string]any)["id"] != "bob@remote.example" {
		t.Errorf("the boost: %v", list[0])
	}
	if !strings.Contains(home.header.Get("Link"), "max_id="+fmt.Sprint(rs.ID)) {
		t.Errorf("Link = %q", home.header.Get("Link"))
	}
	if got := ids(e.get(t, fmt.Sprintf("/api/v1/timelines/home?max_id=%d&limit=1", boostID), tok).list(t)); fmt.Sprint(got) != fmt.Sprint(want[1:2]) {
		t.Errorf("home max_id = %v, want %v", got, want[1:2])
	}
	if got := ids(e.get(t, fmt.Sprintf("/api/v1/timelines/home?min_id=%d&limit=1", rs.ID), tok).list(t)); fmt.Sprint(got) != fmt.Sprint(want[1:2]) {
		t.Errorf("home min_id = %v, want %v", got, want[1:2])
	}
	// A muted booster's boosts leave the home timeline.
	if r := e.form(t, http.MethodPost, "/api/v1/accounts/bob@remote.example/mute", tok, nil); r.code != 200 {
		t.Fatalf("mute: %d %s", r.code, r.body)
	}
	if got := ids(e.get(t, "/api/v1/timelines/home", tok).list(t)); fmt.Sprint(got) != fmt.Sprint(want[1:2]) {
		t.Errorf("home with bob muted = %v, want %v", got, want[1:2])
	}
	e.form(t, http.MethodPost, "/api/v1/accounts/bob@remote.example/unmute", tok, nil)

	// Following and followers of our account.
	fl := e.get(t, "/api/v1/accounts/news/following", "")
	if got := ids(fl.list(t)); len(got) != 1 || got[0] != "bob@remote.example" || fl.header.Get("Link") == "" {
		t.Errorf("following = %v (Link %q)", got, fl.header.Get("Link"))
	}
	if _, err := e.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: bob, Inbox: bob + "/inbox", State: storage.FollowerAccepted}); err != nil {
		t.Fatal(err)
	}
	if got := ids(e.get(t, "/api/v1/accounts/news/followers", "").list(t)); len(got) != 1 || got[0] != "bob@remote.example" {
		t.Errorf("followers = %v", got)
	}
	if got := e.get(t, "/api/v1/accounts/bob@remote.example/followers", tok).list(t); len(got) != 0 {
		t.Errorf("a remote account's followers = %v, want none (not fetched)", got)
	}
	if rels := e.get(t, "/api/v1/accounts/relationships?id[]=bob@remote.example", tok).list(t); rels[0]["followed_by"] != true {
		t.Errorf("relationships with a follower = %v", rels)
	}

	// Unfollow: the Undo queued, the home timeline forgets bob.
	before = e.jobStats(t).Pending
	if r := e.form(t, http.MethodPost, "/api/v1/accounts/bob@remote.example/unfollow", tok, nil); r.code != 200 || r.json(t)["following"] != false {
		t.Errorf("unfollow: %d %s", r.code, r.body)
	}
	if n := e.jobStats(t).Pending - before; n != 1 {
		t.Errorf("unfollow queued %d jobs, want 1", n)
	}
	if got := ids(e.get(t, "/api/v1/timelines/home", tok).list(t)); fmt.Sprint(got) != fmt.Sprint(want[1:2]) {
		t.Errorf("home after unfollow = %v, want %v", got, want[1:2])
	}

	// A blocked domain: 403, nothing written.
	e.knowRemote(t, "https://blocked.example/users/spam", "spam@blocked.example")
	before = e.jobStats(t).Pending
	r = e.form(t, http.MethodPost, "/api/v1/accounts/spam@blocked.example/follow", tok, nil)
	if r.code != http.StatusForbidden || r.errorText(t) == "" {
		t.Errorf("follow of a blocked domain: %d %s", r.code, r.body)
	}
	if _, err := e.store.GetFollow(ctx, "news", "https://blocked.example/users/spam"); err == nil || e.jobStats(t).Pending != before {
		t.Errorf("follow of a blocked domain written: %v", err)
	}
}

// TestFollowRequests: an account's pending followers are listed, and
// authorized (Accept queued) or rejected (Reject queued, follower gone);
// answering twice changes nothing.
func TestFollowRequests(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	carol, dave := "https://remote.example/users/carol", "https://remote.example/users/dave"
	for _, p := range []struct{ actor, acct string }{{carol, "carol@remote.example"}, {dave, "dave@remote.example"}} {
		e.knowRemote(t, p.actor, p.acct)
		if _, err := e.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: p.actor, Inbox: p.actor + "/inbox",
			FollowActivityID: p.actor + "/follows/1", State: storage.FollowerPending}); err != nil {
			t.Fatal(err)
		}
	}
	if got := ids(e.get(t, "/api/v1/follow_requests", tok).list(t)); len(got) != 2 {
		t.Fatalf("follow_requests = %v", got)
	}
	before := e.jobStats(t).Pending
	for range 2 {
		if r := e.form(t, http.MethodPost, "/api/v1/follow_requests/carol@remote.example/authorize", tok, nil); r.code != 200 || r.json(t)["followed_by"] != true {
			t.Errorf("authorize: %d %s", r.code, r.body)
		}
		if r := e.form(t, http.MethodPost, "/api/v1/follow_requests/dave@remote.example/reject", tok, nil); r.code != 200 || r.json(t)["followed_by"] != false {
			t.Errorf("reject: %d %s", r.code, r.body)
		}
	}
	if n := e.jobStats(t).Pending - before; n != 2 {
		t.Errorf("answers queued %d jobs, want 2 (one Accept, one Reject)", n)
	}
	if got := ids(e.get(t, "/api/v1/follow_requests", tok).list(t)); len(got) != 0 {
		t.Errorf("follow_requests after the answers = %v", got)
	}
	if f, err := e.store.GetFollower(ctx, "news", carol); err != nil || f.State != storage.FollowerAccepted {
		t.Errorf("carol: %+v, %v", f, err)
	}
	if _, err := e.store.GetFollower(ctx, "news", dave); err == nil {
		t.Error("dave still a follower after the reject")
	}
	if r := e.form(t, http.MethodPost, "/api/v1/follow_requests/nobody@remote.example/authorize", tok, nil); r.code != http.StatusNotFound {
		t.Errorf("authorize an unknown account: %d", r.code)
	}
}
