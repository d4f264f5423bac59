package federation_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mr-tron/base58"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/storage"
)

// rfcPeer is a remote server that signs with RFC 9421 (RSA or Ed25519,
// FEP-521a keys in assertionMethod, as Fedify publishes them) and whose
// inbox accepts the specs it is told to, verifying with httpsig.
type rfcPeer struct {
	url    string
	actor  string
	rsaKey *rsa.PrivateKey
	edKey  ed25519.PrivateKey

	mu      sync.Mutex
	accepts map[string]bool // "rfc9421" (RSA), "ed25519" (RFC 9421), "draft-cavage"
	got     []rfcDelivery
	fetchTo func(keyID string) (crypto.PublicKey, error)
}

type rfcDelivery struct {
	spec     string // draft-cavage, rfc9421 (RSA) or ed25519 (RFC 9421, alg ed25519)
	status   int
	activity map[string]any
}

func startRFCPeer(t *testing.T, addr string, rsaKey *rsa.PrivateKey, accepts ...string) *rfcPeer {
	t.Helper()
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &rfcPeer{url: "http://" + ln.Addr().String(), rsaKey: rsaKey, edKey: edKey, accepts: map[string]bool{}}
	p.actor = p.url + "/users/alice"
	for _, a := range accepts {
		p.accepts[a] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /users/alice", p.serveActor)
	mux.HandleFunc("POST /users/alice/inbox", p.serveInbox)
	srv := httptest.NewUnstartedServer(mux)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

func (p *rfcPeer) serveActor(w http.ResponseWriter, r *http.Request) {
	rsaPEM, _ := httpsig.PublicKeyPEM(&p.rsaKey.PublicKey)
	ed := append([]byte{0xed, 0x01}, p.edKey.Public().(ed25519.PublicKey)...)
	doc := map[string]any{
		"@context":          []any{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1", "https://w3id.org/security/multikey/v1"},
		"id":                p.actor,
		"type":              "Person",
		"preferredUsername": "alice",
		"inbox":             p.actor + "/inbox",
		"publicKey":         map[string]any{"id": p.actor + "#main-key", "owner": p.actor, "publicKeyPem": rsaPEM},
		"assertionMethod": []any{map[string]any{
			"id": p.actor + "#ed25519-key", "type": "Multikey", "controller": p.actor,
			"publicKeyMultibase": "z" + base58.Encode(ed),
		}},
	}
	w.Header().Set("Content-Type", "application/activity+json")
	json.NewEncoder(w).Encode(doc)
}

// serveInbox verifies with the bridge's published RSA key (fetchTo).
func (p *rfcPeer) serveInbox(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	d := rfcDelivery{spec: "draft-cavage", status: http.StatusUnauthorized}
	params, perr := httpsig.ParseRFC9421(r)
	if httpsig.IsRFC9421(r) {
		d.spec = "rfc9421"
		if perr == nil && params.Alg == httpsig.AlgEd25519 {
			d.spec = "ed25519"
		}
	}
	_ = json.Unmarshal(body, &d.activity)
	p.mu.Lock()
	ok, fetch := p.accepts[d.spec], p.fetchTo
	p.mu.Unlock()
	if ok && d.spec != "draft-cavage" && fetch != nil {
		if perr == nil {
			if pub, err := fetch(params.KeyID); err == nil && (httpsig.Verifier{Window: time.Hour}).VerifyRFC9421(r, body, params, pub, time.Now()) == nil {
				d.status = http.StatusAccepted
			}
		}
	} else if ok {
		d.status = http.StatusAccepted // draft-cavage: checked elsewhere (fedtest); here only the spec matters
	}
	p.mu.Lock()
	p.got = append(p.got, d)
	p.mu.Unlock()
	w.WriteHeader(d.status)
}

func (p *rfcPeer) deliveries() []rfcDelivery {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]rfcDelivery(nil), p.got...)
}

// signed builds an RFC 9421-signed POST of activity to url, with the RSA
// key or the Ed25519 one.
func (p *rfcPeer) signed(t *testing.T, url string, activity map[string]any, ed bool) *http.Request {
	t.Helper()
	body := mustJSON(t, activity)
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/activity+json")
	keyID, key := p.actor+"#main-key", crypto.Signer(p.rsaKey)
	if ed {
		keyID, key = p.actor+"#ed25519-key", p.edKey
	}
	if err := (httpsig.Signer{KeyID: keyID, Key: key}).SignRFC9421(r, body, time.Now()); err != nil {
		t.Fatal(err)
	}
	return r
}

// TestInboxVerifiesRFC9421: an inbox takes RFC 9421 signatures (RSA and
// FEP-521a Ed25519 keys) as well as draft-cavage ones, and answers 401 to
// a tampered one.
func TestInboxVerifiesRFC9421(t *testing.T) {
	b := startBridge(t, true)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	peer := startRFCPeer(t, "127.0.0.2:0", key, "rfc9421", "draft-cavage")
	follow := func(n string) map[string]any {
		return map[string]any{"@context": "https://www.w3.org/ns/activitystreams", "id": peer.actor + "/follows/" + n,
			"type": "Follow", "actor": peer.actor, "object": b.actor}
	}
	tests := []struct {
		name    string
		request func() *http.Request
		code    int
	}{
		{"rsa", func() *http.Request { return peer.signed(t, b.url+"/inbox", follow("1"), false) }, http.StatusAccepted},
		{"ed25519 (assertionMethod)", func() *http.Request { return peer.signed(t, b.url+"/inbox", follow("2"), true) }, http.StatusAccepted},
		{"tampered body", func() *http.Request {
			r := peer.signed(t, b.url+"/inbox", follow("3"), true)
			body := bytes.Replace(mustJSON(t, follow("3")), []byte("follows/3"), []byte("follows/4"), 1)
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			return r
		}, http.StatusUnauthorized},
		{"tampered signature", func() *http.Request {
			r := peer.signed(t, b.url+"/inbox", follow("5"), false)
			sig := r.Header.Get("Signature")
			r.Header.Set("Signature", strings.Replace(sig, sig[len(sig)-6:len(sig)-2], "AAAA", 1))
			return r
		}, http.StatusUnauthorized},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := send(t, tc.request()); code != tc.code {
				t.Errorf("status %d %s, want %d", code, body, tc.code)
			}
		})
	}
	ctx := context.Background()
	if k, err := b.store.GetRemoteKey(ctx, peer.actor+"#ed25519-key"); err != nil || k.Owner != peer.actor {
		t.Errorf("Ed25519 key %+v, %v", k, err)
	}
	if f, err := b.store.GetFollower(ctx, "news", peer.actor); err != nil || f.State != storage.FollowerAccepted {
		t.Errorf("follower %+v, %v", f, err)
	}
}

