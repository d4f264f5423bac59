package api

import (
	"net/netip"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// Login codes: at most loginAttempts wrong codes per account and client
// address (an IPv6 client counts by its /64) in loginWindow; over it,
// that address waits. Whatever the addresses, after loginCodeGuesses wrong
// codes for an account within a code's lifetime, the account's
// outstanding login codes are burnt (deleted): a code cannot be found by
// guessing from many addresses, and nobody is locked out, since a new
// code (`bridge login-code`) works at once from any address that is not
// itself limited. With 8 characters from a 32-symbol alphabet (2^40
// codes), 100 guesses have a 1 in 10^10 chance of finding a code.
const (
	loginAttempts    = 10
	loginWindow      = 15 * time.Minute
	loginCodeGuesses = 100
	// App registrations per client address and window.
	appRegistrations = 30
	appWindow        = 15 * time.Minute
	// limiterKeys bounds the keys a limiter remembers.
	limiterKeys = 16_384
)

// limiter counts events per key in fixed windows, in memory. It remembers
// at most a fixed number of keys, the least recently used forgotten
// first: a flood of new keys makes it forget old counts, never refuse
// everyone.
type limiter struct {
	mu     sync.Mutex
	limit  int
	window time.Duration
	keys   *simplelru.LRU[string, window]
}

type window struct {
	start time.Time
	n     int
}

func newLimiter(limit int, per time.Duration, max int) *limiter {
	keys, err := simplelru.NewLRU[string, window](max, nil)
	if err != nil {
		panic(err) // max <= 0: a programming error
	}
	return &limiter{limit: limit, window: per, keys: keys}
}

// blocked reports whether key has used up its window, and until when.
func (l *limiter) blocked(key string, now time.Time) (bool, time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.keys.Peek(key)
	if !ok || now.Sub(w.start) >= l.window {
		return false, time.Time{}
	}
	return w.n >= l.limit, w.start.Add(l.window)
}

// add records one event for key and returns the count in its window.
func (l *limiter) add(key string, now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := l.keys.Get(key)
	if !ok || now.Sub(w.start) >= l.window {
		w = window{start: now}
	}
	w.n++
	l.keys.Add(key, w)
	return w.n
}

// reset forgets key's window.
func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys.Remove(key)
}

// addrKey is the rate-limiting key of a client address: the address, or
// its /64 for IPv6 (one host usually holds a whole /64).
func addrKey(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return addr
	}
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return a.String()
	}
	return p.String()
}
