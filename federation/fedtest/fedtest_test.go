package fedtest_test

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/safehttp"
)

// testKeys is the key pool shared by every server of these tests.
var testKeys = sync.OnceValues(func() ([]*rsa.PrivateKey, error) {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		keys[i] = k
	}
	return keys, nil
})

func pool(t *testing.T) []*rsa.PrivateKey {
	t.Helper()
	keys, err := testKeys()
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func start(t *testing.T, n int, opts fedtest.Options) *fedtest.Server {
	t.Helper()
	opts.Keys = pool(t)
	return fedtest.StartWith(t, "127.0.0.2:0", n, opts)
}

// bridge stands in for Passerelle: it publishes one actor whose key signs
// with httpsig.Signer.
type bridge struct {
	srv     *httptest.Server
	actorID string
	mu      sync.Mutex
	key     *rsa.PrivateKey
}

func startBridge(t *testing.T, key *rsa.PrivateKey) *bridge {
	t.Helper()
	b := &bridge{key: key}
	b.srv = httptest.NewServer(http.HandlerFunc(b.serveActor))
	t.Cleanup(b.srv.Close)
	b.actorID = b.srv.URL + "/actor"
	return b
}

func (b *bridge) serveActor(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/actor" {
		http.NotFound(w, r)
		return
	}
	b.mu.Lock()
	der, _ := x509.MarshalPKIXPublicKey(&b.key.PublicKey)
	b.mu.Unlock()
	w.Header().Set("Content-Type", fedtest.ContentTypeAS2)
	json.NewEncoder(w).Encode(map[string]any{
		"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
		"id":       b.actorID,
		"type":     "Service",
		"inbox":    b.actorID + "/inbox",
		"publicKey": map[string]string{
			"id":           b.actorID + "#main-key",
			"owner":        b.actorID,
			"publicKeyPem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		},
	})
}

func (b *bridge) setKey(k *rsa.PrivateKey) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.key = k
}

func (b *bridge) signer() httpsig.Signer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return httpsig.Signer{KeyID: b.actorID + "#main-key", Key: b.key}
}

// post builds a POST of activity signed by the bridge's Signer.
func (b *bridge) post(t *testing.T, inbox string, activity map[string]any, at time.Time) (*http.Request, []byte) {
	t.Helper()
	body, err := json.Marshal(activity)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", fedtest.ContentTypeAS2)
	if err := b.signer().SignCavage(r, body, at); err != nil {
		t.Fatal(err)
	}
	return r, body
}

func (b *bridge) accept(s *fedtest.Server, i int) map[string]any {
	return map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       b.actorID + "/accepts/1",
		"type":     "Accept",
		"actor":    b.actorID,
		"object":   s.ActorID(i) + "/follows/1",
	}
}

var client = safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true})

func send(t *testing.T, r *http.Request) int {
	t.Helper()
	resp, err := client.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// replaceBody swaps the body of a built request, keeping its headers.
func replaceBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = nil
}

