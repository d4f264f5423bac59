package federation

// A delivery's retries send the signature of the attempt before, while it
// is well inside every verifier's validity window, instead of signing
// again: the signature is most of a delivery's cost, and 5% of servers
// gone dark plus a few failing once made a fan-out sign about 1.1 times
// per live server (issue 20).
//
// How long a signature stays good, by its Date (draft-cavage) or created
// (RFC 9421) parameter:
//   - Mastodon: valid until 5 minutes after Date/created (RFC 9421: its
//     expires, at most 12 hours; we send none), with an hour of clock skew
//     allowed on top;
//   - Pleroma/Akkoma: up to 2 hours old; Fedify: 1 hour by default.
//
// Mastodon's 5 minutes are the tightest, and its hour of skew is there to
// absorb clocks that are off, not to be spent by senders. A signature is
// reused for resignAfter = 4 minutes: a retry sent then still arrives a
// minute before Mastodon's own expiry, without counting its skew margin;
// past that it is signed again. With delivery's backoff (0.25 s doubling)
// the retries of the first 4 minutes (up to 9, or the 10 s timeouts of a
// dark server, then its unavailable pause) all reuse the first signature.
//
// Where the signature is kept: in memory, in this process, by job id, and
// only for attempts that will be retried (a success, a permanent failure
// or a 410 keeps nothing). Not in the job's payload: that would add a
// write of the signed headers to every failed attempt (the retry already
// writes the job) and change the job runner's contract for an
// optimisation whose loss costs one signature. The job itself is
// untouched, so durability is too: after a crash, kill -9 or a restart,
// or when another replica claims the retry, the retry signs again, as
// before. The cache is bounded (maxResigned entries, about 1 KB each):
// when full, stale entries go first, then new ones are not kept (the
// retry signs).

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/safehttp"
)

// resignAfter is how long a delivery's signature is sent again on its
// retries (see above).
const resignAfter = 4 * time.Minute

// maxResigned bounds the signatures kept for retries.
const maxResigned = 16_384

// signedHeaders are the headers a signature sets, in either spec.
var signedHeaders = []string{"Date", "Digest", "Content-Digest", "Signature-Input", "Signature"}

// signedRequest is the signature of one delivery request: what it was
// signed for, when, and the headers it set.
type signedRequest struct {
	inbox  string
	keyID  string
	spec   httpsig.Spec
	at     time.Time
	host   string   // the Host signed (r.Host)
	values []string // of signedHeaders, "" when not set
}

func newSignedRequest(r *http.Request, inbox, keyID string, spec httpsig.Spec, at time.Time) *signedRequest {
	sr := &signedRequest{inbox: inbox, keyID: keyID, spec: spec, at: at, host: r.Host, values: make([]string, len(signedHeaders))}
	for i, h := range signedHeaders {
		sr.values[i] = r.Header.Get(h)
	}
	return sr
}

// apply sets the signature on r, a new request to the same inbox with the
// same body.
func (sr *signedRequest) apply(r *http.Request) {
	r.Host = sr.host
	for i, h := range signedHeaders {
		if v := sr.values[i]; v != "" {
			r.Header.Set(h, v)
		}
	}
}

// signedCache holds the signatures of failed attempts by job id.
type signedCache struct {
	mu sync.Mutex
	m  map[int64]*signedRequest
}

// keep remembers the signature a job's attempt was sent with, for its
// retry.
func (c *signedCache) keep(job int64, sr *signedRequest, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64]*signedRequest)
	}
	if _, known := c.m[job]; !known && len(c.m) >= maxResigned {
		for id, old := range c.m { // stale ones first
			if now.Sub(old.at) >= resignAfter {
				delete(c.m, id)
			}
		}
		if len(c.m) >= maxResigned {
			return // full: the retry signs again
		}
	}
	c.m[job] = sr
}

// take returns (and forgets) the signature job's last attempt was sent
// with, if it was for the same inbox, key and spec and is younger than
// resignAfter at now; nil otherwise: sign.
func (c *signedCache) take(job int64, inbox, keyID string, spec httpsig.Spec, now time.Time) *signedRequest {
	c.mu.Lock()
	sr := c.m[job]
	if sr != nil {
		delete(c.m, job)
	}
	c.mu.Unlock()
	if sr == nil || sr.inbox != inbox || sr.keyID != keyID || sr.spec != spec {
		return nil
	}
	if age := now.Sub(sr.at); age < 0 || age >= resignAfter {
		return nil
	}
	return sr
}

// retryable reports whether an attempt's outcome will be retried with the
// same request, so that its signature is worth keeping: a transport
// error, or a status that is neither a success, nor final (410, most
// 4xx), nor a refusal of the signature (401, 400: the next attempt signs
// afresh).
func retryable(err error, resp *http.Response) bool {
	if err != nil {
		return !jobs.IsPermanent(err) && !errors.Is(err, safehttp.ErrForbiddenAddress)
	}
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300, c == http.StatusGone, c == http.StatusUnauthorized, c == http.StatusBadRequest:
		return false
	case c == http.StatusRequestTimeout || c == http.StatusTooManyRequests:
		return true
	case c >= 400 && c < 500:
		return false
	}
	return true
}
