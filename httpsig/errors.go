package httpsig

import (
	"errors"
	"net/http"
)

// Kinds of signature failures, the same for both specs. Every error
// returned by the parsing, checking and verifying functions of this
// package (ParseSignature, ParseCavage, ParseRFC9421, CheckDate,
// CheckDigest, CheckContentDigest, Verifier.Check, Verifier.Verify,
// VerifyCavage, Verifier.VerifyRFC9421) is a *SignatureError that matches
// exactly one of them with errors.Is.
var (
	ErrMissingSignature     = errors.New("missing signature")
	ErrMalformedSignature   = errors.New("malformed signature")
	ErrUnsupportedAlgorithm = errors.New("unsupported algorithm")
	// ErrMissingComponent: a header (draft-cavage) or a component (RFC
	// 9421) that must be signed is not, or a covered field is absent.
	ErrMissingComponent = errors.New("missing covered component")
	// ErrMissingDate: no Date header (draft-cavage) or no created
	// parameter (RFC 9421) to check the signature's age with.
	ErrMissingDate   = errors.New("missing date")
	ErrMalformedDate = errors.New("malformed date")
	// ErrOutsideWindow: the Date (draft-cavage) or created (RFC 9421) is
	// too far from now, or the signature has expired.
	ErrOutsideWindow    = errors.New("signature outside validity window")
	ErrMissingDigest    = errors.New("missing digest")
	ErrDigestMismatch   = errors.New("digest mismatch")
	ErrSignatureInvalid = errors.New("signature does not verify")
)

// SignatureError explains why a signed request was refused, in either
// spec.
//
// Reason is short, contains nothing secret and may be sent to the client
// (e.g. "missing signed header: digest", "missing covered component:
// content-digest"); Err, when set, is the internal cause, for logs only.
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
// that are malformed whatever the key (bad header syntax, bad Date, body
// not matching its Digest or Content-Digest), 401 for everything else.
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
