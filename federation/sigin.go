package federation

// Inbound HTTP signatures, in either spec: RFC 9421 HTTP Message
// Signatures (Signature-Input and Signature; Fedify signs with it first,
// Mastodon 4.5 verifies it) and draft-cavage (Signature with keyId; every
// other server). Both go through the same steps: the checks that need no
// key first (syntax, what is covered, the time window, the body's
// digest), then the key of the key id, then the signature itself.

import (
	"crypto"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/httpsig"
)

// Signature specs, as remembered per host (knock.go).
const (
	specCavage  = "draft-cavage"
	specRFC9421 = "rfc9421"
)

// inboundSignature is a request's signature, checked as far as it can be
// without the signer's key.
type inboundSignature struct {
	spec   string
	keyID  string
	rfc    httpsig.Params // specRFC9421
	body   []byte         // the request's body, for RFC 9421's Content-Digest
	signed *http.Request
}

// isSigned reports whether r carries a signature of either spec.
func isSigned(r *http.Request) bool {
	if httpsig.IsRFC9421(r) || r.Header.Get("Signature") != "" {
		return true
	}
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Signature")
}

// signatureKeyID returns the key id of r's signature, or "" when it has no
// readable one: for the guard's checks before the body is read.
func signatureKeyID(r *http.Request) string {
	if httpsig.IsRFC9421(r) {
		if p, err := httpsig.ParseRFC9421(r); err == nil {
			return p.KeyID
		}
		return ""
	}
	if p, err := ParseSignatureHeader(r); err == nil {
		return p.KeyID
	}
	return ""
}

// parseSignature reads r's signature and runs the checks that need no
// key: an acceptable header, the Date (draft-cavage) or created/expires
// (RFC 9421) within the window, the body's Digest or Content-Digest, and
// the host signed for being ours. Errors are 401 (400 for a body that
// does not match its digest).
func (s *Service) parseSignature(r *http.Request, body []byte) (inboundSignature, error) {
	sig := inboundSignature{body: body, signed: r}
	if httpsig.IsRFC9421(r) {
		p, err := httpsig.ParseRFC9421(r)
		if err != nil {
			return sig, refuse(http.StatusUnauthorized, signatureReason(err), err)
		}
		sig.spec, sig.keyID, sig.rfc = specRFC9421, p.KeyID, p
		if d := s.now().Sub(p.Created); d > s.signatureWindow() || d < -s.signatureWindow() {
			return sig, refuse(http.StatusUnauthorized, "created outside window", nil)
		}
		if body != nil || methodHasBody(r.Method) {
			if err := httpsig.CheckContentDigest(r.Header, body); err != nil {
				return sig, refuse(http.StatusUnauthorized, signatureReason(err), err)
			}
		}
	} else {
		p, err := ParseSignatureHeader(r)
		if err != nil {
			return sig, refuse(http.StatusUnauthorized, signatureReason(err), err)
		}
		sig.spec, sig.keyID = specCavage, p.KeyID
		if err := CheckDate(r, s.now(), s.signatureWindow()); err != nil {
			return sig, refuse(http.StatusUnauthorized, signatureReason(err), err)
		}
		if err := CheckDigest(r, body); err != nil {
			return sig, refuse(http.StatusUnauthorized, signatureReason(err), err)
		}
	}
	if !s.ourHost(r.Host) {
		return sig, refuse(http.StatusUnauthorized, "signed for another host", nil)
	}
	return sig, nil
}

// verify checks the signature with pub (RSA, or Ed25519 for RFC 9421).
func (s *Service) verify(sig inboundSignature, pub crypto.PublicKey) error {
	if sig.spec == specRFC9421 {
		v := httpsig.Verifier{PublicScheme: s.publicScheme, Window: s.signatureWindow()}
		return v.VerifyRFC9421(sig.signed, sig.body, sig.rfc, pub, s.now())
	}
	return VerifySignature(sig.signed, pub)
}

// signatureReason returns the client-safe reason of a signature error, or
// a generic one for any other error.
func signatureReason(err error) string {
	var se *SignatureError
	if errors.As(err, &se) {
		return se.Reason
	}
	var he *httpsig.SignatureError
	if errors.As(err, &he) {
		return he.Reason
	}
	return ErrSignatureInvalid.Error()
}

// parseKey reads a stored public key (SPKI PEM: RSA or Ed25519).
func parseKey(pem string) (crypto.PublicKey, error) {
	return httpsig.ParsePublicKeyPEM(pem)
}

// signatureWindow is how far a signature's Date (or created) may be from
// now, either way.
func (s *Service) signatureWindow() time.Duration {
	if w := time.Duration(s.set.Federation.SignatureWindow); w > 0 {
		return w
	}
	return DefaultSignatureWindow
}
