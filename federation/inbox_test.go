package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// bridge is a federation.Service on a real SQLite store, served on loopback.
type bridge struct {
	svc   *federation.Service
	store storage.Store
	url   string
	actor string
}

func startBridge(t *testing.T, allowPrivate bool) *bridge {
	t.Helper()
	return startBridgeWith(t, allowPrivate, []config.Account{{Username: "news", DisplayName: "Ville de Test", Type: "Organization"}})
}

// startBridgeWith serves the given accounts; the bridge's actor is the
// first one's.
func startBridgeWith(t *testing.T, allowPrivate bool, accounts []config.Account) *bridge {
	t.Helper()
	return serveBridge(t, nil, allowPrivate, accounts)
}

// startBridgeOn is startBridge on the given store.
func startBridgeOn(t *testing.T, store storage.Store) *bridge {
	t.Helper()
	return serveBridge(t, store, true, []config.Account{{Username: "news", DisplayName: "Ville de Test", Type: "Organization"}})
}

// startObservedBridge is startBridge (private networks allowed) with an
// observer, as cmd/bridge gives it the metrics.
func startObservedBridge(t *testing.T, obs federation.Observer) *bridge {
	t.Helper()
	accounts := []config.Account{{Username: "news", DisplayName: "Ville de Test", Type: "Organization"}}
	b := bridgetest.New(t, bridgetest.Options{Accounts: accounts, Observer: obs})
	return &bridge{svc: b.Fed, store: b.Store, url: b.URL, actor: b.URL + "/users/news"}
}

// serveBridge serves accounts from store (nil: a new SQLite store).
func serveBridge(t *testing.T, store storage.Store, allowPrivate bool, accounts []config.Account) *bridge {
	t.Helper()
	b := bridgetest.New(t, bridgetest.Options{Store: store, Accounts: accounts, PublicOnly: !allowPrivate})
	return &bridge{svc: b.Fed, store: b.Store, url: b.URL, actor: b.URL + "/users/" + accounts[0].Username}
}

func (b *bridge) followers(t *testing.T) int64 {
	t.Helper()
	n, err := b.store.CountFollowers(context.Background(), "news", "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func send(t *testing.T, r *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// signedRaw signs an arbitrary body as remote actor i.
func signedRaw(t *testing.T, remote *fedtest.Server, i int, url string, body []byte, now time.Time) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/activity+json")
	if err := remote.Sign(i, r, body, now); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestInboxRejectsBadInput(t *testing.T) {
	b := startBridge(t, true)
	keys := fedtest.GenerateKeys(t, 2)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 3, fedtest.Options{Keys: keys})
	inbox := b.url + "/inbox"
	now := time.Now()
	follow := func(i int) []byte {
		body, _ := json.Marshal(remote.FollowActivity(i, b.actor))
		return body
	}

	tests := []struct {
		name    string
		request func() *http.Request
		code    int
		reason  string
	}{
		{"unsigned", func() *http.Request {
			r, _ := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(follow(0)))
			return r
		}, 401, "signature"},
		{"signed with another key", func() *http.Request {
			// Actor 1 uses keys[1]; sign as actor 0 (keys[0]) but claim actor 1's key id.
			r := signedRaw(t, remote, 0, inbox, follow(1), now)
			sig := r.Header.Get("Signature")
			r.Header.Set("Signature", strings.Replace(sig, remote.KeyID(0), remote.KeyID(1), 1))
			return r
		}, 401, "signature does not verify"},
		{"replayed two hours later", func() *http.Request {
			return signedRaw(t, remote, 0, inbox, follow(0), now.Add(-2*time.Hour))
		}, 401, "date"},
		{"dated in the future", func() *http.Request {
			return signedRaw(t, remote, 0, inbox, follow(0), now.Add(2*time.Hour))
		}, 401, "date"},
		{"digest mismatch", func() *http.Request {
			r := signedRaw(t, remote, 0, inbox, follow(0), now)
			other := follow(2)
			r.Body = io.NopCloser(bytes.NewReader(other))
			r.ContentLength = int64(len(other))
			return r
		}, 401, "digest"},
		{"oversized body", func() *http.Request {
			big := append([]byte(`{"pad":"`), bytes.Repeat([]byte("a"), 1<<20+10)...)
			big = append(big, `"}`...)
			return signedRaw(t, remote, 0, inbox, big, now)
		}, 413, "1 MiB"},
		{"malformed JSON", func() *http.Request {
			return signedRaw(t, remote, 0, inbox, []byte(`{"type":"Follow",`), now)
		}, 400, "malformed JSON"},
		{"not an object", func() *http.Request {
			return signedRaw(t, remote, 0, inbox, []byte(`["Follow"]`), now)
		}, 400, "JSON"},
		{"deeply nested", func() *http.Request {
			deep := `{"type":"Follow","id":"x","actor":"y","object":` + strings.Repeat(`{"a":`, 100) + `1` + strings.Repeat(`}`, 100) + `}`
			return signedRaw(t, remote, 0, inbox, []byte(deep), now)
		}, 400, "nested"},
		{"actor is not the signer", func() *http.Request {
			// Actor 0 signs a Follow claiming to be actor 1.
			return signedRaw(t, remote, 0, inbox, follow(1), now)
		}, 401, "signer is not the activity's actor"},
		{"missing id", func() *http.Request {
			body, _ := json.Marshal(map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "type": "Follow", "actor": remote.ActorID(0), "object": b.actor})
			return signedRaw(t, remote, 0, inbox, body, now)
		}, 400, "missing id"},
		{"unknown account inbox", func() *http.Request {
			return signedRaw(t, remote, 0, b.url+"/users/nobody/inbox", follow(0), now)
		}, 404, "no such account"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, tc.request())
			if code != tc.code {
				t.Fatalf("status %d (%s), want %d", code, body, tc.code)
			}
			if !strings.Contains(body, tc.reason) {
				t.Errorf("reason %q does not mention %q", body, tc.reason)
			}
			if n := b.followers(t); n != 0 {
				t.Errorf("%d followers stored after a rejected request", n)
			}
		})
	}
	if n := remote.Count(); n != 0 {
		t.Errorf("remote received %d deliveries after rejected requests", n)
	}
}

