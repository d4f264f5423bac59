package api

import (
	"net/netip"
	"time"
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
