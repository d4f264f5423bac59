package httpsig

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/dunglas/httpsfv"
)

// SignRFC9421 signs r with an RFC 9421 signature labelled "sig1", made
// with s.Key, whose public key is published at s.KeyID. It sets:
//
//   - Content-Digest: sha-256 of body, when body is not nil or the method
//     is POST, PUT or PATCH (of an empty body if body is nil);
//   - Signature-Input: sig1=("@method" "@target-uri" "@authority"
//     "content-digest");created=…;keyid="…";alg="…", without
//     "content-digest" when there is no body;
//   - Signature: sig1=:<base64>:.
//
// That is what Mastodon 4.5 requires (@method, @target-uri, created, a
// signed sha-256 Content-Digest with a body) and Fedify verifies; alg is
// rsa-v1_5-sha256 for an RSA key (PKCS#1 v1.5, SHA-256: the only one
// Mastodon verifies) and ed25519 for an Ed25519 key. No expires is sent:
// Mastodon then takes the signature as valid five minutes after created,
// plus an hour of clock skew.
//
// body must be exactly the bytes that will be sent. r.URL must be absolute
// (http or https); r.Host, or r.URL.Host when empty, is the host signed,
// and SignRFC9421 stores its normalised form (lower case, no default port)
// in r.Host so that the Host sent and the authority signed are the same.
// The Signature header of a draft-cavage signature would be replaced: a
// request carries one or the other. Sign again on every retry. SignRFC9421
// keeps no state: it is safe for concurrent use.
func (s Signer) SignRFC9421(r *http.Request, body []byte, now time.Time) error {
	keyID, key := s.KeyID, s.Key
	if key == nil {
		return errors.New("httpsig: sign: no private key")
	}
	var alg string
	switch pub := key.Public().(type) {
	case *rsa.PublicKey:
		alg = AlgRSAv15SHA256
	case ed25519.PublicKey:
		alg = AlgEd25519
	default:
		return fmt.Errorf("httpsig: sign: unsupported key type %T", pub)
	}
	if keyID == "" || !isPrintableASCII(keyID) {
		return fmt.Errorf("httpsig: sign: invalid key id %q", keyID)
	}
	if r.URL == nil {
		return errors.New("httpsig: sign: request has no URL")
	}
	scheme := strings.ToLower(r.URL.Scheme)
	if scheme != "https" && scheme != "http" {
		return fmt.Errorf("httpsig: sign: URL scheme %q is not http or https", r.URL.Scheme)
	}
	host := requestHost(r)
	if host == "" || !isPrintableASCII(host) || strings.ContainsAny(host, " /?#@") {
		return fmt.Errorf("httpsig: sign: invalid host %q (use its punycode form)", host)
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Host = normalizeAuthority(host, scheme)

	components := []string{"@method", "@target-uri", "@authority"}
	r.Header.Del("Content-Digest")
	if body != nil || methodHasBody(r.Method) {
		r.Header.Set("Content-Digest", contentDigest(body))
		components = append(components, "content-digest")
	}

	input := httpsfv.InnerList{Params: httpsfv.NewParams()}
	for _, c := range components {
		input.Items = append(input.Items, httpsfv.NewItem(c))
	}
	input.Params.Add("created", now.Unix())
	input.Params.Add("keyid", keyID)
	input.Params.Add("alg", alg)
	sigParams, err := httpsfv.Marshal(input)
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}

	// A client request has no RequestURI: the target is r.URL's, as sent.
	base, err := newMessage(r, scheme).signatureBase(components, sigParams)
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}

	var sig []byte
	if alg == AlgRSAv15SHA256 {
		sum := sha256.Sum256([]byte(base))
		sig, err = key.Sign(rand.Reader, sum[:], crypto.SHA256)
	} else {
		sig, err = key.Sign(rand.Reader, []byte(base), crypto.Hash(0))
	}
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}

	r.Header.Set("Signature-Input", Label+"="+sigParams)
	r.Header.Set("Signature", Label+"=:"+base64.StdEncoding.EncodeToString(sig)+":")
	return nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