// TestInboxPrivateKeyURL: with allow_private_networks false, a signer whose
// key lives on a loopback address is refused without any request to it.
func TestInboxPrivateKeyURL(t *testing.T) {
	b := startBridge(t, false)
	remote := fedtest.Start(t, "127.0.0.2:0", 1)
	body, _ := json.Marshal(remote.FollowActivity(0, b.actor))
	code, reason := send(t, signedRaw(t, remote, 0, b.url+"/inbox", body, time.Now()))
	if code != http.StatusUnauthorized || !strings.Contains(reason, "key") {
		t.Fatalf("status %d %s, want 401 about the key", code, reason)
	}
	if n := len(remote.Fetches()); n != 0 {
		t.Errorf("the key server saw %d requests, want none", n)
	}
	if _, err := b.store.GetRemoteActor(context.Background(), remote.ActorID(0)); err == nil {
		t.Error("the signer was cached")
	}
	if n := b.followers(t); n != 0 {
		t.Errorf("%d followers stored", n)
	}
}

func TestInboxFollowLifecycle(t *testing.T) {
	b := startBridge(t, true)
	remote := fedtest.Start(t, "127.0.0.2:0", 2)
	ctx := context.Background()
	now := time.Now()

	r, followID, err := remote.SignedFollow(0, b.actor+"/inbox", b.actor, now)
	if err != nil {
		t.Fatal(err)
	}
	replay := signedRaw(t, remote, 0, b.url+"/inbox", mustJSON(t, map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams", "id": followID, "type": "Follow",
		"actor": remote.ActorID(0), "object": b.actor,
	}), now)
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("follow: %d %s", code, body)
	}
	f, err := b.store.GetFollower(ctx, "news", remote.ActorID(0))
	if err != nil {
		t.Fatal(err)
	}
	if f.State != storage.FollowerAccepted || f.Inbox != remote.InboxURL(0) || f.SharedInbox != remote.SharedInboxURL() || f.FollowActivityID != followID {
		t.Errorf("follower row %+v", f)
	}
	// The same activity again (fresh signature): processed once.
	if code, _ := send(t, replay); code != http.StatusAccepted {
		t.Fatalf("replay: %d", code)
	}
	stats, err := b.store.JobStats(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if stats.Pending != 1 {
		t.Errorf("%d pending jobs, want exactly one Accept", stats.Pending)
	}

	// An activity type we do not handle is accepted and ignored.
	r, err = remote.SignedActivity(1, b.url+"/inbox", map[string]any{"type": "EmojiReact", "object": b.actor, "content": "🔥"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("unknown type: %d %s", code, body)
	}

	// Undo of someone else's follow is refused.
	r, err = remote.SignedActivity(1, b.url+"/inbox", map[string]any{"type": "Undo",
		"object": map[string]any{"id": followID, "type": "Follow", "actor": remote.ActorID(0), "object": b.actor}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := send(t, r); code != http.StatusUnauthorized {
		t.Errorf("undo of another's follow: %d, want 401", code)
	}
	if n := b.followers(t); n != 1 {
		t.Fatalf("%d followers, want 1", n)
	}

	// Undo{Follow} by the follower removes it.
	r, err = remote.SignedActivity(0, b.url+"/inbox", map[string]any{"type": "Undo",
		"object": map[string]any{"id": followID, "type": "Follow", "actor": remote.ActorID(0), "object": b.actor}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("undo: %d %s", code, body)
	}
	if n := b.followers(t); n != 0 {
		t.Fatalf("%d followers after undo, want 0", n)
	}

	// Follow again, then the remote actor is deleted.
	r, _, err = remote.SignedFollow(1, b.url+"/inbox", b.actor, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, _ := send(t, r); code != http.StatusAccepted {
		t.Fatal("follow 2")
	}
	r, err = remote.SignedActivity(1, b.url+"/inbox", map[string]any{"type": "Delete", "object": remote.ActorID(1),
		"to": []string{"https://www.w3.org/ns/activitystreams#Public"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("delete: %d %s", code, body)
	}
	if n := b.followers(t); n != 0 {
		t.Errorf("%d followers after the actor's Delete, want 0", n)
	}
}

// TestAcceptDelivered runs the delivery worker and checks the remote server
// receives an Accept it verifies itself.
func TestAcceptDelivered(t *testing.T) {
	b := startBridge(t, true)
	remote := fedtest.Start(t, "127.0.0.2:0", 1)
	r, followID, err := remote.SignedFollow(0, b.url+"/inbox", b.actor, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("follow: %d %s", code, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.svc.NewDeliverer(4).Run(ctx, time.Second) }()
	if !remote.WaitFor(1, 10*time.Second) {
		t.Fatal("no Accept received")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	d := remote.Received()[0]
	if !d.Verified {
		t.Fatalf("Accept did not verify at the remote: %v", d.Err)
	}
	if d.Path != "/users/u0/inbox" || d.Activity["type"] != "Accept" || d.Activity["actor"] != b.actor {
		t.Errorf("unexpected delivery %s %v", d.Path, d.Activity)
	}
	obj, _ := d.Activity["object"].(map[string]any)
	if obj["id"] != followID || obj["type"] != "Follow" {
		t.Errorf("Accept object %v, want the Follow %s", obj, followID)
	}
	job, err := b.store.JobStats(context.Background(), time.Now())
	if err != nil || job.Pending != 0 || job.Running != 0 {
		t.Errorf("queue after delivery: %+v %v", job, err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKeyFetchSignsOnlyWhenRequired: actor documents are fetched unsigned
// first (saving an RSA signature per new follower) and signed by the
// instance actor for servers that refuse unsigned fetches, which are then
// remembered.
func TestKeyFetchSignsOnlyWhenRequired(t *testing.T) {
	tests := []struct {
		name          string
		requireSigned bool
		wantSigned    []bool // per fetch, in order, for two follows
	}{
		{"open server", false, []bool{false, false}},
		{"secure mode server", true, []bool{false, true, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBridge(t, true)
			remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{RequireSignedFetch: tc.requireSigned})
			for i := range 2 {
				r, _, err := remote.SignedFollow(i, b.url+"/inbox", b.actor, time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if code, body := send(t, r); code != http.StatusAccepted {
					t.Fatalf("follow %d: %d %s", i, code, body)
				}
			}
			var got []bool
			for _, f := range remote.Fetches() {
				got = append(got, f.KeyID != "")
				if f.KeyID != "" && !f.Verified {
					t.Errorf("signed fetch did not verify: %v", f.Err)
				}
			}
			if len(got) != len(tc.wantSigned) {
				t.Fatalf("fetches signed=%v, want %v", got, tc.wantSigned)
			}
			for i := range got {
				if got[i] != tc.wantSigned[i] {
					t.Fatalf("fetches signed=%v, want %v", got, tc.wantSigned)
				}
			}
			if n := b.followers(t); n != 2 {
				t.Errorf("%d followers, want 2", n)
			}
		})
	}
}
