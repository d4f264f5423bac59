package federation_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// TestFirstContactEveryKeyShape: a Follow from an actor we have never
// seen is accepted at once, whatever the shape of the document its key id
// answers (issue: GoToSocial's stub without inbox was refused with 401),
// and the Accept reaches the follower's inbox, verified there.
func TestFirstContactEveryKeyShape(t *testing.T) {
	tests := []struct {
		name  string
		shape fedtest.KeyShape
	}{
		{"mastodon fragment", fedtest.KeyShapeMastodon},
		{"gotosocial stub, signed actor fetch", fedtest.KeyShapeGoToSocial},
		{"standalone key document", fedtest.KeyShapeKeyDocument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBridge(t, true)
			remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{KeyShape: tc.shape})
			r, followID, err := remote.SignedFollow(0, b.url+"/inbox", b.actor, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if code, body := send(t, r); code != http.StatusAccepted {
				t.Fatalf("first follow: %d %s", code, body)
			}
			ctx := context.Background()
			f, err := b.store.GetFollower(ctx, "news", remote.ActorID(0))
			if err != nil {
				t.Fatal(err)
			}
			if f.State != storage.FollowerAccepted || f.Inbox != remote.InboxURL(0) || f.SharedInbox != remote.SharedInboxURL() {
				t.Errorf("follower %+v", f)
			}
			// The actor's bio is kept, sanitised, for the client API.
			if p, err := b.store.GetRemoteProfile(ctx, remote.ActorID(0)); err != nil || p.Summary != "<p>Bio of u0</p>" {
				t.Errorf("profile %+v, %v; want the bio sanitised", p, err)
			}
			k, err := b.store.GetRemoteKey(ctx, remote.KeyID(0))
			if err != nil || k.Owner != remote.ActorID(0) {
				t.Errorf("stored key %+v, %v; want owner %s", k, err, remote.ActorID(0))
			}
			if tc.shape == fedtest.KeyShapeGoToSocial {
				// The full actor answers only signed GETs: it was fetched
				// signed, by the instance actor.
				signed := false
				for _, f := range remote.Fetches() {
					if f.Path == "/users/u0" && f.KeyID != "" && f.Verified {
						signed = true
					}
				}
				if !signed {
					t.Errorf("no verified signed fetch of the actor: %+v", remote.Fetches())
				}
			}

			runCtx, cancel := context.WithCancel(ctx)
			done := make(chan error, 1)
			go func() { done <- b.svc.NewDeliverer(2).Run(runCtx, time.Second) }()
			ok := remote.WaitFor(1, 10*time.Second)
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !ok {
				t.Fatal("no Accept received")
			}
			d := remote.Received()[0]
			obj, _ := d.Activity["object"].(map[string]any)
			if !d.Verified || d.Activity["type"] != "Accept" || obj["id"] != followID {
				t.Errorf("delivery verified=%v (%v) %v", d.Verified, d.Err, d.Activity)
			}

			// A like of the actor's next activity needs no new fetch.
			fetches := len(remote.Fetches())
			r, err = remote.SignedActivity(0, b.url+"/inbox", map[string]any{"type": "Undo",
				"object": map[string]any{"id": followID, "type": "Follow", "actor": remote.ActorID(0), "object": b.actor}}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if code, body := send(t, r); code != http.StatusAccepted {
				t.Fatalf("undo: %d %s", code, body)
			}
			if n := len(remote.Fetches()); n != fetches {
				t.Errorf("%d more fetches for a known key", n-fetches)
			}
			if n := b.followers(t); n != 0 {
				t.Errorf("%d followers after Undo", n)
			}
		})
	}
}
