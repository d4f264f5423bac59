package ratelimit

import (
	"hash/maphash"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// maxShards is the number of shards of a large Cache; a small one
// (under shardFrom entries) has one, and is an exact LRU.
const (
	maxShards = 16
	shardFrom = 1024
)

// Cache is a sharded, fixed-capacity LRU map, safe for concurrent use:
// one mutex per shard, so that concurrent keys rarely wait on each other.
type Cache[V any] struct {
	seed   maphash.Seed
	shards []shard[V]
}

type shard[V any] struct {
	mu  sync.Mutex
	lru *simplelru.LRU[string, V]
}

// NewCache returns a Cache holding at most about capacity entries.
func NewCache[V any](capacity int) *Cache[V] {
	n := 1
	if capacity >= shardFrom {
		n = maxShards
	}
	c := &Cache[V]{seed: maphash.MakeSeed(), shards: make([]shard[V], n)}
	per := max(capacity/n, 1)
	for i := range c.shards {
		l, err := simplelru.NewLRU[string, V](per, nil)
		if err != nil {
			panic(err) // per > 0
		}
		c.shards[i].lru = l
	}
	return c
}

func (c *Cache[V]) shard(key string) *shard[V] {
	if len(c.shards) == 1 {
		return &c.shards[0]
	}
	return &c.shards[maphash.String(c.seed, key)%uint64(len(c.shards))]
}

// Update stores fn(current value, found) at key, under the shard's lock.
func (c *Cache[V]) Update(key string, fn func(v V, found bool) V) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	v, ok := sh.lru.Get(key)
	sh.lru.Add(key, fn(v, ok))
}

// Get returns the value at key.
func (c *Cache[V]) Get(key string) (V, bool) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return sh.lru.Get(key)
}

// Put stores v at key.
func (c *Cache[V]) Put(key string, v V) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.lru.Add(key, v)
}

// Delete forgets key.
func (c *Cache[V]) Delete(key string) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.lru.Remove(key)
}

// Len is the number of entries.
func (c *Cache[V]) Len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += c.shards[i].lru.Len()
		c.shards[i].mu.Unlock()
	}
	return n
}

// Buckets are token buckets, one per key: each holds up to n tokens and
// regains n per period. A nil *Buckets allows everything.
type Buckets struct {
	rate  float64 // tokens per second
	burst float64
	m     *Cache[bucket]
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewBuckets allows n events per period per key, in bursts of up to n,
// remembering about capacity keys. n <= 0 means no limit: the result is
// nil, whose methods allow all.
func NewBuckets(n int, per time.Duration, capacity int) *Buckets {
	if n <= 0 || per <= 0 {
		return nil
	}
	return &Buckets{rate: float64(n) / per.Seconds(), burst: float64(n), m: NewCache[bucket](capacity)}
}

// Take takes one token from key's bucket. When there is none it takes
// nothing and returns how long until there will be one.
func (b *Buckets) Take(key string, now time.Time) (ok bool, wait time.Duration) {
	if b == nil {
		return true, 0
	}
	b.m.Update(key, func(bk bucket, found bool) bucket {
		if !found {
			bk = bucket{tokens: b.burst, at: now}
		}
		if d := now.Sub(bk.at); d > 0 {
			bk.tokens = min(b.burst, bk.tokens+d.Seconds()*b.rate)
			bk.at = now
		}
		if bk.tokens >= 1 {
			bk.tokens--
			ok = true
		} else {
			wait = time.Duration((1 - bk.tokens) / b.rate * float64(time.Second))
		}
		return bk
	})
	return ok, wait
}

// Refund gives a token back (the event it was taken for did not count).
func (b *Buckets) Refund(key string) {
	if b == nil {
		return
	}
	b.m.Update(key, func(bk bucket, found bool) bucket {
		if found {
			bk.tokens = min(b.burst, bk.tokens+1)
		} else {
			bk = bucket{tokens: b.burst, at: time.Now()}
		}
		return bk
	})
}

// Windows count events per key in fixed windows.
type Windows struct {
	limit  int
	window time.Duration
	m      *Cache[window]
}

type window struct {
	start time.Time
	n     int
}

// NewWindows allows limit events per key in each window of length per,
// remembering about capacity keys.
func NewWindows(limit int, per time.Duration, capacity int) *Windows {
	return &Windows{limit: limit, window: per, m: NewCache[window](capacity)}
}

// Blocked reports whether key has used up its window, and until when.
func (w *Windows) Blocked(key string, now time.Time) (bool, time.Time) {
	win, ok := w.m.Get(key)
	if !ok || now.Sub(win.start) >= w.window {
		return false, time.Time{}
	}
	return win.n >= w.limit, win.start.Add(w.window)
}

// Add records one event for key and returns the count in its window.
func (w *Windows) Add(key string, now time.Time) int {
	n := 0
	w.m.Update(key, func(win window, found bool) window {
		if !found || now.Sub(win.start) >= w.window {
			win = window{start: now}
		}
		win.n++
		n = win.n
		return win
	})
	return n
}

// Reset forgets key's window.
func (w *Windows) Reset(key string) { w.m.Delete(key) }