// TestDoubleKnock: deliveries are signed draft-cavage by default; a host
// that refuses it (401) gets the same delivery signed RFC 9421, and is
// then sent RFC 9421 first; a host that signed RFC 9421 to us is sent
// RFC 9421 at once. A host that speaks RFC 9421 is probed once with our
// Ed25519 key: one that verifies it gets Ed25519 from then on, one that
// refuses it gets the same delivery signed RSA at once; both answers are
// stored.
func TestDoubleKnock(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		accepts   []string
		introduce bool            // the peer signs to us first (RFC 9421)
		want      []string        // specs of the requests received, in order, for two deliveries
		ed        map[string]bool // what the bridge stored of the peer's answers to Ed25519 (hosts.ed25519)
	}{
		{"draft-cavage host", []string{"draft-cavage"}, false, []string{"draft-cavage", "draft-cavage"}, map[string]bool{}},
		// Once it speaks RFC 9421, it is probed with Ed25519, once.
		{"RFC 9421 only, learnt by knocking", []string{"rfc9421"}, false,
			[]string{"draft-cavage", "rfc9421", "ed25519", "rfc9421"}, map[string]bool{"peer": false}},
		{"RFC 9421 signer without Ed25519 (Mastodon 4.5)", []string{"rfc9421", "draft-cavage"}, true,
			[]string{"ed25519", "rfc9421", "rfc9421"}, map[string]bool{"peer": false}},
		{"Ed25519 verifier (Fedify)", []string{"ed25519", "rfc9421", "draft-cavage"}, true,
			[]string{"ed25519", "ed25519"}, map[string]bool{"peer": true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := startBridge(t, true)
			peer := startRFCPeer(t, "127.0.0.2:0", key, tc.accepts...)
			peer.fetchTo = func(keyID string) (crypto.PublicKey, error) {
				// As Fedify does: the key of that id, in publicKey or
				// among the FEP-521a keys of assertionMethod.
				var doc struct {
					PublicKey       struct{ ID, PublicKeyPem string } `json:"publicKey"`
					AssertionMethod []struct {
						ID, Type, Controller, PublicKeyMultibase string
					} `json:"assertionMethod"`
				}
				if err := getJSON(b.actor, &doc); err != nil {
					return nil, err
				}
				if keyID == doc.PublicKey.ID {
					return httpsig.ParsePublicKeyPEM(doc.PublicKey.PublicKeyPem)
				}
				// Fedify looks for keys among publicKey only: a key id
				// that is not there is fetched, and must be a
				// CryptographicKey owned by the actor (the same key is
				// listed as a Multikey in assertionMethod, FEP-521a).
				var key struct{ ID, Type, Owner, PublicKeyPem string }
				if err := getJSON(keyID, &key); err != nil {
					return nil, err
				}
				if key.ID != keyID || key.Type != "CryptographicKey" || key.Owner != b.actor {
					return nil, fmt.Errorf("key document %+v", key)
				}
				pub, err := httpsig.ParsePublicKeyPEM(key.PublicKeyPem)
				if err != nil {
					return nil, err
				}
				for _, k := range doc.AssertionMethod {
					if k.ID == keyID && k.Type == "Multikey" && k.Controller == b.actor {
						if mk, err := httpsig.ParseMultikey(k.PublicKeyMultibase); err != nil || !pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(mk) {
							return nil, fmt.Errorf("assertionMethod's %s is not the key served at its id (%v)", keyID, err)
						}
						return pub, nil
					}
				}
				return nil, fmt.Errorf("no key %s in %s's assertionMethod", keyID, b.actor)
			}
			if tc.introduce {
				r := peer.signed(t, b.url+"/inbox", map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
					"id": peer.actor + "/likes/1", "type": "Like", "actor": peer.actor, "object": b.actor}, false)
				if code, body := send(t, r); code != http.StatusAccepted {
					t.Fatalf("introduction: %d %s", code, body)
				}
			}
			ctx := context.Background()
			for i := range 2 {
				activity := mustJSON(t, map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
					"id": b.actor + "#test/" + string(rune('a'+i)), "type": "Update", "actor": b.actor, "object": b.actor})
				err := b.store.InTx(ctx, func(q storage.Queries) error {
					return b.svc.Enqueue(ctx, q, federation.Outgoing{Account: "news", Activity: activity, Inboxes: []string{peer.actor + "/inbox"}})
				})
				if err != nil {
					t.Fatal(err)
				}
				runUntil(t, b, func() bool {
					accepted := 0
					for _, d := range peer.deliveries() {
						if d.status == http.StatusAccepted {
							accepted++
						}
					}
					return accepted == i+1
				})
			}
			var got []string
			for _, d := range peer.deliveries() {
				got = append(got, d.spec)
			}
			if strings.Join(got, " ") != strings.Join(tc.want, " ") {
				t.Errorf("specs received %v, want %v", got, tc.want)
			}
			stored, err := b.store.ListHostsEd25519(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{}
			for h, v := range tc.ed {
				if h == "peer" {
					h = strings.TrimPrefix(peer.url, "http://")
				}
				want[h] = v
			}
			if fmt.Sprint(stored) != fmt.Sprint(want) {
				t.Errorf("hosts' answers to Ed25519 stored: %v, want %v", stored, want)
			}
		})
	}
}

func getJSON(url string, v any) error {
	r, _ := http.NewRequest(http.MethodGet, url, nil)
	r.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(v)
}

// runUntil runs the delivery workers until done reports true (10 s at
// most).
func runUntil(t *testing.T, b *bridge, done func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- b.svc.NewDeliverer(2).Run(ctx, time.Second) }()
	deadline := time.Now().Add(10 * time.Second)
	for !done() && time.Now().Before(deadline) {
		b.svc.Nudge()
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if !done() {
		t.Fatal("not delivered in 10 s")
	}
}
