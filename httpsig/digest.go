package httpsig

// Body digests: Digest (RFC 3230), signed by draft-cavage signatures, and
// Content-Digest (RFC 9530), covered by RFC 9421 ones.

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/dunglas/httpsfv"
)

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

// CheckContentDigest checks the Content-Digest header of h (RFC 9530, a
// structured-field dictionary such as `sha-256=:<base64>:`) against body.
// sha-256 and sha-512 are understood, other algorithms are ignored. At
// least one understood digest must be present, and every understood digest
// present must match: a header listing a good sha-256 and a bad sha-512 is
// refused.
func CheckContentDigest(h http.Header, body []byte) error {
	values := h.Values("Content-Digest")
	if len(values) == 0 {
		return sigError(ErrMissingDigest, "missing Content-Digest", nil)
	}
	dict, err := httpsfv.UnmarshalDictionary(values)
	if err != nil {
		return sigError(ErrDigestMismatch, "malformed Content-Digest", err)
	}
	found := false
	for _, algo := range dict.Names() {
		var sum []byte
		switch algo {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		member, _ := dict.Get(algo)
		item, ok := member.(httpsfv.Item)
		if !ok {
			return sigError(ErrDigestMismatch, "malformed Content-Digest", nil)
		}
		got, ok := item.Value.([]byte)
		if !ok {
			return sigError(ErrDigestMismatch, "malformed Content-Digest", nil)
		}
		if subtle.ConstantTimeCompare(got, sum) != 1 {
			return sigError(ErrDigestMismatch, "", nil)
		}
		found = true
	}
	if !found {
		return sigError(ErrMissingDigest, "no sha-256 or sha-512 Content-Digest", nil)
	}
	return nil
}

// contentDigest is the Content-Digest header value for body, with SHA-256
// (the one algorithm Mastodon reads).
func contentDigest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"
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
