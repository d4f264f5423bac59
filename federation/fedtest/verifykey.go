package fedtest

import (
	"crypto/rsa"
	"net/http"
	"time"
)

// VerifyWithKey checks a signed request received by a server, with this
// package's independent verifier, when the signer's public key is already
// known (no key fetch): the signed headers Mastodon requires, the Date
// within window of now (0: DefaultDateWindow), the SHA-256 Digest of body
// for a POST, and the RSA-SHA256 signature over the request as received.
// It returns the keyId of the Signature header.
//
// It is for load generators that simulate thousands of remote servers with
// something lighter than Server (one goroutine per connection, no actors),
// yet must check every signature independently of package federation.
func VerifyWithKey(r *http.Request, body []byte, pub *rsa.PublicKey, now time.Time, window time.Duration) (keyID string, err error) {
	p, err := parseSignature(r.Header)
	if err != nil {
		return "", err
	}
	opts := Options{Now: func() time.Time { return now }, DateWindow: window}
	if err := checkPolicy(r, p, body, opts); err != nil {
		return p.keyID, err
	}
	signing, err := signingString(r, p.headers)
	if err != nil {
		return p.keyID, err
	}
	return p.keyID, verifyRSA(pub, signing, p.signature)
}

// ParsePublicKeyPEM parses an RSA public key in SPKI or PKCS#1 PEM form,
// as published in an actor's publicKeyPem.
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) { return parsePublicKey(s) }
