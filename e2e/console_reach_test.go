package e2e

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/storage"
)

// TestConsoleReachBluesky: against the reference PDS and AppView, the
// running bridge samples its account's followers at start-up for the
// console's chart: the Bluesky account's followersCount (a follow made on
// Bluesky, read with app.bsky.actor.getProfile through the PDS) next to
// the fediverse's accepted followers, in today's snapshot.
func TestConsoleReachBluesky(t *testing.T) {
	pds := pdstest.StartT(t, pdstest.Options{AppView: true})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	city, err := pds.CreateAccount(ctx, "reachcity.test")
	if err != nil {
		t.Fatal(err)
	}
	alice, err := pds.CreateAccount(ctx, "reachalice.test")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pds.CreateRecord(ctx, alice, "app.bsky.graph.follow",
		map[string]any{"$type": "app.bsky.graph.follow", "subject": city.DID, "createdAt": pdstest.Now()}); err != nil {
		t.Fatal(err)
	}
	// The AppView indexes the follow before the bridge starts (its first
	// sample is taken at start-up, the next 6 hours later).
	var last string
	err = waitFor(ctx, func() bool {
		var out struct {
			FollowersCount int64 `json:"followersCount"`
		}
		err := pds.XRPC(ctx, http.MethodGet, "app.bsky.actor.getProfile", alice.AccessJWT, url.Values{"actor": {city.DID}}, nil, &out)
		if err != nil {
			last = err.Error()
		}
		return err == nil && out.FollowersCount == 1
	})
	if err != nil {
		t.Fatalf("the AppView never counted alice's follow: %v %s", err, last)
	}

	_, cfgPath := startBlueskyBridge(t, pds, city, BlueskyConfig{Handle: "reach.example"})
	t.Setenv("BSKY_APP_PASSWORD", city.AppPassword) // the configuration names it
	pub, err := NewPublisher(ctx, cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	today := storage.FunnelDay(time.Now())
	var snaps []storage.FollowerSnapshot
	err = waitFor(ctx, func() bool {
		snaps, err = pub.Store.FollowerSnapshots(ctx, "news", today)
		return err == nil && len(snaps) == 1 && snaps[0].BlueskyOK
	})
	if err != nil || snaps[0].Bluesky != 1 || snaps[0].Fediverse != 0 {
		t.Fatalf("today's follower snapshot: %+v, %v; want 1 on Bluesky, 0 on the fediverse", snaps, err)
	}
}
