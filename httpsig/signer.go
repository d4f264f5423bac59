package httpsig

import (
	"crypto"
	"fmt"
	"net/http"
	"time"
)

// Spec is an HTTP signature specification.
type Spec string

// The two specs ActivityPub servers sign with.
const (
	// SpecCavage is draft-cavage-http-signatures-12: a Signature (or
	// Authorization: Signature) header with keyId, algorithm, headers
	// and signature. Every server verifies it.
	SpecCavage Spec = "draft-cavage"
	// SpecRFC9421 is RFC 9421 HTTP Message Signatures: Signature-Input
	// and Signature headers. Mastodon 4.5 and Fedify verify it.
	SpecRFC9421 Spec = "rfc9421"
)

// Signer signs outgoing requests with one actor's key, in either spec. It
// is a value with no mutable state: safe for concurrent use.
type Signer struct {
	KeyID string // e.g. https://example.org/users/news#main-key
	// Key is an *rsa.PrivateKey (both specs) or an ed25519.PrivateKey
	// (RFC 9421 only: draft-cavage signatures are RSA-SHA256).
	Key crypto.Signer
}

// Sign signs r in spec: SignCavage or SignRFC9421. body is exactly what r
// sends (nil for a GET). Sign again on every retry: signatures expire.
func (s Signer) Sign(spec Spec, r *http.Request, body []byte, now time.Time) error {
	switch spec {
	case SpecCavage:
		return s.SignCavage(r, body, now)
	case SpecRFC9421:
		return s.SignRFC9421(r, body, now)
	default:
		return fmt.Errorf("httpsig: sign: unknown spec %q", spec)
	}
}
