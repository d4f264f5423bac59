package federation

import (
	"strconv"
	"testing"
	"time"

	"github.com/passerelle/passerelle/hostport"
)

func TestBuckets(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := newBuckets(3, time.Minute, 100) // one token every 20 s
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
			b.refund(st.key)
		}
		ok, wait := b.take(st.key, t0.Add(st.at))
		if ok != st.wantOK || (wait-st.wantWait).Abs() > 100*time.Millisecond {
			t.Errorf("%s: take = %v, %v; want %v, %v", st.name, ok, wait, st.wantOK, st.wantWait)
		}
	}
	var off *buckets = newBuckets(0, time.Minute, 10)
	if ok, _ := off.take("x", t0); !ok {
		t.Error("a disabled limit refused")
	}
}

func TestLRUIsBounded(t *testing.T) {
	c := newLRU[int](160)
	for i := range 10_000 {
		c.put("k"+strconv.Itoa(i), i)
	}
	if n := c.len(); n > 160 {
		t.Errorf("%d entries, want at most 160", n)
	}
	if v, ok := c.get("k9999"); !ok || v != 9999 {
		t.Errorf("most recent entry = %v, %v", v, ok)
	}
	if _, ok := c.get("k0"); ok {
		t.Error("oldest entry kept")
	}
}

func TestSlots(t *testing.T) {
	type step struct {
		key        string
		release    string // released before the step
		want, full bool
	}
	tests := []struct {
		name       string
		per, total int
		steps      []step
	}{
		{"per key and in all", 2, 3, []step{
			{key: "a", want: true}, {key: "a", want: true}, {key: "a"}, // 2 per key
			{key: "b", want: true}, {key: "c", full: true}, // 3 in all
			{key: "c", release: "a", want: true}, // a slot of a freed: c gets one
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSlots(tc.per, tc.total)
			for i, st := range tc.steps {
				if st.release != "" {
					s.release(st.release)
				}
				if ok, full := s.tryAcquire(st.key); ok != st.want || full != st.full {
					t.Errorf("step %d: tryAcquire(%s) = %v, %v; want %v, %v", i, st.key, ok, full, st.want, st.full)
				}
			}
		})
	}
}

func TestRegistrableDomain(t *testing.T) {
	tests := []struct{ host, want string }{
		{"slow1.evil.example", "evil.example"},
		{"a.b.evil.co.uk", "evil.co.uk"},
		{"mastodon.social", "mastodon.social"},
		{"127.0.0.2", "127.0.0.2"},
		{"::1", "::1"},
		{"localhost", "localhost"},
	}
	for _, tc := range tests {
		if got := registrableDomain(tc.host); got != tc.want {
			t.Errorf("registrableDomain(%q) = %q, want %q", tc.host, got, tc.want)
		}
	}
}

// TestDomainOf: hostport's tests cover the keys themselves (and hold the
// cases of the former urlHostOf and domainKey); here, the guard's
// fallback for what is not a host.
func TestDomainOf(t *testing.T) {
	tests := []struct{ name, keyID, want string }{
		{"host", "https://Mastodon.Social/users/a#main-key", "mastodon.social"},
		{"IPv6 literal and port", "https://[::1]:443/x", "::1"},
		{"not a host: its own bucket", "https://exa mple.org/key", "exa mple.org"},
		{"no keyId", "", ""},
	}
	for _, tc := range tests {
		if got := domainOf(hostport.FromURL(tc.keyID)); got != tc.want {
			t.Errorf("%s: domainOf(FromURL(%q)) = %q, want %q", tc.name, tc.keyID, got, tc.want)
		}
	}
}

// BenchmarkGuardDomainKey measures what the guard computes for every
// inbound request before reading its body: the keyId's host and its
// domain key. It must not allocate for lower-case ASCII names.
func BenchmarkGuardDomainKey(b *testing.B) {
	for _, bc := range []struct{ name, keyID string }{
		{"lower-case", "https://mastodon.social/users/alice#main-key"},
		{"mixed case", "https://Mastodon.Social/users/Bob#main-key"},
		{"port", "https://gts.example:8443/users/carol/main-key"},
		{"IPv6 literal", "https://[2001:db8::1]:443/users/dave#main-key"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if domainOf(hostport.FromURL(bc.keyID)) == "" {
					b.Fatal("no key")
				}
			}
		})
	}
}
