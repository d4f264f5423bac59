package httpsig

// draft-cavage-http-signatures-12, as spoken by Mastodon, GoToSocial,
// Misskey and Pleroma. Signing and the cryptographic check use
// github.com/go-fed/httpsig; header parsing and the policy checks (which
// headers must be signed, the Date window, the Digest) are ours, so that
// an inbox can reject a request cheaply before fetching any key.

import (
	"crypto"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gofed "github.com/go-fed/httpsig"
)

// Values of the algorithm parameter of a draft-cavage Signature header
// that are accepted. hs2019 is verified as RSA-SHA256 (PKCS#1 v1.5) with
// RSA keys; SignCavage writes rsa-sha256.
const (
	AlgRSASHA256 = "rsa-sha256"
	AlgHS2019    = "hs2019"
)

// requestTargetHeader is the draft-cavage pseudo-header for the method and
// the path (with its query).
const requestTargetHeader = "(request-target)"

// CavageParams are the parameters of a draft-cavage Signature header.
type CavageParams struct {
	KeyID     string
	Algorithm string   // lower-cased; empty when the header has none
	Headers   []string // lower-cased, in signing order
	Signature []byte   // decoded signature
}

// ParseCavage reads the Signature header (or Authorization: Signature ...)
// of r and checks it is acceptable before any key is fetched: a known
// algorithm, and "(request-target)", "host" and "date" signed, plus
// "digest" when the request carries a body.
func ParseCavage(r *http.Request) (CavageParams, error) {
	raw, err := cavageHeaderValue(r.Header)
	if err != nil {
		return CavageParams{}, err
	}
	kv, err := parseCavageParams(raw)
	if err != nil {
		return CavageParams{}, sigError(ErrMalformedSignature, "", err)
	}
	p, err := cavageParamsFrom(kv)
	if err != nil {
		return CavageParams{}, err
	}
	required := []string{requestTargetHeader, "host", "date"}
	if requestHasBody(r) {
		required = append(required, "digest")
	}
	for _, h := range required {
		if !slices.Contains(p.Headers, h) {
			return CavageParams{}, sigError(ErrMissingComponent, "missing signed header: "+h, nil)
		}
	}
	return p, nil
}

// cavageHeaderValue returns the single draft-cavage signature of h.
func cavageHeaderValue(h http.Header) (string, error) {
	sigs := h.Values("Signature")
	var auth []string
	for _, v := range h.Values("Authorization") {
		if scheme, rest, ok := strings.Cut(strings.TrimSpace(v), " "); ok && strings.EqualFold(scheme, "Signature") {
			auth = append(auth, strings.TrimSpace(rest))
		}
	}
	switch n := len(sigs) + len(auth); {
	case n == 0:
		return "", sigError(ErrMissingSignature, "", nil)
	case n > 1:
		return "", sigError(ErrMalformedSignature, "more than one signature", nil)
	case len(sigs) == 1:
		return sigs[0], nil
	default:
		return auth[0], nil
	}
}

// cavageParamsFrom validates the parameters of a signature header.
func cavageParamsFrom(kv map[string]string) (CavageParams, error) {
	p := CavageParams{KeyID: kv["keyid"], Algorithm: strings.ToLower(kv["algorithm"])}
	if p.KeyID == "" {
		return p, sigError(ErrMalformedSignature, "missing keyId", nil)
	}
	switch p.Algorithm {
	case "", AlgRSASHA256, AlgHS2019:
	default:
		return p, sigError(ErrUnsupportedAlgorithm, "", fmt.Errorf("algorithm %q", p.Algorithm))
	}
	sig, err := base64.StdEncoding.DecodeString(kv["signature"])
	if err != nil || len(sig) == 0 {
		return p, sigError(ErrMalformedSignature, "missing or malformed signature parameter", err)
	}
	p.Signature = sig
	headers, ok := kv["headers"]
	if !ok {
		headers = "date" // the draft's default
	}
	p.Headers = strings.Fields(strings.ToLower(headers))
	return p, nil
}

