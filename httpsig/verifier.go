package httpsig

import (
	"crypto"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// DefaultWindow is the clock skew tolerated on a signature's Date
// (draft-cavage) or created (RFC 9421) when none is given: an hour, as
// Mastodon and Fedify allow.
const DefaultWindow = time.Hour

// Verifier checks the signatures of requests received by a server, in
// either spec. It is a value with no mutable state: safe for concurrent
// use.
type Verifier struct {
	// PublicScheme is the scheme ("https" or "http") peers used to reach
	// this server, which is the scheme of the @target-uri they signed
	// (RFC 9421; draft-cavage signs no scheme). Set it to "https" when a
	// TLS-terminating reverse proxy forwards plain HTTP to the bridge:
	// r.TLS is then nil although the signer signed an https URI. Empty
	// means "https" when r.TLS is set, else "http" (for a client-side
	// request, r.URL.Scheme).
	PublicScheme string

	// Window is the clock skew tolerated on the Date header
	// (draft-cavage) or the created parameter (RFC 9421), both ways: a
	// signature made more than Window ago or more than Window ahead of
	// now is refused. Non-positive means DefaultWindow.
	Window time.Duration
}

// Signature is the signature of a received request, in either spec, as
// read by ParseSignature or Verifier.Check.
type Signature struct {
	Spec    Spec
	KeyID   string       // never empty
	RFC9421 Params       // when Spec is SpecRFC9421
	Cavage  CavageParams // when Spec is SpecCavage
}

// IsSigned reports whether r carries a signature of either spec: a
// Signature-Input, Signature or Authorization: Signature header. It does
// not say whether the signature is readable.
func IsSigned(r *http.Request) bool {
	if IsRFC9421(r) || r.Header.Get("Signature") != "" {
		return true
	}
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Signature")
}

// ParseSignature reads the signature of r in the spec its headers use:
// RFC 9421 when r has a Signature-Input header (ParseRFC9421), else
// draft-cavage (ParseCavage). Like those, it needs no key, no clock and no
// body: an inbox can read the key id (to refuse a blocked domain, say)
// before anything else.
func ParseSignature(r *http.Request) (Signature, error) {
	if IsRFC9421(r) {
		p, err := ParseRFC9421(r)
		if err != nil {
			return Signature{}, err
		}
		return Signature{Spec: SpecRFC9421, KeyID: p.KeyID, RFC9421: p}, nil
	}
	p, err := ParseCavage(r)
	if err != nil {
		return Signature{}, err
	}
	return Signature{Spec: SpecCavage, KeyID: p.KeyID, Cavage: p}, nil
}

// Check reads the signature of r with ParseSignature and runs every check
// that needs no key, so that an inbox refuses a request before fetching
// anything:
//   - draft-cavage: the Date header within Window of now (CheckDate) and
//     the Digest header against body (CheckDigest);
//   - RFC 9421: created within Window of now, and Content-Digest against
//     body (CheckContentDigest) when body is not nil or the method is
//     POST, PUT or PATCH.
//
// body is the request body exactly as received, nil for a GET. Verify
// then checks the signature itself with the signer's key.
func (v Verifier) Check(r *http.Request, body []byte, now time.Time) (Signature, error) {
	sig, err := ParseSignature(r)
	if err != nil {
		return sig, err
	}
	window := v.window()
	if sig.Spec == SpecRFC9421 {
		if d := now.Sub(sig.RFC9421.Created); d > window || d < -window {
			return sig, sigError(ErrOutsideWindow, "created outside window",
				fmt.Errorf("created %s is %s away from now", sig.RFC9421.Created.UTC().Format(time.RFC3339), d.Round(time.Second)))
		}
		if body != nil || methodHasBody(r.Method) {
			if err := CheckContentDigest(r.Header, body); err != nil {
				return sig, err
			}
		}
		return sig, nil
	}
	if err := CheckDate(r, now, window); err != nil {
		return sig, err
	}
	if err := CheckDigest(r, body); err != nil {
		return sig, err
	}
	return sig, nil
}

// Verify checks sig (from Check or ParseSignature on r) against pub, the
// public key of sig.KeyID: VerifyCavage (an RSA key) or VerifyRFC9421 (an
// RSA or Ed25519 key). body and now are those given to Check.
func (v Verifier) Verify(r *http.Request, body []byte, sig Signature, pub crypto.PublicKey, now time.Time) error {
	switch sig.Spec {
	case SpecCavage:
		return VerifyCavage(r, pub)
	case SpecRFC9421:
		return v.VerifyRFC9421(r, body, sig.RFC9421, pub, now)
	default:
		return sigError(ErrMalformedSignature, "signature parameters not parsed", nil)
	}
}

func (v Verifier) window() time.Duration {
	if v.Window <= 0 {
		return DefaultWindow
	}
	return v.Window
}