func TestActorDocument(t *testing.T) {
	s := start(t, 3, fedtest.Options{})
	resp, err := client.Get(s.ActorID(1))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != fedtest.ContentTypeAS2 {
		t.Fatalf("status %d, content type %q", resp.StatusCode, ct)
	}
	var doc struct {
		Context           []string `json:"@context"`
		ID, Type          string
		PreferredUsername string
		Inbox             string
		Endpoints         struct{ SharedInbox string }
		PublicKey         struct{ ID, Owner, PublicKeyPem string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	want := s.URL() + "/users/u1"
	switch {
	case len(doc.Context) != 2 || doc.Context[0] != "https://www.w3.org/ns/activitystreams" || doc.Context[1] != "https://w3id.org/security/v1":
		t.Errorf("@context = %v", doc.Context)
	case doc.ID != want || s.ActorID(1) != want || doc.Type != "Person" || doc.PreferredUsername != "u1":
		t.Errorf("id %q type %q username %q", doc.ID, doc.Type, doc.PreferredUsername)
	case doc.Inbox != want+"/inbox" || doc.Inbox != s.InboxURL(1) || doc.Endpoints.SharedInbox != s.URL()+"/inbox":
		t.Errorf("inbox %q shared %q", doc.Inbox, doc.Endpoints.SharedInbox)
	case doc.PublicKey.ID != want+"#main-key" || doc.PublicKey.ID != s.KeyID(1) || doc.PublicKey.Owner != want:
		t.Errorf("publicKey %q owned by %q", doc.PublicKey.ID, doc.PublicKey.Owner)
	}
	pub, err := httpsig.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
	if rk, _ := pub.(*rsa.PublicKey); err != nil || rk == nil || !rk.Equal(s.Key(1).Public()) {
		t.Errorf("publicKeyPem does not match Key(1): %v", err)
	}

	resp, err = client.Get(s.URL() + "/.well-known/webfinger?resource=acct:" + s.Handle(2))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"href":"`+s.ActorID(2)+`"`) {
		t.Errorf("webfinger: %d %s", resp.StatusCode, body)
	}
	for _, path := range []string{"/users/u3", "/users/x", "/.well-known/webfinger?resource=acct:u9@" + s.Host()} {
		resp, err := client.Get(s.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestInboxVerification(t *testing.T) {
	keys := pool(t)
	s := start(t, 2, fedtest.Options{})
	b := startBridge(t, keys[0])
	now := time.Now()
	tests := []struct {
		name    string
		build   func(t *testing.T) *http.Request
		status  int
		errPart string // in Delivery.Err
	}{
		{"signed by httpsig.Signer", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), now)
			return r
		}, 202, ""},
		{"to the shared inbox", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.SharedInboxURL(), b.accept(s, 1), now)
			return r
		}, 202, ""},
		{"inbox URL with an encoded query", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.InboxURL(0)+"?note=caf%C3%A9%2B1", b.accept(s, 0), now)
			return r
		}, 202, ""},
		{"tampered body", func(t *testing.T) *http.Request {
			r, body := b.post(t, s.InboxURL(0), b.accept(s, 0), now)
			replaceBody(r, bytes.Replace(body, []byte("Accept"), []byte("Reject"), 1))
			return r
		}, 401, "digest"},
		{"tampered body and digest", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), now)
			other, _ := b.post(t, s.InboxURL(0), map[string]any{"type": "Reject", "actor": b.actorID}, now)
			body, _ := io.ReadAll(other.Body)
			replaceBody(r, body)
			r.Header.Set("Digest", other.Header.Get("Digest"))
			return r
		}, 401, "does not verify"},
		{"tampered signed header", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), now)
			r.Header.Set("Date", now.Add(time.Second).UTC().Format(http.TimeFormat))
			return r
		}, 401, "does not verify"},
		{"signed for another inbox", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.InboxURL(1), b.accept(s, 0), now)
			r.URL.Path = "/users/u0/inbox"
			return r
		}, 401, "does not verify"},
		{"wrong key", func(t *testing.T) *http.Request {
			r, body := b.post(t, s.InboxURL(0), b.accept(s, 0), now)
			wrong := httpsig.Signer{KeyID: b.actorID + "#main-key", Key: keys[1]}
			if err := wrong.SignCavage(r, body, now); err != nil {
				t.Fatal(err)
			}
			return r
		}, 401, "does not verify"},
		{"stale date", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), now.Add(-6*time.Minute))
			return r
		}, 401, "away from now"},
		{"signer is not the actor", func(t *testing.T) *http.Request {
			a := b.accept(s, 0)
			a["actor"] = s.ActorID(1)
			r, _ := b.post(t, s.InboxURL(0), a, now)
			return r
		}, 401, "not the activity's actor"},
		{"unsigned", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), now)
			r.Header.Del("Signature")
			return r
		}, 401, "no signature"},
		{"unknown actor", func(t *testing.T) *http.Request {
			r, _ := b.post(t, s.URL()+"/users/u7/inbox", b.accept(s, 0), now)
			return r
		}, 404, "no such actor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.Reset()
			if got := send(t, tt.build(t)); got != tt.status {
				t.Errorf("status %d, want %d", got, tt.status)
			}
			got := s.Received()
			if len(got) != 1 {
				t.Fatalf("%d deliveries recorded, want 1", len(got))
			}
			d := got[0]
			if d.Status != tt.status || d.Verified != (tt.errPart == "") {
				t.Fatalf("recorded status %d verified %v (%v)", d.Status, d.Verified, d.Err)
			}
			if tt.errPart != "" && (d.Err == nil || !strings.Contains(d.Err.Error(), tt.errPart)) {
				t.Fatalf("Err = %v, want it to mention %q", d.Err, tt.errPart)
			}
			if d.Verified && (d.KeyID != b.actorID+"#main-key" || d.Signer != b.actorID || d.Activity["type"] != "Accept") {
				t.Fatalf("recorded %q %q %v", d.KeyID, d.Signer, d.Activity)
			}
		})
	}
}

// TestRemoteSignaturesVerify checks fedtest's independent signer against
// httpsig's verifier, over the network.
func TestRemoteSignaturesVerify(t *testing.T) {
	s := start(t, 2, fedtest.Options{})
	results := make(chan error, 1)
	inbox := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var err error
		if _, err = httpsig.ParseCavage(r); err == nil {
			if err = httpsig.CheckDate(r, time.Now(), time.Minute); err == nil {
				if err = httpsig.CheckDigest(r, body); err == nil {
					err = httpsig.VerifyCavage(r, s.Key(1).Public())
				}
			}
		}
		results <- err
	}))
	defer inbox.Close()

	follow, id, err := s.SignedFollow(1, inbox.URL+"/users/news/inbox", inbox.URL+"/users/news", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, s.ActorID(1)+"/follows/") {
		t.Errorf("follow id %q", id)
	}
	undo, err := s.SignedActivity(1, inbox.URL+"/inbox", map[string]any{"type": "Undo", "object": s.FollowActivity(1, inbox.URL+"/users/news")}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	get, err := s.SignedGet(1, inbox.URL+"/users/news/outbox?page=true&min_id=0", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]*http.Request{"Follow": follow, "Undo": undo, "GET": get} {
		send(t, r)
		if err := <-results; err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestSelfDelivery sends a remote actor's Follow to another simulated
// server: both sides are fedtest's own code.
func TestSelfDelivery(t *testing.T) {
	a := start(t, 1, fedtest.Options{})
	b := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: pool(t)[1:]})
	r, id, err := a.SignedFollow(0, b.InboxURL(0), b.ActorID(0), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if got := send(t, r); got != http.StatusAccepted {
		t.Fatalf("status %d", got)
	}
	d := b.Received()[0]
	if !d.Verified || d.Activity["id"] != id || d.Activity["object"] != b.ActorID(0) || d.Signer != a.ActorID(0) {
		t.Fatalf("delivery: %+v", d)
	}
}

func TestOptions(t *testing.T) {
	keys := pool(t)
	b := startBridge(t, keys[0])
	t.Run("status", func(t *testing.T) {
		s := start(t, 1, fedtest.Options{Status: http.StatusGone})
		r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), time.Now())
		if got := send(t, r); got != http.StatusGone {
			t.Fatalf("status %d, want 410", got)
		}
		if d := s.Received()[0]; !d.Verified || d.Status != http.StatusGone {
			t.Fatalf("recorded %+v", d)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s := start(t, 1, fedtest.Options{Latency: 150 * time.Millisecond})
		r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), time.Now())
		began := time.Now()
		send(t, r)
		if d := time.Since(began); d < 150*time.Millisecond {
			t.Fatalf("answered in %v", d)
		}
	})
	t.Run("fail first", func(t *testing.T) {
		s := start(t, 1, fedtest.Options{FailFirst: 2, FailStatus: http.StatusServiceUnavailable})
		var got []int
		for range 3 {
			r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), time.Now())
			got = append(got, send(t, r))
		}
		if got[0] != 503 || got[1] != 503 || got[2] != 202 {
			t.Fatalf("statuses %v, want [503 503 202]", got)
		}
		s.SetOptions(fedtest.Options{FailFirst: 1})
		r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), time.Now())
		if code := send(t, r); code != 500 {
			t.Fatalf("after SetOptions: %d, want 500", code)
		}
	})
	t.Run("signed fetch required", func(t *testing.T) {
		s := start(t, 1, fedtest.Options{RequireSignedFetch: true})
		unsigned, _ := http.NewRequest(http.MethodGet, s.ActorID(0), nil)
		if got := send(t, unsigned); got != http.StatusUnauthorized {
			t.Fatalf("unsigned GET: %d, want 401", got)
		}
		signed, _ := http.NewRequest(http.MethodGet, s.ActorID(0), nil)
		if err := b.signer().SignCavage(signed, nil, time.Now()); err != nil {
			t.Fatal(err)
		}
		if got := send(t, signed); got != http.StatusOK {
			t.Fatalf("signed GET: %d, want 200", got)
		}
		f := s.Fetches()
		if len(f) != 2 || f[0].Verified || !f[1].Verified || f[1].KeyID != b.actorID+"#main-key" {
			t.Fatalf("fetches %+v", f)
		}
	})
	t.Run("clock", func(t *testing.T) {
		past := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		s := start(t, 1, fedtest.Options{Now: func() time.Time { return past }})
		r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), past.Add(4*time.Minute))
		if got := send(t, r); got != 202 {
			t.Fatalf("status %d", got)
		}
	})
}

func TestKeyRotationRefetch(t *testing.T) {
	keys := pool(t)
	s := start(t, 1, fedtest.Options{})
	b := startBridge(t, keys[0])
	for i, k := range []*rsa.PrivateKey{keys[0], keys[0], keys[2]} {
		b.setKey(k)
		r, _ := b.post(t, s.InboxURL(0), b.accept(s, 0), time.Now())
		if got := send(t, r); got != 202 {
			t.Fatalf("request %d: status %d", i, got)
		}
	}
	if n := s.KeyFetches(); n != 2 {
		t.Fatalf("%d key fetches, want 2 (first use, then after rotation)", n)
	}
}

func TestWaitFor(t *testing.T) {
	keys := pool(t)
	s := start(t, 4, fedtest.Options{})
	b := startBridge(t, keys[0])
	const n = 20
	var sent atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		r, _ := b.post(t, s.InboxURL(i%4), b.accept(s, i%4), time.Now())
		wg.Go(func() {
			if resp, err := client.Do(r); err == nil {
				resp.Body.Close()
				sent.Add(1)
			}
		})
	}
	if !s.WaitFor(n, 10*time.Second) {
		t.Fatalf("received %d of %d", s.Count(), n)
	}
	wg.Wait()
	if s.WaitFor(n+1, 50*time.Millisecond) {
		t.Fatal("WaitFor reported more deliveries than sent")
	}
	for _, d := range s.Received() {
		if !d.Verified {
			t.Errorf("%s: %v", d.Path, d.Err)
		}
	}
	if sent.Load() != n {
		t.Errorf("%d requests completed", sent.Load())
	}
}
