package federation_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// Trust holes found by a hostile review of the inbox (issue 13): each case
// failed before its fix.

// TestActivityIDsCannotBePreclaimed: an actor cannot claim the id of
// another actor's next activity, neither on another host (refused) nor on
// its own host (processed ids are per actor).
func TestActivityIDsCannotBePreclaimed(t *testing.T) {
	b := startBridge(t, true)
	keys := fedtest.GenerateKeys(t, 2)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: keys})
	attacker := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: keys})
	now := time.Now()

	r, followID, err := remote.SignedFollow(0, b.url+"/inbox", b.actor, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("follow: %d %s", code, body)
	}
	undoID := remote.ActorID(0) + "#follows/1/undo"
	undo := map[string]any{"id": undoID, "type": "Undo",
		"object": map[string]any{"id": followID, "type": "Follow", "actor": remote.ActorID(0), "object": b.actor}}

	// Another server sends its own activity under the victim's next id.
	r, err = attacker.SignedActivity(0, b.url+"/inbox", map[string]any{"id": undoID, "type": "Follow", "object": b.actor}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusBadRequest || !strings.Contains(body, "host") {
		t.Errorf("id on another host: %d %s, want 400", code, body)
	}
	// Another actor of the same server does the same.
	r, err = remote.SignedActivity(1, b.url+"/inbox", map[string]any{"id": undoID, "type": "Follow", "object": b.actor}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("same-host claim: %d %s", code, body)
	}
	// The victim's real Undo is applied.
	r, err = remote.SignedActivity(0, b.url+"/inbox", undo, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("undo: %d %s", code, body)
	}
	if _, err := b.store.GetFollower(context.Background(), "news", remote.ActorID(0)); err == nil {
		t.Error("still a follower: the real Undo was dropped as a duplicate")
	}
}

// TestSignatureForAnotherHostRefused: a request signed for another server
// (its Host covered by the signature) is not accepted when replayed to us.
func TestSignatureForAnotherHostRefused(t *testing.T) {
	b := startBridge(t, true)
	remote := fedtest.Start(t, "127.0.0.2:0", 1)
	body := mustJSON(t, map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
		"id": remote.ActorID(0) + "/follows/1", "type": "Follow", "actor": remote.ActorID(0), "object": b.actor})
	r, err := http.NewRequest(http.MethodPost, b.url+"/inbox", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Host = "other.example" // signed for, and sent with, another host
	if err := remote.Sign(0, r, body, time.Now()); err != nil {
		t.Fatal(err)
	}
	if code, resp := send(t, r); code != http.StatusUnauthorized || !strings.Contains(resp, "another host") {
		t.Errorf("replayed to us: %d %s, want 401", code, resp)
	}
	if n := b.followers(t); n != 0 {
		t.Errorf("%d followers", n)
	}
}

// TestUndoOfAFollowOfSomeoneElse: an Undo{Follow} whose Follow was of
// another actor does not remove the sender from our followers.
func TestUndoOfAFollowOfSomeoneElse(t *testing.T) {
	b := startBridge(t, true)
	remote := fedtest.Start(t, "127.0.0.2:0", 1)
	now := time.Now()
	r, followID, err := remote.SignedFollow(0, b.url+"/inbox", b.actor, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("follow: %d %s", code, body)
	}
	r, err = remote.SignedActivity(0, b.url+"/inbox", map[string]any{"type": "Undo",
		"object": map[string]any{"id": remote.ActorID(0) + "/follows/99", "type": "Follow", "actor": remote.ActorID(0), "object": "https://elsewhere.example/users/someone"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("undo: %d %s", code, body)
	}
	if n := b.followers(t); n != 1 {
		t.Errorf("%d followers after the Undo of a Follow of someone else, want 1", n)
	}
	// The Undo of the real Follow, by IRI only, still works.
	r, err = remote.SignedActivity(0, b.url+"/inbox", map[string]any{"type": "Undo", "object": followID}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("undo by IRI: %d %s", code, body)
	}
	if _, err := b.store.GetFollower(context.Background(), "news", remote.ActorID(0)); err == nil {
		t.Error("follower kept after the Undo of its Follow")
	}
}

// failingStore fails, while failing is set, the reads of keys and every
// transaction, as a full disk or a lost database connection does.
type failingStore struct {
	storage.Store
	failing atomic.Bool
}

var errDiskFull = fmt.Errorf("disk full: %w", storage.ErrUnavailable)

func (f *failingStore) GetRemoteKey(ctx context.Context, keyID string) (storage.RemoteKey, error) {
	if f.failing.Load() {
		return storage.RemoteKey{}, errDiskFull
	}
	return f.Store.GetRemoteKey(ctx, keyID)
}

func (f *failingStore) InTx(ctx context.Context, fn func(q storage.Queries) error) error {
	if f.failing.Load() {
		return errDiskFull
	}
	return f.Store.InTx(ctx, fn)
}

// TestDatabaseFailureIsNotTheSendersFault: when our database fails the
// inbox answers 503 (the sender retries), not 401, and the failure is
// not remembered as a verdict on the sender's key.
func TestDatabaseFailureIsNotTheSendersFault(t *testing.T) {
	store := &failingStore{Store: storagetest.OpenSQLite(t)}
	b := startBridgeOn(t, store)
	remote := fedtest.Start(t, "127.0.0.2:0", 2)
	for i := range 2 {
		store.failing.Store(true)
		r, _, err := remote.SignedFollow(i, b.url+"/inbox", b.actor, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		code, body := send(t, r)
		if code != http.StatusServiceUnavailable {
			t.Errorf("actor %d while the database fails: %d %s, want 503", i, code, body)
		}
		store.failing.Store(false)
		r, _, err = remote.SignedFollow(i, b.url+"/inbox", b.actor, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if code, body := send(t, r); code != http.StatusAccepted {
			t.Errorf("actor %d once the database is back: %d %s, want 202", i, code, body)
		}
	}
	if n := b.followers(t); n != 2 {
		t.Errorf("%d followers, want 2", n)
	}
}
