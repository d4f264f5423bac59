package atproto

import (
	"context"
	"errors"
	"net/http"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/safehttp"
)

// What went wrong decides what the worker does: retry later (network
// errors, 5xx, 408), wait for the rate limit (429), pause the account
// (login refused), or give up on the post at once (the PDS rejected the
// record or a blob, an image cannot be decoded): retrying cannot help those.

// permanent marks a failure that retrying cannot fix (the runner's
// jobs.PermanentError).
func permanent(err error) error { return jobs.Permanent(err) }

// LoginError is a refused login (wrong identifier or app password, a
// suspended account, a second factor required): the account is paused
// until the configuration changes.
type LoginError struct{ Err error }

func (e *LoginError) Error() string { return "login failed: " + e.Err.Error() }
func (e *LoginError) Unwrap() error { return e.Err }

// errorKind classifies an error.
type errorKind int

const (
	kindTransient errorKind = iota
	kindPermanent
	kindRateLimited
	kindLogin
	kindSessionExpired // the tokens are no longer valid: log in again
	kindCancelled
)

// sessionErrors are the XRPC error names of an unusable session.
var sessionErrors = map[string]bool{
	"ExpiredToken": true, "InvalidToken": true, "AuthenticationRequired": true, "AuthMissing": true,
}

func classify(err error) errorKind {
	var (
		pe  *jobs.PermanentError
		le  *LoginError
		rl  *RateLimitedError
		api *atclient.APIError
	)
	switch {
	case err == nil:
		return kindTransient
	case errors.As(err, &le):
		return kindLogin
	case errors.As(err, &rl):
		return kindRateLimited
	case errors.As(err, &pe):
		return kindPermanent
	case errors.Is(err, context.Canceled):
		return kindCancelled
	case errors.Is(err, media.ErrCorrupt), errors.Is(err, media.ErrUnsupported),
		errors.Is(err, media.ErrTooManyPixels), errors.Is(err, media.ErrTooLarge):
		return kindPermanent
	case errors.Is(err, safehttp.ErrForbiddenAddress):
		return kindPermanent
	case errors.As(err, &api):
		switch c := api.StatusCode; {
		case c == http.StatusTooManyRequests:
			return kindRateLimited
		case c == http.StatusUnauthorized, c == http.StatusBadRequest && sessionErrors[api.Name]:
			return kindSessionExpired
		case c == http.StatusRequestTimeout, c >= 500, c == 0:
			return kindTransient
		case c >= 400:
			return kindPermanent
		}
	}
	return kindTransient
}
