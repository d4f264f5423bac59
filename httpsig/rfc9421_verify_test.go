package httpsig

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestVerifyTampering signs a POST, changes one thing in what the server
// receives, and checks the error kind.
func TestVerifyTampering(t *testing.T) {
	keys := loadTestKeys(t)
	body := []byte(`{"type":"Like","actor":"https://bridge.example/users/news"}`)
	other := []byte(`{"type":"Like","actor":"https://bridge.example/users/eve!"}`)
	otherSum := sha256.Sum256(other)
	otherDigest := "sha-256=:" + base64.StdEncoding.EncodeToString(otherSum[:]) + ":"

	tests := []struct {
		name     string
		edit     []string         // replacements in the wire form
		body     []byte           // replacement body
		pub      crypto.PublicKey // key to verify with; nil: the signer's
		scheme   string           // Verifier.PublicScheme; "" means "https" here
		parseErr error
		want     error
	}{
		{name: "untouched"},
		{name: "method", edit: []string{"POST /users/bob/inbox", "PUT /users/bob/inbox"}, want: ErrSignatureInvalid},
		{name: "path", edit: []string{"POST /users/bob/inbox", "POST /users/eve/inbox"}, want: ErrSignatureInvalid},
		{name: "query added", edit: []string{"/users/bob/inbox HTTP/1.1", "/users/bob/inbox?x=1 HTTP/1.1"}, want: ErrSignatureInvalid},
		{name: "host", edit: []string{"Host: remote.example", "Host: evil.example"}, want: ErrSignatureInvalid},
		{name: "host port", edit: []string{"Host: remote.example", "Host: remote.example:8443"}, want: ErrSignatureInvalid},
		{name: "scheme", scheme: "http", want: ErrSignatureInvalid},
		{name: "body", body: other, want: ErrDigestMismatch},
		{name: "body and its digest", body: other, edit: []string{"Content-Digest: sha-256=", "Content-Digest: " + otherDigest + "\r\nX-Old: "}, want: ErrSignatureInvalid},
		{name: "digest removed", edit: []string{"Content-Digest:", "X-Content-Digest:"}, want: ErrMissingDigest},
		{name: "created", edit: []string{"created=1618884473", "created=1618884474"}, want: ErrSignatureInvalid},
		{name: "expires added", edit: []string{";alg=", ";expires=1618885000;alg="}, want: ErrSignatureInvalid},
		{name: "alg removed", edit: []string{`;alg="rsa-v1_5-sha256"`, ""}, want: ErrSignatureInvalid},
		{name: "alg changed to pss", edit: []string{`alg="rsa-v1_5-sha256"`, `alg="rsa-pss-sha512"`}, want: ErrSignatureInvalid},
		{name: "alg contradicts the key", edit: []string{`alg="rsa-v1_5-sha256"`, `alg="ed25519"`}, want: ErrUnsupportedAlgorithm},
		{name: "alg unknown", edit: []string{`alg="rsa-v1_5-sha256"`, `alg="hmac-sha256"`}, parseErr: ErrUnsupportedAlgorithm},
		{name: "keyid changed", edit: []string{`keyid="https://bridge.example/`, `keyid="https://bridge.example/x`}, want: ErrSignatureInvalid},
		{name: "label renamed", edit: []string{"Signature-Input: sig1=", "Signature-Input: other=", "Signature: sig1=", "Signature: other="}},
		{name: "content-digest not covered", edit: []string{` "content-digest")`, `)`}, parseErr: ErrMissingComponent},
		{name: "target not covered", edit: []string{`"@target-uri" `, ``}, parseErr: ErrMissingComponent},
		{name: "component reordered", edit: []string{`("@method" "@target-uri"`, `("@target-uri" "@method"`}, want: ErrSignatureInvalid},
		{name: "wrong key", pub: keys.otherRSA, want: ErrSignatureInvalid},
		{name: "wrong key type", pub: keys.otherEd25519, want: ErrUnsupportedAlgorithm},
		{name: "unsupported key type", pub: ecdsaSigner(t).Public(), want: ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, b := signedServerRequest(t, keys.rsa, http.MethodPost, "https://remote.example/users/bob/inbox", body)
			if tt.body != nil {
				b = tt.body
			}
			if tt.edit != nil || tt.body != nil {
				r, b = editWire(t, r, b, tt.edit...)
			}
			p, err := ParseRFC9421(r)
			wantKind(t, err, tt.parseErr)
			if err != nil {
				return
			}
			pub := tt.pub
			if pub == nil {
				pub = keys.rsa.Public()
			}
			scheme := tt.scheme
			if scheme == "" {
				scheme = "https"
			}
			wantKind(t, Verifier{PublicScheme: scheme}.VerifyRFC9421(r, b, p, pub, rfcNow), tt.want)
		})
	}
}