// parseCavageParams splits `k1="v1",k2=v2` into a map keyed by the
// lower-cased parameter names. Quoted values may contain commas.
func parseCavageParams(s string) (map[string]string, error) {
	kv := make(map[string]string)
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return kv, nil
		}
		name, rest, ok := strings.Cut(s, "=")
		if !ok {
			return nil, fmt.Errorf("parameter without value: %.40q", s)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value, rest, err := cutParamValue(strings.TrimLeft(rest, " \t"))
		if err != nil {
			return nil, fmt.Errorf("parameter %q: %w", name, err)
		}
		if _, dup := kv[name]; dup {
			return nil, fmt.Errorf("duplicate parameter %q", name)
		}
		kv[name] = value
		s = strings.TrimLeft(rest, " \t")
		if s != "" && s[0] != ',' {
			return nil, fmt.Errorf("garbage after parameter %q", name)
		}
	}
}

// cutParamValue reads a quoted string or a token at the start of s.
func cutParamValue(s string) (value, rest string, err error) {
	if !strings.HasPrefix(s, `"`) {
		value, rest, _ = strings.Cut(s, ",")
		return strings.TrimSpace(value), "," + rest, nil
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), s[i+1:], nil
		case '\\':
			if i+1 == len(s) {
				return "", "", errors.New("unterminated quoted string")
			}
			i++
			b.WriteByte(s[i])
		default:
			b.WriteByte(c)
		}
	}
	return "", "", errors.New("unterminated quoted string")
}

// CheckDate checks that r has a Date header within window of now (either
// side: clocks drift both ways). A non-positive window means
// DefaultWindow.
func CheckDate(r *http.Request, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultWindow
	}
	v := r.Header.Get("Date")
	if v == "" {
		return sigError(ErrMissingDate, "", nil)
	}
	date, err := http.ParseTime(v)
	if err != nil {
		return sigError(ErrMalformedDate, "", err)
	}
	if d := now.Sub(date); d > window || d < -window {
		return sigError(ErrOutsideWindow, "date outside window", fmt.Errorf("date %s is %s away from now", v, d.Round(time.Second)))
	}
	return nil
}

// VerifyCavage checks the draft-cavage signature of r against pub (an
// *rsa.PublicKey; rsa-sha256 and hs2019 are both verified as RSA-SHA256
// PKCS#1 v1.5). It applies ParseCavage's rules first; it does not check
// the Date window nor the Digest (see CheckDate and CheckDigest, or
// Verifier.Check for all three).
//
// r may be a server request (host from r.Host, target from r.RequestURI
// as received) or a client one (r.Host or r.URL.Host, r.URL). Like
// Mastodon, a target with a query is tried with it, then without it,
// since many implementations sign the path alone (gotosocial#894,
// mastodon#28476).
func VerifyCavage(r *http.Request, pub crypto.PublicKey) error {
	if _, err := ParseCavage(r); err != nil {
		return err
	}
	key, ok := pub.(*rsa.PublicKey)
	if !ok || key == nil {
		return sigError(ErrUnsupportedAlgorithm, "unsupported key type", fmt.Errorf("key of type %T", pub))
	}
	// The target as sent: from RequestURI on a server (r.URL.Path is
	// unescaped there), else from r.URL.
	path, query, _ := strings.Cut(targetOf(r).origin, "?")
	if path == "" {
		path = "/"
	}
	headers := r.Header.Clone()
	headers.Set("Host", requestHost(r))
	targets := []string{query}
	if query != "" {
		targets = append(targets, "")
	}
	var lastErr error
	for _, q := range targets {
		scratch := &http.Request{Method: r.Method, URL: &url.URL{Path: path, RawQuery: q}, Header: headers}
		v, err := gofed.NewVerifier(scratch)
		if err != nil {
			return sigError(ErrMalformedSignature, "", err)
		}
		if lastErr = v.Verify(key, gofed.RSA_SHA256); lastErr == nil {
			return nil
		}
	}
	return sigError(ErrSignatureInvalid, "", lastErr)
}
