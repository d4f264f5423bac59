package federation

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"testing"
	"time"

	"github.com/passerelle/passerelle/httpsig"
)

// TestSignedRequestReplays: a signature kept from one attempt, set on a
// new request to the same inbox with the same body, verifies, in both
// specs and with both key types.
func TestSignedRequestReplays(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	const inbox = "https://remote.example/inbox"
	body := []byte(`{"type":"Create"}`)
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	newReq := func(t *testing.T) *http.Request {
		r, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", contentTypeAS2)
		return r
	}
	tests := []struct {
		name string
		spec httpsig.Spec
		key  crypto.Signer
	}{
		{"draft-cavage rsa", httpsig.SpecCavage, rsaKey},
		{"rfc9421 rsa", httpsig.SpecRFC9421, rsaKey},
		{"rfc9421 ed25519", httpsig.SpecRFC9421, edKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			signer := httpsig.Signer{KeyID: "https://bridge.example/users/news#k", Key: tc.key}
			first := newReq(t)
			if err := signer.Sign(tc.spec, first, body, at); err != nil {
				t.Fatal(err)
			}
			sr := newSignedRequest(first, inbox, signer.KeyID, tc.spec, at)
			again := newReq(t)
			sr.apply(again)
			v := httpsig.Verifier{Window: time.Hour}
			later := at.Add(resignAfter - time.Second)
			sig, err := v.Check(again, body, later)
			if err != nil {
				t.Fatalf("check the replayed signature: %v (headers %v)", err, again.Header)
			}
			if sig.Spec != tc.spec || sig.KeyID != signer.KeyID {
				t.Errorf("replayed signature: spec %s key %s, want %s %s", sig.Spec, sig.KeyID, tc.spec, signer.KeyID)
			}
			if err := v.Verify(again, body, sig, tc.key.Public(), later); err != nil {
				t.Errorf("verify the replayed signature: %v", err)
			}
		})
	}
}

// TestSignedCache: a kept signature is given back once, for the same
// inbox, key and spec, while younger than resignAfter.
func TestSignedCache(t *testing.T) {
	at := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	sr := &signedRequest{inbox: "https://a.example/inbox", keyID: "k", spec: httpsig.SpecCavage, at: at}
	tests := []struct {
		name  string
		inbox string
		keyID string
		spec  httpsig.Spec
		now   time.Time
		want  bool
	}{
		{"same request, a second later", sr.inbox, "k", httpsig.SpecCavage, at.Add(time.Second), true},
		{"same request, just under resignAfter", sr.inbox, "k", httpsig.SpecCavage, at.Add(resignAfter - time.Millisecond), true},
		{"same request, at resignAfter", sr.inbox, "k", httpsig.SpecCavage, at.Add(resignAfter), false},
		{"clock moved back", sr.inbox, "k", httpsig.SpecCavage, at.Add(-time.Second), false},
		{"other inbox", "https://b.example/inbox", "k", httpsig.SpecCavage, at.Add(time.Second), false},
		{"other key (Ed25519 now)", sr.inbox, "k2", httpsig.SpecCavage, at.Add(time.Second), false},
		{"other spec", sr.inbox, "k", httpsig.SpecRFC9421, at.Add(time.Second), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c signedCache
			c.keep(7, sr, at)
			if got := c.take(7, tc.inbox, tc.keyID, tc.spec, tc.now); (got != nil) != tc.want {
				t.Fatalf("take = %v, want reuse %v", got, tc.want)
			}
			if c.take(7, sr.inbox, "k", httpsig.SpecCavage, at.Add(time.Second)) != nil {
				t.Error("taken twice")
			}
		})
	}
	t.Run("bounded", func(t *testing.T) {
		var c signedCache
		for id := range int64(maxResigned) {
			c.keep(id, sr, at)
		}
		c.keep(maxResigned, sr, at) // full of fresh entries: not kept
		if c.take(maxResigned, sr.inbox, "k", httpsig.SpecCavage, at) != nil {
			t.Error("kept past the bound")
		}
		later := at.Add(resignAfter)
		c.keep(maxResigned+1, &signedRequest{inbox: sr.inbox, keyID: "k", spec: httpsig.SpecCavage, at: later}, later) // the stale ones go
		if c.take(maxResigned+1, sr.inbox, "k", httpsig.SpecCavage, later) == nil {
			t.Error("stale entries not dropped for a new one")
		}
		if n := len(c.m); n != 0 {
			t.Errorf("%d entries left, want 0", n)
		}
	})
}