// TestVerifySignatureBytes flips bits of the signature itself.
func TestVerifySignatureBytes(t *testing.T) {
	keys := loadTestKeys(t)
	for _, key := range []crypto.Signer{keys.rsa, keys.ed25519} {
		r, body := signedServerRequest(t, key, http.MethodPost, "https://remote.example/inbox", []byte("{}"))
		p, err := ParseRFC9421(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range []int{0, len(p.Signature) / 2, len(p.Signature) - 1} {
			q := p
			q.Signature = append([]byte(nil), p.Signature...)
			q.Signature[i] ^= 0x80
			wantKind(t, Verifier{PublicScheme: "https"}.VerifyRFC9421(r, body, q, key.Public(), rfcNow), ErrSignatureInvalid)
		}
		q := p
		q.Signature = p.Signature[:len(p.Signature)-1]
		wantKind(t, Verifier{PublicScheme: "https"}.VerifyRFC9421(r, body, q, key.Public(), rfcNow), ErrSignatureInvalid)
	}
}

// TestVerifyProxyScheme: behind a TLS-terminating proxy the bridge sees
// plain HTTP; only PublicScheme makes the https @target-uri match.
func TestVerifyProxyScheme(t *testing.T) {
	keys := loadTestKeys(t)
	r, body := signedServerRequest(t, keys.rsa, http.MethodPost, "https://remote.example/inbox", []byte("{}"))
	p, err := ParseRFC9421(r)
	if err != nil {
		t.Fatal(err)
	}
	wantKind(t, Verifier{}.VerifyRFC9421(r, body, p, keys.rsa.Public(), rfcNow), ErrSignatureInvalid)
	wantKind(t, Verifier{PublicScheme: "https"}.VerifyRFC9421(r, body, p, keys.rsa.Public(), rfcNow), nil)
}

// TestVerifyTimeWindow checks created against now and the window.
func TestVerifyTimeWindow(t *testing.T) {
	keys := loadTestKeys(t)
	r, body := signedServerRequest(t, keys.ed25519, http.MethodPost, "https://remote.example/inbox", []byte("{}"))
	p, err := ParseRFC9421(r)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		now    time.Time
		window time.Duration
		want   error
	}{
		{"now", rfcNow, 0, nil},
		{"59 minutes old", rfcNow.Add(59 * time.Minute), 0, nil},
		{"61 minutes old", rfcNow.Add(61 * time.Minute), 0, ErrOutsideWindow},
		{"59 minutes ahead", rfcNow.Add(-59 * time.Minute), 0, nil},
		{"61 minutes ahead", rfcNow.Add(-61 * time.Minute), 0, ErrOutsideWindow},
		{"6 minutes old, 5 minute window", rfcNow.Add(6 * time.Minute), 5 * time.Minute, ErrOutsideWindow},
		{"4 minutes ahead, 5 minute window", rfcNow.Add(-4 * time.Minute), 5 * time.Minute, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verifier{PublicScheme: "https", Window: tt.window}.VerifyRFC9421(r, body, p, keys.ed25519.Public(), tt.now)
			wantKind(t, err, tt.want)
		})
	}
}

// TestVerifyExpires checks the expires parameter, which SignRFC9421 does
// not send but other servers may.
func TestVerifyExpires(t *testing.T) {
	keys := loadTestKeys(t)
	const components = `("@method" "@target-uri" "@authority" "content-digest")`
	tests := []struct {
		name     string
		params   string
		now      time.Time
		parseErr error
		want     error
	}{
		{"before expires", `;created=1618884473;expires=1618884773;keyid="k"`, rfcNow.Add(299 * time.Second), nil, nil},
		{"at expires", `;created=1618884473;expires=1618884773;keyid="k"`, rfcNow.Add(300 * time.Second), nil, nil},
		{"after expires", `;created=1618884473;expires=1618884773;keyid="k"`, rfcNow.Add(301 * time.Second), nil, ErrOutsideWindow},
		{"expires before created", `;created=1618884473;expires=1618884000;keyid="k"`, rfcNow, ErrMalformedSignature, nil},
		{"expires not an integer", `;created=1618884473;expires="soon";keyid="k"`, rfcNow, ErrMalformedSignature, nil},
		{"no created", `;expires=1618884773;keyid="k"`, rfcNow, ErrMissingDate, nil},
		{"created not an integer", `;created=1618884473.5;keyid="k"`, rfcNow, ErrMalformedSignature, nil},
		{"no keyid", `;created=1618884473`, rfcNow, ErrMalformedSignature, nil},
		{"keyid a token", `;created=1618884473;keyid=k`, rfcNow, ErrMalformedSignature, nil},
		{"nonce and tag", `;created=1618884473;keyid="k";nonce="n1";tag="ap"`, rfcNow, nil, nil},
		{"unknown parameter kept in the base", `;created=1618884473;keyid="k";x-flag;x-n=1.5`, rfcNow, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := []byte("{}")
			r := clientRequest(t, http.MethodPost, "https://remote.example/inbox", body)
			r.Header.Set("Content-Digest", contentDigest(body))
			signInput(t, r, keys.ed25519, "sig1", components+tt.params)
			sr, b := toServer(t, r)
			p, err := ParseRFC9421(sr)
			wantKind(t, err, tt.parseErr)
			if err != nil {
				return
			}
			wantKind(t, Verifier{PublicScheme: "https"}.VerifyRFC9421(sr, b, p, keys.ed25519.Public(), tt.now), tt.want)
		})
	}
}

