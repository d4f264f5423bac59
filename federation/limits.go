package federation

import (
	"sync"
)

// slots bound the concurrent inbound operations per key (the key
// fetches per domain), and in all; the rate limits are package
// ratelimit's.

// slots bound the concurrent operations per key, and in all.
type slots struct {
	per, total int
	mu         sync.Mutex
	used       map[string]int // only keys in use: bounded by total
	all        int
}

func newSlots(per, total int) *slots {
	return &slots{per: per, total: total, used: map[string]int{}}
}

// tryAcquire takes a slot of key, if one is free. When none is, full
// reports whether every slot is taken (rather than key's share).
func (s *slots) tryAcquire(key string) (ok, full bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch n := s.used[key]; {
	case s.all >= s.total:
		return false, true
	case n >= s.per:
		return false, false
	}
	s.used[key]++
	s.all++
	return true, false
}

func (s *slots) release(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used[key] <= 1 {
		delete(s.used, key)
	} else {
		s.used[key]--
	}
	s.all--
}
