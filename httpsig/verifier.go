package httpsig

import "time"

// DefaultWindow is the clock skew Verifier tolerates on created when
// given a non-positive window: an hour, as Mastodon and Fedify allow.
const DefaultWindow = time.Hour

// Verifier checks the signatures of requests received by a server. It is
// a value with no mutable state: safe for concurrent use.
type Verifier struct {
	// PublicScheme is the scheme ("https" or "http") peers used to reach
	// this server, which is the scheme of the @target-uri they signed.
	// Set it to "https" when a TLS-terminating reverse proxy forwards
	// plain HTTP to the bridge: r.TLS is then nil although the signer
	// signed an https URI. Empty means "https" when r.TLS is set, else
	// "http" (for a client-side request, r.URL.Scheme).
	PublicScheme string

	// Window is the clock skew tolerated on created, both ways: a
	// signature created more than Window ago or more than Window ahead of
	// now is refused. Non-positive means DefaultWindow.
	Window time.Duration
}
