package api

import (
	"sync"
	"time"
)

// Failed login-code attempts allowed per window: 10 per account and
// client address, 100 per account whatever the address (so that a
// stranger cannot lock the admin out with 10 wrong codes). With 8
// characters from a 32-symbol alphabet (2^40 codes), 100 guesses have a
// 1 in 10^10 chance of finding a code before it expires.
const (
	loginAttempts        = 10
	loginAccountAttempts = 100
	loginWindow          = 15 * time.Minute
	// App registrations per client address and window.
	appRegistrations = 30
	appWindow        = 15 * time.Minute
)

// limiter counts events per key in fixed windows, in memory. It holds at
// most max keys: when full, expired windows are dropped, and if none has
// expired new keys are refused (fail closed) until one does.
type limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	max    int
	keys   map[string]*window
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(limit int, per time.Duration, max int) *limiter {
	return &limiter{limit: limit, window: per, max: max, keys: map[string]*window{}}
}

// blocked reports whether key has used up its window, and until when.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[key]
	if w == nil {
		if len(l.keys) >= l.max && !l.prune(now) {
			return true, now.Add(l.window)
		}
		return false, time.Time{}
	}
	if now.Sub(w.start) >= l.window {
		delete(l.keys, key)
		return false, time.Time{}
	}
	return w.n >= l.limit, w.start.Add(l.window)
}

// add records one event for key.
func (l *limiter) add(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.keys[key]
	if w == nil || now.Sub(w.start) >= l.window {
		if w == nil && len(l.keys) >= l.max && !l.prune(now) {
			return
		}
		w = &window{start: now}
		l.keys[key] = w
	}
	w.n++
}

// prune drops expired windows and reports whether there is room.
func (l *limiter) prune(now time.Time) bool {
	for k, w := range l.keys {
		if now.Sub(w.start) >= l.window {
			delete(l.keys, k)
		}
	}
	return len(l.keys) < l.max
}
