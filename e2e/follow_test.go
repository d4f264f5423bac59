package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// The follow flow of the issue: 200 remote actors on loopback follow
// @news with signed Follows and each receives a verifiably signed Accept;
// the followers count is 200 and survives a restart; 50 Undo{Follow} bring
// it back down to 150.

func TestFollowFlowSQLite(t *testing.T) {
	testFollowFlow(t, "sqlite", "")
}

func TestFollowFlowPostgres(t *testing.T) {
	dsn := storagetest.PostgresSchema(t) // skips (fails under CI=true) without a database
	testFollowFlow(t, "postgres", dsn)
}

// remoteFollower is one remote actor and the Follow it sent.
type remoteFollower struct {
	srv    *fedtest.Server
	i      int // actor index on srv
	n      int // index among all followers: even ones use the shared inbox
	follow map[string]any
}

func (f *remoteFollower) id() string       { return f.srv.ActorID(f.i) }
func (f *remoteFollower) followID() string { return f.follow["id"].(string) }
func (f *remoteFollower) inboxPath() string {
	return "/users/u" + strconv.Itoa(f.i) + "/inbox"
}

// sendAll builds and POSTs one signed request per follower, 16 at a time;
// every answer must be 202.
func sendAll(t *testing.T, h *harness, fs []*remoteFollower, build func(*remoteFollower) (*http.Request, error)) {
	t.Helper()
	var g errgroup.Group
	g.SetLimit(16)
	for _, f := range fs {
		g.Go(func() error {
			req, err := build(f)
			if err != nil {
				return err
			}
			if err := h.post(req); err != nil {
				return fmt.Errorf("%s: %w", f.id(), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

// signedFollow sends a new Follow of news by f and remembers it.
func signedFollow(h *harness, f *remoteFollower) (*http.Request, error) {
	req, id, err := f.srv.SignedFollow(f.i, h.inbox(f.n), h.actorID(), time.Now())
	if err != nil {
		return nil, err
	}
	// The Follow as fedtest's FollowActivity builds it, for Undo and replays.
	f.follow = map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       id,
		"type":     "Follow",
		"actor":    f.id(),
		"object":   h.actorID(),
	}
	return req, nil
}

// checkAccept requires d to be a verified Accept of f's Follow, signed by
// news and POSTed to f's own inbox.
func checkAccept(h *harness, f *remoteFollower, d fedtest.Delivery) error {
	switch {
	case d.Path != f.inboxPath():
		return fmt.Errorf("Accept POSTed to %s, want the follower's own inbox %s", d.Path, f.inboxPath())
	case !d.Verified || d.Err != nil:
		return fmt.Errorf("Accept signature not verified by the remote: %v", d.Err)
	case d.Signer != h.actorID():
		return fmt.Errorf("Accept signed by %q, want %q", d.Signer, h.actorID())
	case d.Status != http.StatusAccepted:
		return fmt.Errorf("remote answered %d", d.Status)
	case d.Activity["type"] != "Accept":
		return fmt.Errorf("activity type %v, want Accept", d.Activity["type"])
	case idOf(d.Activity["actor"]) != h.actorID():
		return fmt.Errorf("Accept actor %v, want %s", d.Activity["actor"], h.actorID())
	case idOf(d.Activity["object"]) != f.followID():
		return fmt.Errorf("Accept object %v, want the Follow %s", d.Activity["object"], f.followID())
	}
	if obj, ok := d.Activity["object"].(map[string]any); ok {
		if obj["type"] != "Follow" || idOf(obj["actor"]) != f.id() || idOf(obj["object"]) != h.actorID() {
			return fmt.Errorf("Accept embeds %v, want %s's Follow of %s", obj, f.id(), h.actorID())
		}
	}
	return nil
}

// checkAccepts requires exactly one Accept per follower, each checked by
// checkAccept, and nothing else received by the servers.
func checkAccepts(t *testing.T, h *harness, servers []*fedtest.Server, fs []*remoteFollower) {
	t.Helper()
	byPath := map[*fedtest.Server]map[string][]fedtest.Delivery{}
	for _, s := range servers {
		m := map[string][]fedtest.Delivery{}
		got := s.Received()
		for _, d := range got {
			m[d.Path] = append(m[d.Path], d)
		}
		byPath[s] = m
		if len(got) != s.NumActors() {
			t.Errorf("%s received %d requests, want %d (one Accept per actor)", s.URL(), len(got), s.NumActors())
		}
	}
	bad := 0
	for _, f := range fs {
		ds := byPath[f.srv][f.inboxPath()]
		var err error
		if len(ds) != 1 {
			err = fmt.Errorf("received %d Accepts, want 1", len(ds))
		} else {
			err = checkAccept(h, f, ds[0])
		}
		if err != nil {
			if bad++; bad <= 10 {
				t.Errorf("%s: %v", f.id(), err)
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d followers in all with a bad Accept", bad)
	}
	if t.Failed() {
		t.FailNow()
	}
}

// checkFollowers requires the collection to count and list exactly want.
func checkFollowers(t *testing.T, h *harness, want []*remoteFollower) {
	t.Helper()
	if got := h.followersTotal(); got != len(want) {
		t.Fatalf("followers totalItems = %d, want %d", got, len(want))
	}
	ids := h.followerIDs()
	wantIDs := make([]string, len(want))
	for i, f := range want {
		wantIDs[i] = f.id()
	}
	slices.Sort(wantIDs)
	if !slices.IsSorted(ids) {
		t.Errorf("followers pages are not in actor id order")
	}
	slices.Sort(ids)
	if !slices.Equal(ids, wantIDs) {
		t.Fatalf("followers pages list %d ids, want %d; first listed: %v", len(ids), len(wantIDs), ids[:min(len(ids), 3)])
	}
}

func testFollowFlow(t *testing.T, driver, dsn string) {
	h := newHarness(t, driver, dsn, nil)
	h.start()
	keys := keyPool(t)
	servers := []*fedtest.Server{
		fedtest.StartWith(t, "127.0.0.2:0", 100, fedtest.Options{Keys: keys}),
		fedtest.StartWith(t, "127.0.0.3:0", 100, fedtest.Options{Keys: keys}),
	}
	var all []*remoteFollower
	for _, s := range servers {
		for i := range s.NumActors() {
			all = append(all, &remoteFollower{srv: s, i: i, n: len(all)})
		}
	}

	// 200 signed Follows, half to the shared inbox, half to news' inbox.
	start := time.Now()
	sendAll(t, h, all, func(f *remoteFollower) (*http.Request, error) { return signedFollow(h, f) })
	t.Logf("200 Follows answered 202 in %v", time.Since(start))
	for _, s := range servers {
		if !s.WaitFor(s.NumActors(), 30*time.Second) {
			t.Fatalf("%s received %d Accepts in 30 s, want %d", s.URL(), s.Count(), s.NumActors())
		}
	}
	t.Logf("200 Accepts received and verified %v after the first Follow", time.Since(start))
	checkAccepts(t, h, servers, all)
	checkFollowers(t, h, all)

	// The count survives a restart, and the key does not change.
	key := h.publicKeyPEM()
	h.stop()
	h.start()
	checkFollowers(t, h, all)
	if got := h.publicKeyPEM(); got != key {
		t.Fatalf("the actor's public key changed across a restart:\nbefore:\n%s\nafter:\n%s", key, got)
	}

	// 50 Undo{Follow}, embedding the original Follow: 25 per server.
	var undone, kept []*remoteFollower
	for _, f := range all {
		if f.i < 25 {
			undone = append(undone, f)
		} else {
			kept = append(kept, f)
		}
	}
	sendAll(t, h, undone, func(f *remoteFollower) (*http.Request, error) {
		undo := map[string]any{"type": "Undo", "object": f.follow}
		return f.srv.SignedActivity(f.i, h.inbox(f.n), undo, time.Now())
	})
	checkFollowers(t, h, kept)

	// Idempotency: replaying a Follow (same id, fresh signature) is
	// answered 202 and changes nothing, neither for a follower nor for an
	// actor who has since unfollowed (the old Follow must not bring it back).
	replayed := []*remoteFollower{kept[35], undone[0]} // u60 and u0 of the first server
	for _, f := range replayed {
		req, err := f.srv.SignedActivity(f.i, h.inbox(f.n), f.follow, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.post(req); err != nil {
			t.Fatalf("replayed Follow of %s: %v", f.id(), err)
		}
	}
	checkFollowers(t, h, kept)
	// A new Follow (new id) of an unfollowed actor is accepted again; its
	// Accept, queued after the replays, shows that the replays queued none.
	refollow := undone[1]
	if refollow.srv != servers[0] {
		t.Fatal("test setup: the re-follower must be on the first server")
	}
	req, err := signedFollow(h, refollow)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.post(req); err != nil {
		t.Fatalf("new Follow of %s: %v", refollow.id(), err)
	}
	checkFollowers(t, h, append(slices.Clone(kept), refollow))
	if !servers[0].WaitFor(101, 10*time.Second) {
		t.Fatalf("no Accept of the new Follow of %s", refollow.id())
	}
	time.Sleep(300 * time.Millisecond) // let any stray Accept arrive
	got := servers[0].Received()
	if len(got) != 101 || servers[1].Count() != 100 {
		t.Fatalf("servers received %d and %d requests, want 101 and 100: a replayed Follow was accepted again", len(got), servers[1].Count())
	}
	if err := checkAccept(h, refollow, got[100]); err != nil {
		t.Fatalf("Accept of the new Follow of %s: %v", refollow.id(), err)
	}
	h.stop()
}
