package httpsig

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	gofed "github.com/go-fed/httpsig"
)

// SignCavage signs r with a draft-cavage signature made with s.Key, which
// must be an *rsa.PrivateKey. It sets Date (from now), Digest (when the
// request has a body) and Signature on r. body must be exactly the bytes
// that will be sent; it is nil for a GET. POST, PUT and PATCH always get a
// Digest, of an empty body if body is nil.
//
// The signed headers are "(request-target) host date" plus "digest" with a
// body; the algorithm parameter is rsa-sha256. The signed host is r.Host,
// or r.URL.Host when r.Host is empty, which is what net/http sends;
// SignCavage stores it in r.Host so that the two cannot drift apart. It may
// be called again on the same request (every retry must sign again:
// signatures expire).
func (s Signer) SignCavage(r *http.Request, body []byte, now time.Time) error {
	key, err := s.cavageKey()
	if err != nil {
		return err
	}
	host, err := outgoingHost(r)
	if err != nil {
		return err
	}
	withDigest := body != nil || methodHasBody(r.Method)
	if withDigest && body == nil {
		body = []byte{}
	}
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	r.Host = host
	date := now.UTC().Format(http.TimeFormat)

	// go-fed/httpsig reads the signed headers from a header map and the
	// target from URL.Path and URL.RawQuery. Give it a scratch request
	// holding the target exactly as net/http will send it (r.URL.Path is
	// unescaped).
	path, query, _ := strings.Cut(r.URL.RequestURI(), "?")
	scratch := &http.Request{
		Method: r.Method,
		URL:    &url.URL{Path: path, RawQuery: query},
		Header: http.Header{"Host": {host}, "Date": {date}},
	}
	headers := []string{requestTargetHeader, "host", "date"}
	if withDigest {
		headers = append(headers, "digest")
	} else {
		body = nil
	}
	// go-fed/httpsig signers are cheap to build and not safe for
	// concurrent use: one per call.
	hs, _, err := gofed.NewSigner([]gofed.Algorithm{gofed.RSA_SHA256}, gofed.DigestSha256, headers, gofed.Signature, 0)
	if err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}
	if err := hs.SignRequest(key, s.KeyID, scratch, body); err != nil {
		return fmt.Errorf("httpsig: sign: %w", err)
	}

	r.Header.Set("Date", date)
	r.Header.Del("Digest")
	if withDigest {
		r.Header.Set("Digest", scratch.Header.Get("Digest"))
	}
	r.Header.Set("Signature", withAlgorithm(scratch.Header.Get("Signature"), s.KeyID, AlgRSASHA256))
	return nil
}

// cavageKey validates the signer's configuration for draft-cavage and
// returns its RSA key. A keyId with a quote or a comma would not survive
// the naive header parsers many servers use.
func (s Signer) cavageKey() (*rsa.PrivateKey, error) {
	key, isRSA := s.Key.(*rsa.PrivateKey)
	switch {
	case s.Key == nil || isRSA && key == nil:
		return nil, errors.New("httpsig: sign: no private key")
	case !isRSA:
		return nil, fmt.Errorf("httpsig: sign: draft-cavage needs an RSA key, not %T", s.Key)
	}
	if s.KeyID == "" || strings.ContainsAny(s.KeyID, "\",\\") || hasControl(s.KeyID) {
		return nil, fmt.Errorf("httpsig: sign: invalid key id %q", s.KeyID)
	}
	return key, nil
}

// outgoingHost is the Host net/http will send for r. Non-ASCII hosts are
// refused: net/http would send their punycode form, which we do not compute.
func outgoingHost(r *http.Request) (string, error) {
	host := requestHost(r)
	switch {
	case r.URL == nil:
		return "", errors.New("httpsig: sign: request has no URL")
	case host == "":
		return "", errors.New("httpsig: sign: request has no host")
	case !isPrintableASCII(host):
		return "", fmt.Errorf("httpsig: sign: host %q is not ASCII (use its punycode form)", host)
	}
	return host, nil
}

// withAlgorithm rewrites the algorithm parameter go-fed/httpsig v1.1.0
// always sets to "hs2019". The parameter is not part of the signed string;
// rsa-sha256 is the value every server understands.
func withAlgorithm(sig, keyID, algorithm string) string {
	prefix := `keyId="` + keyID + `",`
	old := prefix + `algorithm="` + AlgHS2019 + `",`
	if !strings.HasPrefix(sig, old) {
		return sig
	}
	return prefix + `algorithm="` + algorithm + `",` + sig[len(old):]
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
