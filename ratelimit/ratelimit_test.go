package ratelimit

import (
	"strconv"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := NewBuckets(3, time.Minute, 100) // one token every 20 s
	steps := []struct {
		name     string
		at       time.Duration
		key      string
		refund   bool
		wantOK   bool
		wantWait time.Duration
	}{
		{"burst 1", 0, "a", false, true, 0},
		{"burst 2", 0, "a", false, true, 0},
		{"burst 3", 0, "a", false, true, 0},
		{"empty", time.Second, "a", false, false, 19 * time.Second},
		{"other key unaffected", time.Second, "b", false, true, 0},
		{"refund gives one back", time.Second, "a", true, true, 0},
		{"empty again", 2 * time.Second, "a", false, false, 18 * time.Second},
		{"refilled after 20 s", 21 * time.Second, "a", false, true, 0},
	}
	for _, st := range steps {
		if st.refund {
			b.Refund(st.key)
		}
		ok, wait := b.Take(st.key, t0.Add(st.at))
		if ok != st.wantOK || (wait-st.wantWait).Abs() > 100*time.Millisecond {
			t.Errorf("%s: Take = %v, %v; want %v, %v", st.name, ok, wait, st.wantOK, st.wantWait)
		}
	}
	off := NewBuckets(0, time.Minute, 10)
	if ok, _ := off.Take("x", t0); !ok {
		t.Error("a disabled limit refused")
	}
}

func TestCacheIsBounded(t *testing.T) {
	for _, capacity := range []int{160, 4096} {
		c := NewCache[int](capacity)
		for i := range 50_000 {
			c.Put("k"+strconv.Itoa(i), i)
		}
		if n := c.Len(); n > capacity {
			t.Errorf("capacity %d: %d entries", capacity, n)
		}
		if v, ok := c.Get("k49999"); !ok || v != 49999 {
			t.Errorf("capacity %d: most recent entry = %v, %v", capacity, v, ok)
		}
		if _, ok := c.Get("k0"); ok {
			t.Errorf("capacity %d: oldest entry kept", capacity)
		}
	}
}

func TestWindows(t *testing.T) {
	l := NewWindows(3, time.Minute, 2)
	now := time.Now()
	for i := range 3 {
		if b, _ := l.Blocked("a", now); b {
			t.Fatalf("blocked after %d", i)
		}
		l.Add("a", now)
	}
	if b, _ := l.Blocked("a", now); !b {
		t.Error("not blocked after 3")
	}
	if b, _ := l.Blocked("a", now.Add(time.Minute)); b {
		t.Error("still blocked after the window")
	}
	// Bounded: past two keys, the least recently used is forgotten; a
	// new key is never refused.
	l.Add("x", now)
	l.Add("y", now)
	if b, _ := l.Blocked("z", now); b {
		t.Error("a new key was refused")
	}
	if b, _ := l.Blocked("a", now); b {
		t.Error("the oldest key was not forgotten")
	}
	if n := l.Add("y", now); n != 2 {
		t.Errorf("Add(y) = %d, want 2", n)
	}
	l.Reset("y")
	if n := l.Add("y", now); n != 1 {
		t.Errorf("Add(y) after Reset = %d, want 1", n)
	}
}
