package federation

import (
	"testing"

	"github.com/passerelle/passerelle/hostport"
)

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
