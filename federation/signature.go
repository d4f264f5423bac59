package federation

// HTTP Signatures (draft-cavage-http-signatures-12), as spoken by Mastodon,
// GoToSocial, Misskey and Pleroma. Signing and the cryptographic check use
// github.com/go-fed/httpsig; header parsing and the policy checks (which
// headers must be signed, the Date window, the Digest) are ours, so that the
// inbox can reject a request cheaply before fetching any key.

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-fed/httpsig"
)

// Signature algorithms accepted in the Signature header's algorithm
// parameter. hs2019 is verified as RSA-SHA256 (PKCS#1 v1.5) with RSA keys.
const (
	AlgorithmRSASHA256 = "rsa-sha256"
	AlgorithmHS2019    = "hs2019"
)

// DefaultSignatureWindow is the Date window CheckDate uses when given a
// non-positive one.
const DefaultSignatureWindow = time.Hour

// requestTargetHeader is the draft-cavage pseudo-header for the method and
// the path (with its query).
const requestTargetHeader = "(request-target)"

// Kinds of signature failures. Every error returned by ParseSignatureHeader,
// CheckDate, CheckDigest and VerifySignature is a *SignatureError that
// matches exactly one of them with errors.Is.
var (
	ErrMissingSignature     = errors.New("missing signature")
	ErrMalformedSignature   = errors.New("malformed signature")
	ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")
	ErrMissingSignedHeader  = errors.New("missing signed header")
	ErrMissingDate          = errors.New("missing date")
	ErrMalformedDate        = errors.New("malformed date")
	ErrDateOutsideWindow    = errors.New("date outside window")
	ErrMissingDigest        = errors.New("missing digest")
	ErrDigestMismatch       = errors.New("digest mismatch")
	ErrSignatureInvalid     = errors.New("signature does not verify")
)

// SignatureError explains why a signed request was refused.
//
// Reason is short, contains nothing secret and may be sent to the client
// (e.g. "missing signed header: digest"); Err, when set, is the internal
// cause, for logs only.
type SignatureError struct {
	Kind   error  // one of the Err* kinds above
	Reason string // client-safe explanation
	Err    error  // underlying cause, may be nil
}

