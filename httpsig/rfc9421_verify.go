package httpsig

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"net/http"
	"time"
)

// VerifyRFC9421 checks the RFC 9421 signature p (from ParseRFC9421(r)) of
// r against pub, the public key of p.KeyID: an *rsa.PublicKey or an
// ed25519.PublicKey. body must be the request body exactly as received
// (nil or empty without one).
//
// In order, it checks:
//   - created within Window of now, both ways; expires, when present, not
//     in the past (no tolerance: it is the signer's own limit);
//   - the algorithm: p.Alg when present (rsa-v1_5-sha256 or rsa-pss-sha512
//     need an RSA key, ed25519 an Ed25519 key; a contradiction is refused),
//     else inferred from the key (RSA: rsa-v1_5-sha256, Ed25519: ed25519).
//     A caller that knows the algorithm from the key material (an RSA-PSS
//     key) may set p.Alg itself (the signature base, built from the
//     header as received, does not change);
//   - Content-Digest (RFC 9530), whenever the request has or should have a
//     body or the header is present or covered: at least one sha-256 or
//     sha-512 digest, and every one present matching body;
//   - the signature over the signature base (RFC 9421 §2.5) rebuilt from
//     r as received: @authority from r.Host, the request target from
//     r.RequestURI, the scheme as documented on PublicScheme, the
//     @signature-params line from the Signature-Input member.
//
// VerifyRFC9421 does not check that the key belongs to whoever the body claims
// acted, nor that r.Host is one of ours: that is the caller's policy.
func (v Verifier) VerifyRFC9421(r *http.Request, body []byte, p Params, pub crypto.PublicKey, now time.Time) error {
	if p.sigParams == "" || len(p.Signature) == 0 {
		return sigError(ErrMalformedSignature, "signature parameters not parsed", nil)
	}
	if err := checkTime(p, now, v.Window); err != nil {
		return err
	}
	alg, err := resolveAlg(p.Alg, pub)
	if err != nil {
		return err
	}
	if requestHasBody(r) || len(body) > 0 || p.Covers("content-digest") || len(r.Header.Values("Content-Digest")) > 0 {
		if err := CheckContentDigest(r.Header, body); err != nil {
			return err
		}
	}
	base, err := newMessage(r, v.scheme(r)).signatureBase(p.Components, p.sigParams)
	if err != nil {
		return err
	}
	if err := verifyBase(alg, pub, []byte(base), p.Signature); err != nil {
		return sigError(ErrSignatureInvalid, "", err)
	}
	return nil
}

// scheme is the scheme of the target URI of r.
func (v Verifier) scheme(r *http.Request) string {
	switch {
	case v.PublicScheme != "":
		return v.PublicScheme
	case r.RequestURI == "" && r.URL != nil && r.URL.Scheme != "":
		return r.URL.Scheme
	case r.TLS != nil:
		return "https"
	default:
		return "http"
	}
}

// checkTime checks created and expires against now.
func checkTime(p Params, now time.Time, window time.Duration) error {
	if window <= 0 {
		window = DefaultWindow
	}
	switch {
	case p.Created.IsZero():
		return sigError(ErrMissingDate, "missing created parameter", nil)
	case p.Created.After(now.Add(window)):
		return sigError(ErrOutsideWindow, "signature created in the future",
			fmt.Errorf("created %s is %s ahead of now", p.Created.UTC().Format(time.RFC3339), p.Created.Sub(now)))
	case p.Created.Before(now.Add(-window)):
		return sigError(ErrOutsideWindow, "signature created too long ago",
			fmt.Errorf("created %s is %s before now", p.Created.UTC().Format(time.RFC3339), now.Sub(p.Created)))
	case !p.Expires.IsZero() && now.After(p.Expires):
		return sigError(ErrOutsideWindow, "signature expired",
			fmt.Errorf("expired at %s", p.Expires.UTC().Format(time.RFC3339)))
	}
	return nil
}

// resolveAlg returns the algorithm to verify with, given the alg parameter
// (maybe empty) and the key.
func resolveAlg(alg string, pub crypto.PublicKey) (string, error) {
	var isRSA bool
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", sigError(ErrUnsupportedAlgorithm, "unsupported key type", fmt.Errorf("nil RSA key"))
		}
		isRSA = true
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return "", sigError(ErrUnsupportedAlgorithm, "unsupported key type", fmt.Errorf("Ed25519 key of %d bytes", len(k)))
		}
	default:
		return "", sigError(ErrUnsupportedAlgorithm, "unsupported key type", fmt.Errorf("key of type %T", pub))
	}
	rsaAlg := alg == AlgRSAv15SHA256 || alg == AlgRSAPSSSHA512
	switch {
	case alg == "" && isRSA:
		return AlgRSAv15SHA256, nil
	case alg == "":
		return AlgEd25519, nil
	case !rsaAlg && alg != AlgEd25519:
		return "", sigError(ErrUnsupportedAlgorithm, "", fmt.Errorf("alg %q", alg))
	case rsaAlg != isRSA:
		return "", sigError(ErrUnsupportedAlgorithm, "key type does not match alg", fmt.Errorf("alg %q with key of type %T", alg, pub))
	default:
		return alg, nil
	}
}

// verifyBase checks sig over base with pub, for a resolved alg.
func verifyBase(alg string, pub crypto.PublicKey, base, sig []byte) error {
	switch alg {
	case AlgRSAv15SHA256:
		sum := sha256.Sum256(base)
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, sum[:], sig)
	case AlgRSAPSSSHA512:
		sum := sha512.Sum512(base)
		// RFC 9421 §3.3.1: MGF1 with SHA-512, a 64-byte salt.
		return rsa.VerifyPSS(pub.(*rsa.PublicKey), crypto.SHA512, sum[:], sig, &rsa.PSSOptions{SaltLength: 64, Hash: crypto.SHA512})
	case AlgEd25519:
		if !ed25519.Verify(pub.(ed25519.PublicKey), base, sig) {
			return fmt.Errorf("ed25519: invalid signature")
		}
		return nil
	default:
		return fmt.Errorf("unsupported alg %q", alg)
	}
}
