package e2e

import (
	"testing"
	"time"
)

// TestFedifyFollow (issue 15, "Follow"): from masto.js
// (e2e/masto/follow.mjs), the comms team follows a partner on a real
// Fedify server; Fedify verifies the Follow and accepts it; the partner's
// post reaches the home timeline read by masto.js; the partner follows us
// and masto.js sees the follow notification and a truthful relationship;
// the unfollow reaches Fedify as a verified Undo of our Follow.
func TestFedifyFollow(t *testing.T) {
	dir := mastoDir(t)
	e := startFedifyEnv(t, FirstKnockRFC9421)
	h, peer := e.h, e.peer
	handle := peer.Handle("alice")
	ctx := e.ctx(3 * time.Minute)
	run := func(phase string, env ...string) map[string]any {
		t.Helper()
		return runScript(t, ctx, dir, "follow.mjs", append([]string{"PHASE=" + phase, "BRIDGE_URL=" + e.api.BaseURL, "BRIDGE_TOKEN=" + e.api.Token,
			"NODE_EXTRA_CA_CERTS=" + e.front.CAFile, "PEER_HANDLE=" + handle}, env...)...)
	}

	run("follow")
	follow, err := peer.WaitActivity(e.ctx(30*time.Second), "our Follow", func(a FedifyActivity) bool {
		return a.Type == "Follow" && a.Actor == h.actorID()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !follow.Verified || follow.ObjectID != peer.ActorID("alice") {
		t.Fatalf("Follow: verified %v, object %q", follow.Verified, follow.ObjectID)
	}
	// Fedify accepts it; only then are its posts ours to take.
	run("accepted")
	text := "Partner update " + time.Now().Format("150405.000")
	if _, err := peer.Act(ctx, "broadcast", map[string]any{"handle": "@" + e.handle, "content": text}); err != nil {
		t.Fatalf("the peer's post: %v", err)
	}
	e.follow(t) // alice follows @news (fedify_test.go)
	run("check", "WANT_TEXT="+text)

	run("unfollow")
	undo, err := peer.WaitActivity(e.ctx(30*time.Second), "Undo of our Follow", func(a FedifyActivity) bool {
		return a.Type == "Undo" && a.Actor == h.actorID()
	})
	if err != nil {
		t.Fatal(err)
	}
	if !undo.Verified || idOf(undo.Object) != follow.ID {
		t.Errorf("Undo: verified %v, object %v; want our Follow %s", undo.Verified, undo.Object, follow.ID)
	}
}

// TestFedifyFollowRequests: with manual approval, a Fedify user's Follow
// waits; masto.js lists it in follow_requests (with its follow_request
// notification), authorizes it twice, and the peer receives one verified
// Accept of its Follow.
func TestFedifyFollowRequests(t *testing.T) {
	dir := mastoDir(t)
	e := startFedifyEnv(t, FirstKnockRFC9421, func(c *Config) { c.ManualApproval = true })
	h, peer := e.h, e.peer
	ctx := e.ctx(3 * time.Minute)
	out, err := peer.Act(ctx, "follow", map[string]any{"handle": "@" + e.handle})
	if err != nil {
		t.Fatalf("the peer's Follow: %v", err)
	}
	followID := out["id"]
	runScript(t, ctx, dir, "follow.mjs", "PHASE=requests", "BRIDGE_URL="+e.api.BaseURL, "BRIDGE_TOKEN="+e.api.Token,
		"NODE_EXTRA_CA_CERTS="+e.front.CAFile, "PEER_HANDLE="+peer.Handle("alice"))
	accept, err := peer.WaitActivity(e.ctx(30*time.Second), "Accept of the Follow", func(a FedifyActivity) bool {
		return a.Type == "Accept" && (a.ObjectID == followID || idOf(a.Object) == followID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if !accept.Verified || accept.Actor != h.actorID() {
		t.Fatalf("Accept: verified %v, actor %q", accept.Verified, accept.Actor)
	}
	if state := e.followers(t)[peer.ActorID("alice")]; state != "accepted" {
		t.Errorf("follower state after authorize: %q, want accepted", state)
	}
}
