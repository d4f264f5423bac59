package federation

import (
	"container/list"
	"hash/maphash"
	"sync"
	"time"
)

// The bounded in-memory structures behind the inbound limits: token
// buckets and caches keyed by remote domain, actor or key. Each is an LRU
// of fixed capacity split in shards (one mutex each), so that a flood of
// distinct keys costs a fixed amount of memory and little contention.
// Forgetting a key is always safe: a forgotten bucket starts full again,
// a forgotten cache entry is fetched again (within the fetch budget).

const lruShards = 16

// lru is a sharded, fixed-capacity LRU map.
type lru[V any] struct {
	seed   maphash.Seed
	shards [lruShards]lruShard[V]
}

type lruShard[V any] struct {
	mu    sync.Mutex
	items map[string]*list.Element
	order list.List // front: most recently used; values are *lruItem[V]
	max   int
}

type lruItem[V any] struct {
	key string
	val V
}

// newLRU returns an LRU holding at most about capacity entries.
func newLRU[V any](capacity int) *lru[V] {
	c := &lru[V]{seed: maphash.MakeSeed()}
	per := max(capacity/lruShards, 1)
	for i := range c.shards {
		c.shards[i].items = make(map[string]*list.Element)
		c.shards[i].max = per
	}
	return c
}

func (c *lru[V]) shard(key string) *lruShard[V] {
	return &c.shards[maphash.String(c.seed, key)%lruShards]
}

// update stores fn(current value, found) at key, under the shard's lock,
// evicting the least recently used entry when the shard is full.
func (c *lru[V]) update(key string, fn func(v V, found bool) V) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.items[key]; ok {
		it := e.Value.(*lruItem[V])
		it.val = fn(it.val, true)
		sh.order.MoveToFront(e)
		return
	}
	var zero V
	if sh.order.Len() >= sh.max {
		old := sh.order.Back()
		sh.order.Remove(old)
		delete(sh.items, old.Value.(*lruItem[V]).key)
	}
	sh.items[key] = sh.order.PushFront(&lruItem[V]{key: key, val: fn(zero, false)})
}

// get returns the value at key.
func (c *lru[V]) get(key string) (V, bool) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.items[key]; ok {
		sh.order.MoveToFront(e)
		return e.Value.(*lruItem[V]).val, true
	}
	var zero V
	return zero, false
}

func (c *lru[V]) put(key string, v V) {
	c.update(key, func(V, bool) V { return v })
}

func (c *lru[V]) delete(key string) {
	sh := c.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e, ok := sh.items[key]; ok {
		sh.order.Remove(e)
		delete(sh.items, key)
	}
}

// len is the number of entries (for tests).
func (c *lru[V]) len() int {
	n := 0
	for i := range c.shards {
		c.shards[i].mu.Lock()
		n += c.shards[i].order.Len()
		c.shards[i].mu.Unlock()
	}
	return n
}

// buckets are token buckets, one per key: each holds up to burst tokens
// and regains rate tokens per second.
type buckets struct {
	rate  float64 // tokens per second
	burst float64
	m     *lru[bucket]
}

type bucket struct {
	tokens float64
	at     time.Time
}

// newBuckets allows n events per period per key, in bursts of up to n.
// n <= 0 means no limit: the result is nil, whose methods allow all.
func newBuckets(n int, per time.Duration, capacity int) *buckets {
	if n <= 0 || per <= 0 {
		return nil
	}
	return &buckets{rate: float64(n) / per.Seconds(), burst: float64(n), m: newLRU[bucket](capacity)}
}

// take takes one token from key's bucket. When there is none it takes
// nothing and returns how long until there will be one.
func (b *buckets) take(key string, now time.Time) (ok bool, wait time.Duration) {
	if b == nil {
		return true, 0
	}
	b.m.update(key, func(bk bucket, found bool) bucket {
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

// refund gives a token back (the request it was taken for was not
// processed, or proved to be forged).
func (b *buckets) refund(key string) {
	if b == nil {
		return
	}
	b.m.update(key, func(bk bucket, found bool) bucket {
		if found {
			bk.tokens = min(b.burst, bk.tokens+1)
		} else {
			bk = bucket{tokens: b.burst, at: time.Now()}
		}
		return bk
	})
}

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
