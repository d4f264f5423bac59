package fedtest

// An independent draft-cavage HTTP Signatures verifier, written from the
// draft (draft-cavage-http-signatures-12) on crypto/rsa alone. It is
// deliberately strict where Passerelle's peers are: Mastodon's required
// headers, a 5-minute Date window, a SHA-256 Digest, the request target
// exactly as sent.

import (
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// sigParams are the parsed parameters of a Signature header.
type sigParams struct {
	keyID     string
	algorithm string
	headers   []string
	signature []byte
}

// verifyRequest checks the signature of r (and, with a body, its Digest)
// and returns the keyId and the key's owner.
func (s *Server) verifyRequest(r *http.Request, body []byte, opts Options) (keyID, owner string, err error) {
	p, err := parseSignature(r.Header)
	if err != nil {
		return "", "", err
	}
	if err := checkPolicy(r, p, body, opts); err != nil {
		return p.keyID, "", err
	}
	signing, err := signingString(r, p.headers)
	if err != nil {
		return p.keyID, "", err
	}
	key, cached, err := s.keys.get(r.Context(), p.keyID, false)
	if err != nil {
		return p.keyID, "", err
	}
	err = verifyRSA(key.pub, signing, p.signature)
	if err != nil && cached {
		// The signer may have rotated its key: refetch once, like Mastodon.
		if key, _, err = s.keys.get(r.Context(), p.keyID, true); err != nil {
			return p.keyID, "", err
		}
		err = verifyRSA(key.pub, signing, p.signature)
	}
	if err != nil {
		return p.keyID, key.owner, err
	}
	return p.keyID, key.owner, nil
}

// checkPolicy applies the cheap checks: algorithm, signed headers, Date
// and Digest.
func checkPolicy(r *http.Request, p sigParams, body []byte, opts Options) error {
	if p.algorithm != "" && p.algorithm != "rsa-sha256" && p.algorithm != "hs2019" {
		return fmt.Errorf("unsupported algorithm %q", p.algorithm)
	}
	hasBody := r.Method == http.MethodPost
	required := []string{"(request-target)", "host", "date"}
	if hasBody {
		required = append(required, "digest")
	}
	for _, h := range required {
		if !slices.Contains(p.headers, h) {
			return fmt.Errorf("header %q is not signed", h)
		}
	}
	if err := checkDate(r.Header.Get("Date"), opts); err != nil {
		return err
	}
	if hasBody {
		return checkDigest(r.Header.Get("Digest"), body)
	}
	return nil
}

func checkDate(v string, opts Options) error {
	date, err := time.Parse(http.TimeFormat, v)
	if err != nil {
		return fmt.Errorf("bad date %q: %w", v, err)
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	window := opts.DateWindow
	if window <= 0 {
		window = DefaultDateWindow
	}
	if d := now.Sub(date); d > window || d < -window {
		return fmt.Errorf("date %q is %v away from now", v, d.Round(time.Second))
	}
	return nil
}

// checkDigest accepts a Digest header listing a matching SHA-256 digest.
func checkDigest(v string, body []byte) error {
	sum := sha256.Sum256(body)
	want := base64.StdEncoding.EncodeToString(sum[:])
	for _, part := range strings.Split(v, ",") {
		algo, got, _ := strings.Cut(strings.TrimSpace(part), "=")
		if strings.EqualFold(algo, "SHA-256") {
			if got != want {
				return fmt.Errorf("digest %q does not match the body (SHA-256=%s)", v, want)
			}
			return nil
		}
	}
	return fmt.Errorf("no SHA-256 digest in %q", v)
}

// parseSignature reads the Signature header, or Authorization: Signature.
func parseSignature(h http.Header) (sigParams, error) {
	raw := h.Get("Signature")
	if auth, ok := strings.CutPrefix(h.Get("Authorization"), "Signature "); raw == "" && ok {
		raw = auth
	}
	if raw == "" {
		return sigParams{}, errors.New("no signature")
	}
	params := map[string]string{}
	for rest := strings.TrimSpace(raw); rest != ""; {
		name, value, next, err := nextParam(rest)
		if err != nil {
			return sigParams{}, fmt.Errorf("malformed Signature header: %w", err)
		}
		params[name] = value
		rest = next
	}
	p := sigParams{keyID: params["keyId"], algorithm: strings.ToLower(params["algorithm"])}
	headers, ok := params["headers"]
	if !ok {
		headers = "date"
	}
	p.headers = strings.Fields(strings.ToLower(headers))
	sig, err := base64.StdEncoding.DecodeString(params["signature"])
	if err != nil || len(sig) == 0 || p.keyID == "" {
		return sigParams{}, errors.New("malformed Signature header: keyId or signature missing")
	}
	p.signature = sig
	return p, nil
}

// nextParam reads `name="value"` (or name=token) and the comma after it.
func nextParam(s string) (name, value, rest string, err error) {
	name, s, ok := strings.Cut(s, "=")
	if !ok {
		return "", "", "", fmt.Errorf("no '=' in %q", s)
	}
	name = strings.TrimSpace(name)
	s = strings.TrimSpace(s)
	if quoted, ok := strings.CutPrefix(s, `"`); ok {
		end := strings.IndexByte(quoted, '"')
		if end < 0 {
			return "", "", "", fmt.Errorf("unterminated value of %s", name)
		}
		value, s = quoted[:end], quoted[end+1:]
	} else {
		value, s, _ = strings.Cut(s, ",")
		s = "," + s
	}
	s = strings.TrimSpace(s)
	if s != "" && s[0] != ',' {
		return "", "", "", fmt.Errorf("junk after %s", name)
	}
	return name, value, strings.TrimSpace(strings.TrimPrefix(s, ",")), nil
}

// signingString builds the string the signer signed, from the request as
// received.
func signingString(r *http.Request, headers []string) (string, error) {
	lines := make([]string, 0, len(headers))
	for _, h := range headers {
		switch h {
		case "(request-target)":
			target := r.RequestURI
			if target == "" {
				target = r.URL.RequestURI()
			}
			lines = append(lines, h+": "+strings.ToLower(r.Method)+" "+target)
		case "host":
			lines = append(lines, "host: "+r.Host)
		default:
			values := r.Header.Values(h)
			if len(values) == 0 || strings.HasPrefix(h, "(") {
				return "", fmt.Errorf("signed header %q is absent or unsupported", h)
			}
			for i, v := range values {
				values[i] = strings.TrimSpace(v)
			}
			lines = append(lines, h+": "+strings.Join(values, ", "))
		}
	}
	return strings.Join(lines, "\n"), nil
}

func verifyRSA(pub *rsa.PublicKey, signing string, sig []byte) error {
	sum := sha256.Sum256([]byte(signing))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig); err != nil {
		return fmt.Errorf("signature does not verify: %w", err)
	}
	return nil
}

// remoteKey is a signer's public key and its owner's actor id.
type remoteKey struct {
	pub   *rsa.PublicKey
	owner string
}

// keyCache fetches key documents over HTTP and keeps them.
type keyCache struct {
	client  *http.Client
	mu      sync.Mutex
	keys    map[string]remoteKey
	fetches int
}

func newKeyCache(c *http.Client) *keyCache {
	if c == nil {
		c = &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	}
	return &keyCache{client: c, keys: map[string]remoteKey{}}
}

func (c *keyCache) fetchCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

func (c *keyCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.keys = map[string]remoteKey{}
}

// get returns the key keyID, from the cache unless refresh; cached says
// whether it came from the cache.
func (c *keyCache) get(ctx context.Context, keyID string, refresh bool) (k remoteKey, cached bool, err error) {
	c.mu.Lock()
	k, ok := c.keys[keyID]
	c.mu.Unlock()
	if ok && !refresh {
		return k, true, nil
	}
	k, err = c.fetch(ctx, keyID)
	if err != nil {
		return remoteKey{}, false, err
	}
	c.mu.Lock()
	c.keys[keyID] = k
	c.fetches++
	c.mu.Unlock()
	return k, false, nil
}

// fetch GETs the document of keyID (an actor with a publicKey, or a bare
// key document) and checks the key's id and owner.
func (c *keyCache) fetch(ctx context.Context, keyID string) (remoteKey, error) {
	docURL, _, _ := strings.Cut(keyID, "#")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, docURL, nil)
	if err != nil {
		return remoteKey{}, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	req.Header.Set("Accept", ContentTypeAS2)
	resp, err := c.client.Do(req)
	if err != nil {
		return remoteKey{}, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return remoteKey{}, fmt.Errorf("fetch key %s: status %d", keyID, resp.StatusCode)
	}
	var doc struct {
		ID           string          `json:"id"`
		Owner        string          `json:"owner"`        // when the document
		PublicKeyPem string          `json:"publicKeyPem"` // is a key itself
		PublicKey    json.RawMessage `json:"publicKey"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&doc); err != nil {
		return remoteKey{}, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	self := publicKeyDoc{ID: doc.ID, Owner: doc.Owner, PublicKeyPem: doc.PublicKeyPem}
	kd, err := findKey(keyID, self, doc.PublicKey)
	if err != nil {
		return remoteKey{}, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	pub, err := parsePublicKey(kd.PublicKeyPem)
	if err != nil {
		return remoteKey{}, fmt.Errorf("fetch key %s: %w", keyID, err)
	}
	return remoteKey{pub: pub, owner: kd.Owner}, nil
}

// findKey picks keyID among the document's keys: the document itself if
// it is a key, else its publicKey (an object or an array of them).
func findKey(keyID string, self publicKeyDoc, raw json.RawMessage) (publicKeyDoc, error) {
	var candidates []publicKeyDoc
	if self.PublicKeyPem != "" {
		candidates = append(candidates, self)
	}
	var one publicKeyDoc
	var many []publicKeyDoc
	switch {
	case len(raw) == 0:
	case json.Unmarshal(raw, &one) == nil:
		candidates = append(candidates, one)
	case json.Unmarshal(raw, &many) == nil:
		candidates = append(candidates, many...)
	default:
		return publicKeyDoc{}, errors.New("malformed publicKey")
	}
	for _, k := range candidates {
		if k.ID == keyID {
			if k.Owner == "" {
				k.Owner = self.ID
			}
			return k, nil
		}
	}
	return publicKeyDoc{}, errors.New("document has no key with this id")
}

// parsePublicKey parses an RSA public key in SPKI or PKCS#1 PEM form.
func parsePublicKey(s string) (*rsa.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("publicKeyPem is not PEM")
	}
	if block.Type == "RSA PUBLIC KEY" {
		return x509.ParsePKCS1PublicKey(block.Bytes)
	}
	k, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	pub, ok := k.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key of type %T, want RSA", k)
	}
	return pub, nil
}
