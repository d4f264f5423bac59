package federation

// Inbound HTTP signatures, in either spec: RFC 9421 HTTP Message
// Signatures (Signature-Input and Signature; Fedify signs with it first,
// Mastodon 4.5 verifies it) and draft-cavage (Signature with keyId; every
// other server). httpsig reads and checks both; here is our policy: the
// window from the configuration, the host signed for being ours, and a
// 401 with a client-safe reason for any refusal. The key of the key id is
// fetched in between (inbox.go).

import (
	"crypto"
	"errors"
	"net/http"
	"time"

	"github.com/passerelle/passerelle/httpsig"
)

// inboundSignature is a request's signature, checked as far as it can be
// without the signer's key.
type inboundSignature struct {
	httpsig.Signature
	body   []byte // the request's body, for RFC 9421's Content-Digest
	signed *http.Request
}

// signatureKeyID returns the key id of r's signature, or "" when it has no
// readable one: for the guard's checks before the body is read.
func signatureKeyID(r *http.Request) string {
	if sig, err := httpsig.ParseSignature(r); err == nil {
		return sig.KeyID
	}
	return ""
}

// verifier checks signatures with our public scheme and window.
func (s *Service) verifier() httpsig.Verifier {
	return httpsig.Verifier{PublicScheme: s.publicScheme, Window: s.signatureWindow()}
}

// parseSignature reads r's signature and runs the checks that need no
// key: an acceptable header, the Date (draft-cavage) or created (RFC 9421)
// within the window, the body's Digest or Content-Digest, and the host
// signed for being ours. Errors are 401.
func (s *Service) parseSignature(r *http.Request, body []byte) (inboundSignature, error) {
	sig := inboundSignature{body: body, signed: r}
	var err error
	if sig.Signature, err = s.verifier().Check(r, body, s.now()); err != nil {
		return sig, refuse(http.StatusUnauthorized, signatureReason(err), err)
	}
	if !s.ourHost(r.Host) {
		return sig, refuse(http.StatusUnauthorized, "signed for another host", nil)
	}
	return sig, nil
}

// verify checks the signature with pub (RSA, or Ed25519 for RFC 9421).
func (s *Service) verify(sig inboundSignature, pub crypto.PublicKey) error {
	return s.verifier().Verify(sig.signed, sig.body, sig.Signature, pub, s.now())
}

// signatureReason returns the client-safe reason of a signature error, or
// a generic one for any other error.
func signatureReason(err error) string {
	var se *httpsig.SignatureError
	if errors.As(err, &se) {
		return se.Reason
	}
	return httpsig.ErrSignatureInvalid.Error()
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
	return httpsig.DefaultWindow
}
