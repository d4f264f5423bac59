package atproto

import (
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// The PDS announces its limits in RateLimit-Limit, -Remaining, -Reset and
// -Policy headers (Reset in Unix seconds on Bluesky's servers, in seconds
// from now in the IETF draft: both are accepted) and answers 429 past them,
// with Retry-After or RateLimit-Reset saying when to come back.
// createSession is limited hardest (of the order of 100 per day). Each
// account's requests go through a rateTransport that remembers the time
// before which no request may be sent, and refuses requests until then
// without sending them, so that a limit is never hammered.

// RateLimitedError is returned instead of sending a request while the
// account is rate limited, and by the worker for a 429.
type RateLimitedError struct{ Until time.Time }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("atproto: rate limited by the PDS until %s", e.Until.UTC().Format(time.RFC3339))
}

// limiter is one account's view of its PDS rate limits.
type limiter struct {
	mu    sync.Mutex
	until time.Time
	now   func() time.Time
}

// blocked returns the time before which no request may be sent, or zero.
func (l *limiter) blocked() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until.After(l.now()) {
		return l.until
	}
	return time.Time{}
}

// block records that no request may be sent before until.
func (l *limiter) block(until time.Time) {
	l.mu.Lock()
	if until.After(l.until) {
		l.until = until
	}
	l.mu.Unlock()
}

// fallbackRetry is how long a 429 without any hint blocks.
const fallbackRetry = time.Minute

// observe reads a response's rate limit headers.
func (l *limiter) observe(resp *http.Response) {
	now := l.now()
	reset := parseReset(resp.Header.Get("RateLimit-Reset"), now)
	if resp.StatusCode == http.StatusTooManyRequests {
		until := parseRetryAfter(resp.Header.Get("Retry-After"), now)
		if until.IsZero() {
			until = reset
		}
		if !until.After(now) {
			until = now.Add(fallbackRetry)
		}
		l.block(until)
		return
	}
	if rem, err := strconv.Atoi(resp.Header.Get("RateLimit-Remaining")); err == nil && rem <= 0 && reset.After(now) {
		l.block(reset)
	}
}

// parseReset reads RateLimit-Reset: Unix seconds, or seconds from now for
// small values.
func parseReset(v string, now time.Time) time.Time {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}
	}
	if n > 1_000_000_000 {
		return time.Unix(n, 0)
	}
	return now.Add(time.Duration(n) * time.Second)
}

// parseRetryAfter reads Retry-After: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Time {
	if v == "" {
		return time.Time{}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
		return now.Add(time.Duration(n) * time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		return t
	}
	return time.Time{}
}

// rateTransport sends an account's requests through base, unless the
// account is rate limited.
type rateTransport struct {
	base http.RoundTripper
	lim  *limiter
}

func (t *rateTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if until := t.lim.blocked(); !until.IsZero() {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, &RateLimitedError{Until: until}
	}
	resp, err := t.base.RoundTrip(req)
	if err == nil {
		t.lim.observe(resp)
	}
	return resp, err
}

// accountClient wraps the SSRF-safe client for one account.
func accountClient(base *http.Client, lim *limiter) *http.Client {
	return &http.Client{
		Transport:     &rateTransport{base: base.Transport, lim: lim},
		CheckRedirect: base.CheckRedirect,
		Timeout:       base.Timeout,
	}
}
