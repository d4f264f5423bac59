package httpsig

import (
	"errors"
	"net/http"
)

// Kinds of signature failures. Every error returned by ParseRFC9421 and by
// Verify is a *SignatureError that matches exactly one of them with
// errors.Is.
var (
	ErrMissingSignature     = errors.New("missing signature")
	ErrMalformedSignature   = errors.New("malformed signature")
	ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")
	ErrMissingComponent     = errors.New("missing covered component")
	ErrMissingCreated       = errors.New("missing created")
	ErrOutsideWindow        = errors.New("signature outside validity window")
	ErrMissingDigest        = errors.New("missing digest")
	ErrDigestMismatch       = errors.New("digest mismatch")
	ErrSignatureInvalid     = errors.New("signature does not verify")
)

// SignatureError explains why a signed request was refused. It has the
// same shape as federation.SignatureError (draft-cavage), so an inbox can
// treat both alike.
//
// Reason is short, contains nothing secret and may be sent to the client
// (e.g. "missing covered component: content-digest"); Err, when set, is the
// internal cause, for logs only.
type SignatureError struct {
	Kind   error  // one of the Err* kinds above
	Reason string // client-safe explanation
	Err    error  // underlying cause, may be nil
}

func (e *SignatureError) Error() string {
	if e.Err != nil {
		return "httpsig: verify signature: " + e.Reason + ": " + e.Err.Error()
	}
	return "httpsig: verify signature: " + e.Reason
}

// Unwrap exposes both the kind and the cause to errors.Is and errors.As.
func (e *SignatureError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}

// Status is the HTTP status an inbox should answer with: 400 for requests
// that are malformed whatever the key (bad header syntax, body not matching
// its Content-Digest), 401 for everything else.
func (e *SignatureError) Status() int {
	switch e.Kind {
	case ErrMalformedSignature, ErrDigestMismatch:
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
