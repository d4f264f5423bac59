package jobs

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// TestDelay: Base after the first attempt, doubling with ±20% jitter,
// capped at Max, whatever the attempt.
func TestDelay(t *testing.T) {
	b := Backoff{Base: 2 * time.Second, Max: 10 * time.Minute}
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{1, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{2, 3200 * time.Millisecond, 4800 * time.Millisecond},
		{5, 25600 * time.Millisecond, 38400 * time.Millisecond},
		{9, 409600 * time.Millisecond, 614400 * time.Millisecond}, // 512 s
		{10, 8 * time.Minute, 12 * time.Minute},                   // 1024 s, capped at 600 s
		{64, 8 * time.Minute, 12 * time.Minute},
	}
	for _, tc := range tests {
		t.Run("attempt "+strconv.Itoa(tc.attempt), func(t *testing.T) {
			for range 200 {
				if d := b.Delay(tc.attempt); d < tc.min || d > tc.max {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.min, tc.max)
				}
			}
		})
	}
}

// TestRetryDelay: a Retry-After longer than the backoff wins, up to Max.
func TestRetryDelay(t *testing.T) {
	b := Backoff{Base: 250 * time.Millisecond, Max: 12 * time.Hour, MaxAttempts: 22}
	plain := errors.New("status 503")
	tests := []struct {
		name     string
		attempt  int
		err      error
		min, max time.Duration
	}{
		{"no Retry-After: the backoff", 1, plain, 200 * time.Millisecond, 300 * time.Millisecond},
		{"Retry-After longer than the backoff wins", 1, RetryAfter(30*time.Second, plain), 30 * time.Second, 30 * time.Second},
		{"Retry-After shorter than the backoff loses", 10, RetryAfter(time.Second, plain), 102 * time.Second, 154 * time.Second},
		{"Retry-After capped", 1, RetryAfter(48*time.Hour, plain), b.Max, b.Max},
		{"Retry-After wrapped", 1, fmt.Errorf("deliver: %w", RetryAfter(30*time.Second, plain)), 30 * time.Second, 30 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if d := b.retryDelay(tc.attempt, tc.err); d < tc.min || d > tc.max {
				t.Errorf("retryDelay = %v, want within [%v, %v]", d, tc.min, tc.max)
			}
		})
	}
}

// TestExhausted: the last attempt is the MaxAttempts-th, or the first
// after MaxAge; no limit when zero.
func TestExhausted(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	job := func(attempts int, age time.Duration) storage.Job {
		return storage.Job{Attempts: attempts, CreatedAt: now.Add(-age)}
	}
	tests := []struct {
		name string
		b    Backoff
		j    storage.Job
		want bool
	}{
		{"attempts left", Backoff{MaxAttempts: 3}, job(2, time.Hour), false},
		{"last attempt", Backoff{MaxAttempts: 3}, job(3, 0), true},
		{"young enough", Backoff{MaxAge: 72 * time.Hour}, job(400, 71*time.Hour), false},
		{"too old", Backoff{MaxAge: 72 * time.Hour}, job(1, 73*time.Hour), true},
		{"no limits", Backoff{}, job(1000, 1000*time.Hour), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.b.Exhausted(tc.j, now); got != tc.want {
				t.Errorf("Exhausted = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestResultErrors: the result errors keep their cause for errors.Is and
// say what they are.
func TestResultErrors(t *testing.T) {
	cause := errors.New("status 404")
	at := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		err       error
		permanent bool
		text      string
	}{
		{"permanent", Permanent(cause), true, "status 404"},
		{"permanent, wrapped", fmt.Errorf("deliver: %w", Permanent(cause)), true, "deliver: status 404"},
		{"retry after", RetryAfter(time.Minute, cause), false, "status 404 (retry after 1m0s)"},
		{"retry at", RetryAt(at, cause), false, "status 404"},
		{"again", Again(at), false, "run again at 2026-11-21T12:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IsPermanent(tc.err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tc.permanent)
			}
			if tc.name != "again" && !errors.Is(tc.err, cause) {
				t.Errorf("%v does not wrap its cause", tc.err)
			}
			if tc.err.Error() != tc.text {
				t.Errorf("Error() = %q, want %q", tc.err.Error(), tc.text)
			}
		})
	}
	if Permanent(nil) != nil {
		t.Error("Permanent(nil) is not nil")
	}
}