// TestVerifyFedifyShaped verifies a request shaped as Fedify's signRequest
// (spec "rfc9421") builds it: components "@method" "@target-uri"
// "@authority" "host" "date" and "content-digest", parameters alg, keyid,
// created in that order. The signature base is written here by hand.
func TestVerifyFedifyShaped(t *testing.T) {
	keys := loadTestKeys(t)
	body := []byte(`{"@context":"https://www.w3.org/ns/activitystreams","type":"Follow"}`)
	sum := sha256.Sum256(body)
	digest := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
	const date = "Tue, 20 Apr 2021 02:07:55 GMT"
	const keyID = "https://fedify.example/users/alice#main-key"
	params := `("@method" "@target-uri" "@authority" "host" "date" "content-digest");alg="rsa-v1_5-sha256";keyid="` + keyID + `";created=1618884473`
	base := `"@method": POST
"@target-uri": https://bridge.example/users/news/inbox
"@authority": bridge.example
"host": bridge.example
"date": ` + date + `
"content-digest": ` + digest + `
"@signature-params": ` + params
	h := sha256.Sum256([]byte(base))
	sig, err := keys.rsa.Sign(rand.Reader, h[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	wire := "POST /users/news/inbox HTTP/1.1\r\n" +
		"Host: bridge.example\r\n" +
		"Accept: application/activity+json\r\n" +
		"Content-Type: application/activity+json\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"Content-Digest: " + digest + "\r\n" +
		"Date: " + date + "\r\n" +
		"Signature-Input: sig1=" + params + "\r\n" +
		"Signature: sig1=:" + base64.StdEncoding.EncodeToString(sig) + ":\r\n" +
		"\r\n" + string(body)
	r, b := readWire(t, []byte(wire))
	p, err := ParseRFC9421(r)
	if err != nil {
		t.Fatal(err)
	}
	if p.KeyID != keyID || p.Alg != AlgRSAv15SHA256 {
		t.Fatalf("params = %+v", p)
	}
	v := Verifier{PublicScheme: "https"}
	wantKind(t, v.VerifyRFC9421(r, b, p, keys.rsa.Public(), rfcNow.Add(30*time.Minute)), nil)

	// The signed Date and Host are covered: changing them breaks it.
	r2, b2 := readWire(t, []byte(strings.Replace(wire, "02:07:55", "02:07:56", 1)))
	wantKind(t, v.VerifyRFC9421(r2, b2, p, keys.rsa.Public(), rfcNow), ErrSignatureInvalid)
}

// TestVerifyUnparsedParams: Params not made by ParseRFC9421 are refused.
func TestVerifyUnparsedParams(t *testing.T) {
	keys := loadTestKeys(t)
	r, body := signedServerRequest(t, keys.rsa, http.MethodGet, "https://remote.example/users/bob", nil)
	p := Params{Label: "sig1", KeyID: testKeyID, Created: rfcNow, Components: []string{"@method"}, Signature: []byte{1}}
	err := Verifier{}.VerifyRFC9421(r, body, p, keys.rsa.Public(), rfcNow)
	wantKind(t, err, ErrMalformedSignature)
	var se *SignatureError
	if !errors.As(err, &se) || se.Status() != http.StatusBadRequest {
		t.Fatalf("status of %v", err)
	}
}

// TestVerifyFedifySigned verifies requests signed by Fedify itself (see
// testdata/fedify/README.md), as our inbox and outbox would receive them
// behind a TLS-terminating proxy.
func TestVerifyFedifySigned(t *testing.T) {
	pub := publicKeyFile(t, "rfc9421/test-key-rsa.pub.pem")
	created := time.Unix(1618884473, 0)
	for _, name := range []string{"post-follow.http", "get-outbox.http"} {
		t.Run(name, func(t *testing.T) {
			r, body := readWireFile(t, "fedify/"+name)
			p, err := ParseRFC9421(r)
			if err != nil {
				t.Fatal(err)
			}
			if p.KeyID != "https://fedify.example/users/alice#main-key" || p.Alg != AlgRSAv15SHA256 || p.Label != "sig1" {
				t.Fatalf("params = %+v", p)
			}
			v := Verifier{PublicScheme: "https"}
			wantKind(t, v.VerifyRFC9421(r, body, p, pub, created.Add(10*time.Minute)), nil)
			wantKind(t, v.VerifyRFC9421(r, body, p, pub, created.Add(2*time.Hour)), ErrOutsideWindow)
			wantKind(t, Verifier{}.VerifyRFC9421(r, body, p, pub, created), ErrSignatureInvalid) // seen as http
			if len(body) > 0 {
				tampered := bytes.Replace(body, []byte("Follow"), []byte("Delete"), 1)
				wantKind(t, v.VerifyRFC9421(r, tampered, p, pub, created), ErrDigestMismatch)
			}
		})
	}
}
