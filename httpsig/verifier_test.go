package httpsig

import (
	"bytes"
	"crypto"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestSignerSpecs: Signer.Sign writes the headers of the spec asked for,
// and refuses an unknown spec or a key the spec cannot use.
func TestSignerSpecs(t *testing.T) {
	rsaKey, _ := cavageKeys(t)
	edKey := loadTestKeys(t).ed25519
	body := []byte(`{"type":"Follow"}`)
	tests := []struct {
		name      string
		spec      Spec
		key       crypto.Signer
		wantInput bool   // Signature-Input set
		wantSig   string // prefix of the Signature header
		wantErr   bool
	}{
		{name: "draft-cavage", spec: SpecCavage, key: rsaKey, wantSig: `keyId="` + testKeyID + `",algorithm="rsa-sha256",headers="(request-target) host date digest"`},
		{name: "RFC 9421 RSA", spec: SpecRFC9421, key: rsaKey, wantInput: true, wantSig: "sig1=:"},
		{name: "RFC 9421 Ed25519", spec: SpecRFC9421, key: edKey, wantInput: true, wantSig: "sig1=:"},
		{name: "draft-cavage with an Ed25519 key", spec: SpecCavage, key: edKey, wantErr: true},
		{name: "unknown spec", spec: "draft-cavage-13", key: rsaKey, wantErr: true},
		{name: "no key", spec: SpecCavage, wantErr: true},
		{name: "no key, RFC 9421", spec: SpecRFC9421, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := clientRequest(t, http.MethodPost, "https://remote.example/inbox", body)
			err := Signer{KeyID: testKeyID, Key: tt.key}.Sign(tt.spec, r, body, cavageNow)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("Sign accepted: headers %v", r.Header)
				}
				if r.Header.Get("Signature") != "" {
					t.Fatalf("a refused Sign set Signature %q", r.Header.Get("Signature"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Header.Get("Signature-Input") != ""; got != tt.wantInput {
				t.Errorf("Signature-Input set: %v, want %v", got, tt.wantInput)
			}
			if got := r.Header.Get("Signature"); !strings.HasPrefix(got, tt.wantSig) {
				t.Errorf("Signature = %q, want prefix %q", got, tt.wantSig)
			}
		})
	}
}

// TestVerifierBothSpecs: Check then Verify take a signature of either
// spec, and each check refuses what it must with the documented kind and
// client-safe reason.
func TestVerifierBothSpecs(t *testing.T) {
	rsaKey, other := cavageKeys(t)
	edKey := loadTestKeys(t).ed25519
	body := []byte(`{"type":"Create"}`)
	const inbox = "https://bridge.example/users/news/inbox"
	v := Verifier{PublicScheme: "https", Window: time.Hour}
	tests := []struct {
		name      string
		spec      Spec
		key       crypto.Signer
		method    string
		signAt    time.Time
		pub       crypto.PublicKey // nil: key's
		mutate    func(r *http.Request, body *[]byte)
		checkErr  error  // kind from Check
		reason    string // its Reason, when set
		verifyErr error  // kind from Verify
	}{
		{name: "draft-cavage POST", spec: SpecCavage, key: rsaKey, method: "POST"},
		{name: "draft-cavage GET", spec: SpecCavage, key: rsaKey, method: "GET"},
		{name: "RFC 9421 POST", spec: SpecRFC9421, key: rsaKey, method: "POST"},
		{name: "RFC 9421 GET", spec: SpecRFC9421, key: rsaKey, method: "GET"},
		{name: "RFC 9421 Ed25519", spec: SpecRFC9421, key: edKey, method: "POST"},
		{name: "draft-cavage stale", spec: SpecCavage, key: rsaKey, method: "POST", signAt: cavageNow.Add(-61 * time.Minute), checkErr: ErrOutsideWindow, reason: "date outside window"},
		{name: "RFC 9421 stale", spec: SpecRFC9421, key: rsaKey, method: "POST", signAt: cavageNow.Add(-61 * time.Minute), checkErr: ErrOutsideWindow, reason: "created outside window"},
		{name: "RFC 9421 from the future", spec: SpecRFC9421, key: rsaKey, method: "POST", signAt: cavageNow.Add(61 * time.Minute), checkErr: ErrOutsideWindow, reason: "created outside window"},
		{name: "draft-cavage tampered body", spec: SpecCavage, key: rsaKey, method: "POST", mutate: tamperBody, checkErr: ErrDigestMismatch},
		{name: "RFC 9421 tampered body", spec: SpecRFC9421, key: rsaKey, method: "POST", mutate: tamperBody, checkErr: ErrDigestMismatch},
		{name: "draft-cavage wrong key", spec: SpecCavage, key: rsaKey, method: "POST", pub: &other.PublicKey, verifyErr: ErrSignatureInvalid},
		{name: "RFC 9421 wrong key", spec: SpecRFC9421, key: rsaKey, method: "POST", pub: &other.PublicKey, verifyErr: ErrSignatureInvalid},
		{name: "draft-cavage with an Ed25519 key", spec: SpecCavage, key: rsaKey, method: "POST", pub: edKey.Public(), verifyErr: ErrUnsupportedAlgorithm},
		{name: "draft-cavage tampered path", spec: SpecCavage, key: rsaKey, method: "POST", mutate: func(r *http.Request, _ *[]byte) { r.RequestURI = "/users/other/inbox" }, verifyErr: ErrSignatureInvalid},
		{name: "RFC 9421 tampered path", spec: SpecRFC9421, key: rsaKey, method: "POST", mutate: func(r *http.Request, _ *[]byte) { r.RequestURI = "/users/other/inbox" }, verifyErr: ErrSignatureInvalid},
		{name: "unsigned", spec: SpecCavage, key: rsaKey, method: "POST", mutate: func(r *http.Request, _ *[]byte) { r.Header.Del("Signature") }, checkErr: ErrMissingSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.signAt
			if at.IsZero() {
				at = cavageNow
			}
			var b []byte
			if tt.method == "POST" {
				b = bytes.Clone(body)
			}
			r := clientRequest(t, tt.method, inbox, b)
			if err := (Signer{KeyID: testKeyID, Key: tt.key}).Sign(tt.spec, r, b, at); err != nil {
				t.Fatal(err)
			}
			sr, sb := toServer(t, r)
			if tt.method == "GET" {
				sb = nil // as an inbox passes a GET's body
			}
			if tt.mutate != nil {
				tt.mutate(sr, &sb)
			}
			sig, err := v.Check(sr, sb, cavageNow)
			wantKind(t, err, tt.checkErr)
			if tt.checkErr != nil {
				var se *SignatureError
				if tt.reason != "" && errors.As(err, &se) && se.Reason != tt.reason {
					t.Errorf("reason = %q, want %q", se.Reason, tt.reason)
				}
				return
			}
			if sig.Spec != tt.spec || sig.KeyID != testKeyID {
				t.Errorf("Check = %q %q, want %q %q", sig.Spec, sig.KeyID, tt.spec, testKeyID)
			}
			pub := tt.pub
			if pub == nil {
				pub = tt.key.Public()
			}
			wantKind(t, v.Verify(sr, sb, sig, pub, cavageNow), tt.verifyErr)
		})
	}

	t.Run("unparsed signature", func(t *testing.T) {
		r, b := toServer(t, clientRequest(t, "GET", inbox, nil))
		wantKind(t, v.Verify(r, b, Signature{}, rsaKey.Public(), cavageNow), ErrMalformedSignature)
	})
}

func tamperBody(_ *http.Request, b *[]byte) {
	*b = bytes.Replace(*b, []byte("Create"), []byte("Delete"), 1)
}

// TestParseSignature: the spec is chosen by the headers present, and the
// key id is read without any key, clock or body.
func TestParseSignature(t *testing.T) {
	rsaKey, _ := cavageKeys(t)
	for _, spec := range []Spec{SpecCavage, SpecRFC9421} {
		t.Run(string(spec), func(t *testing.T) {
			r := clientRequest(t, "GET", "https://bridge.example/users/news", nil)
			if err := (Signer{KeyID: testKeyID, Key: rsaKey}).Sign(spec, r, nil, cavageNow); err != nil {
				t.Fatal(err)
			}
			sr, _ := toServer(t, r)
			if !IsSigned(sr) {
				t.Error("IsSigned = false")
			}
			sig, err := ParseSignature(sr)
			if err != nil {
				t.Fatal(err)
			}
			if sig.Spec != spec || sig.KeyID != testKeyID {
				t.Errorf("ParseSignature = %q %q, want %q %q", sig.Spec, sig.KeyID, spec, testKeyID)
			}
		})
	}

	tests := []struct {
		name   string
		header http.Header
		signed bool
		want   error
	}{
		{"unsigned", http.Header{}, false, ErrMissingSignature},
		{"Authorization: Signature", http.Header{"Authorization": {`Signature keyId="k",headers="(request-target) host date",signature="c2ln"`}}, true, nil},
		{"Authorization: Bearer", http.Header{"Authorization": {"Bearer abc"}}, false, ErrMissingSignature},
		{"Signature-Input without Signature", http.Header{"Signature-Input": {`sig1=("@method" "@target-uri");created=1;keyid="k"`}}, true, ErrMissingSignature},
		{"unreadable draft-cavage", http.Header{"Signature": {`keyId="k`}}, true, ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/users/news", nil)
			r.Header = tt.header
			if got := IsSigned(r); got != tt.signed {
				t.Errorf("IsSigned = %v, want %v", got, tt.signed)
			}
			sig, err := ParseSignature(r)
			wantKind(t, err, tt.want)
			if err == nil && sig.KeyID != "k" {
				t.Errorf("KeyID = %q", sig.KeyID)
			}
		})
	}
}