func (e *SignatureError) Error() string {
	if e.Err != nil {
		return "federation: verify signature: " + e.Reason + ": " + e.Err.Error()
	}
	return "federation: verify signature: " + e.Reason
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *SignatureError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Status is the HTTP status an inbox should answer with: 400 for requests
// that are malformed whatever the key (bad header syntax, bad Date, body
// not matching its Digest), 401 for everything else.
func (e *SignatureError) Status() int {
	switch e.Kind {
	case ErrMalformedSignature, ErrMalformedDate, ErrDigestMismatch:
		return http.StatusBadRequest
	default:
		return http.StatusUnauthorized
	}
}

func sigError(kind error, reason string, cause error) *SignatureError {
	if reason == "" {
		reason = kind.Error()
	}
	return &SignatureError{Kind: kind, Reason: reason, Err: cause}
}

// Signer signs outgoing requests with one actor's key. It is a value with
// no mutable state: safe for concurrent use.
type Signer struct {
	KeyID string // e.g. https://example.org/users/news#main-key
	Key   *rsa.PrivateKey
}

// Sign sets Date (from now), Digest (when the request has a body) and
// Signature on r. body must be exactly the bytes that will be sent; it is
// nil for a GET. POST, PUT and PATCH always get a Digest, of an empty body
// if body is nil.
//
// The signed headers are "(request-target) host date" plus "digest" with a
// body; the algorithm parameter is rsa-sha256. The signed host is r.Host, or
// r.URL.Host when r.Host is empty, which is what net/http sends; Sign stores
// it in r.Host so that the two cannot drift apart. Sign may be called again
// on the same request (every retry must sign again: signatures expire).
func (s Signer) Sign(r *http.Request, body []byte, now time.Time) error {
	if err := s.check(); err != nil {
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

	// httpsig reads the signed headers from a header map and the target
	// from URL.Path and URL.RawQuery. Give it a scratch request holding the
	// target exactly as net/http will send it (r.URL.Path is unescaped).
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
	// httpsig signers are cheap to build and not safe for concurrent use:
	// one per call.
	hs, _, err := httpsig.NewSigner([]httpsig.Algorithm{httpsig.RSA_SHA256}, httpsig.DigestSha256, headers, httpsig.Signature, 0)
	if err != nil {
		return fmt.Errorf("federation: sign: %w", err)
	}
	if err := hs.SignRequest(s.Key, s.KeyID, scratch, body); err != nil {
		return fmt.Errorf("federation: sign: %w", err)
	}

	r.Header.Set("Date", date)
	r.Header.Del("Digest")
	if withDigest {
		r.Header.Set("Digest", scratch.Header.Get("Digest"))
	}
	r.Header.Set("Signature", withAlgorithm(scratch.Header.Get("Signature"), s.KeyID, AlgorithmRSASHA256))
	return nil
}

// check validates the signer's configuration. A keyId with a quote or a
// comma would not survive the naive header parsers many servers use.
func (s Signer) check() error {
	if s.Key == nil {
		return errors.New("federation: sign: no private key")
	}
	if s.KeyID == "" || strings.ContainsAny(s.KeyID, "\",\\") || hasControl(s.KeyID) {
		return fmt.Errorf("federation: sign: invalid key id %q", s.KeyID)
	}
	return nil
}

// outgoingHost is the Host net/http will send for r. Non-ASCII hosts are
// refused: net/http would send their punycode form, which we do not compute.
func outgoingHost(r *http.Request) (string, error) {
	host := r.Host
	if host == "" && r.URL != nil {
		host = r.URL.Host
	}
	switch {
	case r.URL == nil:
		return "", errors.New("federation: sign: request has no URL")
	case host == "":
		return "", errors.New("federation: sign: request has no host")
	case !isASCII(host) || hasControl(host):
		return "", fmt.Errorf("federation: sign: host %q is not ASCII (use its punycode form)", host)
	}
	return host, nil
}

// withAlgorithm rewrites the algorithm parameter httpsig v1.1.0 always sets
// to "hs2019". The parameter is not part of the signed string; rsa-sha256
// is the value every server understands.
func withAlgorithm(sig, keyID, algorithm string) string {
	prefix := `keyId="` + keyID + `",`
	old := prefix + `algorithm="` + AlgorithmHS2019 + `",`
	if !strings.HasPrefix(sig, old) {
		return sig
	}
	return prefix + `algorithm="` + algorithm + `",` + sig[len(old):]
}

// SignatureParams are the parameters of a draft-cavage Signature header.
type SignatureParams struct {
	KeyID     string
	Algorithm string   // lower-cased; empty when the header has none
	Headers   []string // lower-cased, in signing order
	Signature []byte   // decoded signature
}

// ParseSignatureHeader reads the Signature header (or Authorization:
// Signature ...) of r and checks it is acceptable before any key is
// fetched: a known algorithm, and "(request-target)", "host" and "date"
// signed, plus "digest" when the request carries a body.
func ParseSignatureHeader(r *http.Request) (SignatureParams, error) {
	raw, err := signatureHeaderValue(r.Header)
	if err != nil {
		return SignatureParams{}, err
	}
	kv, err := parseSignatureParams(raw)
	if err != nil {
		return SignatureParams{}, sigError(ErrMalformedSignature, "", err)
	}
	p, err := signatureParamsFrom(kv)
	if err != nil {
		return SignatureParams{}, err
	}
	required := []string{requestTargetHeader, "host", "date"}
	if requestHasBody(r) {
		required = append(required, "digest")
	}
	for _, h := range required {
		if !slices.Contains(p.Headers, h) {
			return SignatureParams{}, sigError(ErrMissingSignedHeader, "missing signed header: "+h, nil)
		}
	}
	return p, nil
}

// signatureHeaderValue returns the single signature header value of h.
func signatureHeaderValue(h http.Header) (string, error) {
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

// signatureParamsFrom validates the parameters of a signature header.
func signatureParamsFrom(kv map[string]string) (SignatureParams, error) {
	p := SignatureParams{KeyID: kv["keyid"], Algorithm: strings.ToLower(kv["algorithm"])}
	if p.KeyID == "" {
		return p, sigError(ErrMalformedSignature, "missing keyId", nil)
	}
	switch p.Algorithm {
	case "", AlgorithmRSASHA256, AlgorithmHS2019:
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

// parseSignatureParams splits `k1="v1",k2=v2` into a map keyed by the
// lower-cased parameter names. Quoted values may contain commas.
func parseSignatureParams(s string) (map[string]string, error) {
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
// DefaultSignatureWindow.
func CheckDate(r *http.Request, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultSignatureWindow
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
		return sigError(ErrDateOutsideWindow, "", fmt.Errorf("date %s is %s away from now", v, d.Round(time.Second)))
	}
	return nil
}

// CheckDigest checks the Digest header (RFC 3230) against body. The header
// may list several digests; a SHA-256 one (algorithm name in any case) must
// be among them and match. A request without a body needs no Digest, but
// one that is present must match the empty body.
func CheckDigest(r *http.Request, body []byte) error {
	values := r.Header.Values("Digest")
	if len(values) == 0 {
		if len(body) == 0 && !requestHasBody(r) {
			return nil
		}
		return sigError(ErrMissingDigest, "", nil)
	}
	sum := sha256.Sum256(body)
	found := false
	for _, v := range values {
		for _, d := range strings.Split(v, ",") {
			algo, enc, _ := strings.Cut(strings.TrimSpace(d), "=")
			if !strings.EqualFold(algo, "SHA-256") {
				continue
			}
			got, err := base64.StdEncoding.DecodeString(enc)
			if err != nil || subtle.ConstantTimeCompare(got, sum[:]) != 1 {
				return sigError(ErrDigestMismatch, "", err)
			}
			found = true
		}
	}
	if !found {
		return sigError(ErrMissingDigest, "missing SHA-256 digest", nil)
	}
	return nil
}

// VerifySignature checks the signature of r against pub (an *rsa.PublicKey;
// rsa-sha256 and hs2019 are both verified as RSA-SHA256 PKCS#1 v1.5). It
// applies ParseSignatureHeader's rules first; it does not check the Date
// window nor the Digest (see CheckDate and CheckDigest).
//
// r may be a server request (host from r.Host, target from r.RequestURI as
// received) or a client one (r.Host or r.URL.Host, r.URL). Like Mastodon,
// a target with a query is tried with it, then without it, since many
// implementations sign the path alone (gotosocial#894, mastodon#28476).
func VerifySignature(r *http.Request, pub crypto.PublicKey) error {
	if _, err := ParseSignatureHeader(r); err != nil {
		return err
	}
	key, ok := pub.(*rsa.PublicKey)
	if !ok || key == nil {
		return sigError(ErrUnsupportedAlgorithm, "unsupported key type", fmt.Errorf("key of type %T", pub))
	}
	path, query := incomingTarget(r)
	headers := r.Header.Clone()
	headers.Set("Host", incomingHost(r))
	targets := []string{query}
	if query != "" {
		targets = append(targets, "")
	}
	var lastErr error
	for _, q := range targets {
		scratch := &http.Request{Method: r.Method, URL: &url.URL{Path: path, RawQuery: q}, Header: headers}
		v, err := httpsig.NewVerifier(scratch)
		if err != nil {
			return sigError(ErrMalformedSignature, "", err)
		}
		if lastErr = v.Verify(key, httpsig.RSA_SHA256); lastErr == nil {
			return nil
		}
	}
	return sigError(ErrSignatureInvalid, "", lastErr)
}

// incomingTarget returns the path and the raw query of r as they were sent:
// from RequestURI on a server (r.URL.Path is unescaped there), else from
// r.URL.
func incomingTarget(r *http.Request) (path, query string) {
	uri := r.RequestURI
	if uri == "" || !strings.HasPrefix(uri, "/") {
		// Client-side request, or absolute-form target.
		if r.URL == nil {
			return "/", ""
		}
		uri = r.URL.RequestURI()
	}
	path, query, _ = strings.Cut(uri, "?")
	return path, query
}

// incomingHost is the host the request was sent to.
func incomingHost(r *http.Request) string {
	if r.Host != "" || r.URL == nil {
		return r.Host
	}
	return r.URL.Host
}

// requestHasBody reports whether r carries, or should carry, a body.
func requestHasBody(r *http.Request) bool {
	if methodHasBody(r.Method) || r.ContentLength > 0 {
		return true
	}
	return r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody
}

func methodHasBody(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// ParsePublicKeyPEM parses an RSA public key in SPKI ("PUBLIC KEY") or
// PKCS#1 ("RSA PUBLIC KEY") PEM form, as found in actors' publicKeyPem.
func ParsePublicKeyPEM(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("federation: parse public key: no PEM block")
	}
	switch block.Type {
	case "PUBLIC KEY":
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("federation: parse public key: %w", err)
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("federation: parse public key: %T is not an RSA key", k)
		}
		return rk, nil
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("federation: parse public key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("federation: parse public key: unexpected PEM type %q", block.Type)
	}
}

// ParsePrivateKeyPEM parses an unencrypted RSA private key in PKCS#8
// ("PRIVATE KEY") or PKCS#1 ("RSA PRIVATE KEY") PEM form.
func ParsePrivateKeyPEM(s string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("federation: parse private key: no PEM block")
	}
	switch block.Type {
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("federation: parse private key: %w", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("federation: parse private key: %T is not an RSA key", k)
		}
		return rk, nil
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("federation: parse private key: %w", err)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("federation: parse private key: unexpected PEM type %q", block.Type)
	}
}

// GenerateKeyPair creates an RSA-2048 key pair: the private key as PKCS#8
// PEM, the public key as SPKI PEM (the form Mastodon publishes).
func GenerateKeyPair() (privPEM, pubPEM string, err error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return "", "", fmt.Errorf("federation: generate key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return "", "", fmt.Errorf("federation: generate key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return "", "", fmt.Errorf("federation: generate key: %w", err)
	}
	return pemString("PRIVATE KEY", priv), pemString("PUBLIC KEY", pub), nil
}

func pemString(typ string, der []byte) string {
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: typ, Bytes: der}) // writes to memory: cannot fail
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return true
		}
	}
	return false
}
