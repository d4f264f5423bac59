package jobs

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Backoff is a pool's retry policy: exponential backoff with ±20% jitter
// (so that the retries of one outage do not arrive together): Base after
// the first attempt, doubling up to Max. A job whose handler fails with a
// plain error is retried by it until MaxAttempts attempts were made or
// the job is older than MaxAge, then failed.
type Backoff struct {
	Base        time.Duration
	Max         time.Duration // also the longest wait a RetryAfter gets
	MaxAttempts int           // 0: no limit
	MaxAge      time.Duration // since the job was queued; 0: no limit
}

// Delay is the wait before the attempt after attempt (1 for the first).
func (b Backoff) Delay(attempt int) time.Duration {
	d := b.Base << min(max(attempt-1, 0), 30)
	if d > b.Max || d <= 0 {
		d = b.Max
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryDelay is the wait before the next attempt after err on attempt:
// the backoff, or longer when err asked for longer (RetryAfter, up to
// Max).
func (b Backoff) retryDelay(attempt int, err error) time.Duration {
	d := b.Delay(attempt)
	var later *RetryAfterError
	if errors.As(err, &later) && later.After > d {
		d = min(later.After, b.Max)
	}
	return d
}

// Exhausted reports whether j, at now, has had its last attempt: a
// failure now fails it rather than retrying.
func (b Backoff) Exhausted(j storage.Job, now time.Time) bool {
	return (b.MaxAttempts > 0 && j.Attempts >= b.MaxAttempts) ||
		(b.MaxAge > 0 && now.Sub(j.CreatedAt) > b.MaxAge)
}

// PermanentError is a failure that retrying cannot fix: the job fails at
// once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent marks err as a failure retrying cannot fix (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is, or wraps, a PermanentError.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// RetryAfterError is a retryable failure whose remote side said when to
// come back (an HTTP Retry-After): the job is not retried sooner than
// After, nor later than its policy's Max, and the policy's limits apply.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return e.Err.Error() + " (retry after " + e.After.String() + ")"
}
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter wraps err with the wait the remote side asked for.
func RetryAfter(after time.Duration, err error) error {
	return &RetryAfterError{Err: err, After: after}
}

// RetryAtError puts the job back, due at At, whatever its attempts or
// age: the handler knows when the job can go (its host is paused, its
// account is rate limited, it waits for another job).
type RetryAtError struct {
	Err error // the reason, recorded as the job's last error; nil: none (Again)
	At  time.Time
}

func (e *RetryAtError) Error() string {
	if e.Err == nil {
		return "run again at " + e.At.UTC().Format(time.RFC3339)
	}
	return e.Err.Error()
}
func (e *RetryAtError) Unwrap() error { return e.Err }

// RetryAt puts the job back, due at `at`, with err as the reason.
func RetryAt(at time.Time, err error) error { return &RetryAtError{Err: err, At: at} }

// Again ends this run of a recurring job: it is due again at `at`, with
// no error recorded.
func Again(at time.Time) error { return &RetryAtError{At: at} }

// ErrStopping is returned by a handler that gave up a job it had not
// started because the runner is stopping (Job.Stopping): the job is not
// recorded, it is put back in the queue, its attempt uncounted.
var ErrStopping = errors.New("jobs: stopping")
