package httpsig

import (
	"errors"
	"net/http"
	"testing"
)

// TestSignatureErrorShape checks the error type: kind and cause both
// reachable, status by kind (one type and one set of kinds for both specs).
func TestSignatureErrorShape(t *testing.T) {
	cause := errors.New("boom")
	err := error(sigError(ErrDigestMismatch, "", cause))
	if !errors.Is(err, ErrDigestMismatch) || !errors.Is(err, cause) {
		t.Fatal("kind or cause not reachable with errors.Is")
	}
	if got := err.Error(); got != "httpsig: verify signature: digest mismatch: boom" {
		t.Fatalf("Error() = %q", got)
	}
	statuses := map[error]int{
		ErrMissingSignature: 401, ErrMalformedSignature: 400, ErrUnsupportedAlgorithm: 401,
		ErrMissingComponent: 401, ErrMissingDate: 401, ErrMalformedDate: 400, ErrOutsideWindow: 401,
		ErrMissingDigest: 401, ErrDigestMismatch: 400, ErrSignatureInvalid: 401,
	}
	for kind, want := range statuses {
		if got := sigError(kind, "", nil).Status(); got != want {
			t.Errorf("%v: status %d, want %d", kind, got, want)
		}
	}
}

func TestSignatureErrorStatus(t *testing.T) {
	tests := []struct {
		name string
		kind error
		want int
	}{
		{"missing signature", ErrMissingSignature, http.StatusUnauthorized},
		{"does not verify", ErrSignatureInvalid, http.StatusUnauthorized},
		{"date outside window", ErrOutsideWindow, http.StatusUnauthorized},
		{"digest mismatch", ErrDigestMismatch, http.StatusBadRequest},
		{"malformed signature", ErrMalformedSignature, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &SignatureError{Kind: tt.kind, Reason: tt.kind.Error()}
			if got := e.Status(); got != tt.want {
				t.Errorf("Status() = %d, want %d", got, tt.want)
			}
		})
	}
}
