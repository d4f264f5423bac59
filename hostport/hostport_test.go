package hostport

import (
	"net/url"
	"strings"
	"testing"
)

func TestHost(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"name", "example.org", "example.org"},
		{"name and port", "example.org:8080", "example.org"},
		{"case kept", "Example.ORG:443", "Example.ORG"},
		{"IPv4", "127.0.0.1", "127.0.0.1"},
		{"IPv4 and port", "127.0.0.1:8080", "127.0.0.1"},
		// federation's copy cut at the first colon and gave "[".
		{"IPv6 literal and port", "[::1]:8080", "::1"},
		{"IPv6 literal", "[::1]", "::1"},
		{"IPv6 literal with zone and port", "[fe80::1%eth0]:80", "fe80::1%eth0"},
		{"bare IPv6", "::1", "::1"},
		{"bare IPv6, full", "2001:db8::1", "2001:db8::1"},
		{"IDN", "bücher.example:443", "bücher.example"},
		{"punycode", "xn--bcher-kva.example:443", "xn--bcher-kva.example"},
		{"trailing dot kept", "example.org.:443", "example.org."},
		{"empty port", "example.org:", "example.org"},
		{"port not checked", "example.org:http", "example.org"},
		{"empty", "", ""},
		{"only a port", ":8080", ""},
		{"unclosed bracket", "[::1", "[::1"},
		{"junk after bracket", "[::1]x", "[::1]x"},
		{"two ports after bracket", "[::1]:80:90", "[::1]:80:90"},
		{"empty brackets", "[]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Host(tt.in); got != tt.want {
				t.Errorf("Host(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFromURL(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"https", "https://mastodon.social/users/a", "mastodon.social"},
		{"case kept", "https://Mastodon.Social/users/a#main-key", "Mastodon.Social"},
		{"port kept", "http://127.0.0.2:8080/users/u0", "127.0.0.2:8080"},
		{"IPv6 literal and port", "https://[::1]:443/x", "[::1]:443"},
		{"IPv6 literal", "https://[2001:db8::1]/x", "[2001:db8::1]"},
		{"userinfo", "https://user@evil.example/x", "evil.example"},
		{"userinfo with password and @", "https://a@b:c@evil.example:81/x", "evil.example:81"},
		{"@ in the path is not userinfo", "https://good.example/@alice", "good.example"},
		{"no path", "https://example.org", "example.org"},
		{"query right after the host", "https://example.org?x=1", "example.org"},
		{"fragment right after the host", "https://example.org#main-key", "example.org"},
		{"IDN", "https://bücher.example/x", "bücher.example"},
		{"punycode", "https://xn--bcher-kva.example/x", "xn--bcher-kva.example"},
		{"other scheme", "git+ssh://host.example/repo", "host.example"},
		{"empty authority", "https:///users/a", ""},
		{"empty", "", ""},
		{"not a url", "not a url", ""},
		{"relative", "/users/a", ""},
		{"scheme-relative", "//example.org/x", ""},
		{"opaque", "mailto:a@example.org", ""},
		{"URL in the query of a relative reference", "/users/a?from=https://evil.example/", ""},
		{"scheme starting with a digit", "1http://example.org/", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := FromURL(tt.in); got != tt.want {
				t.Errorf("FromURL(%q) = %q, want %q", tt.in, got, tt.want)
			}
			// Wherever net/url parses an absolute URL, it finds the same host.
			if u, err := url.Parse(tt.in); err == nil && u.Scheme != "" && u.Host != tt.want {
				t.Errorf("net/url finds host %q in %q, FromURL %q", u.Host, tt.in, tt.want)
			}
		})
	}
}

func TestKey(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"name", "mastodon.social", "mastodon.social"},
		{"uppercase", "Mastodon.Social", "mastodon.social"},
		{"port", "mastodon.social:443", "mastodon.social"},
		{"uppercase and port", "EVIL.example:8443", "evil.example"},
		{"trailing dot", "evil.example.", "evil.example"},
		{"trailing dot and port", "evil.example.:443", "evil.example"},
		{"underscore", "my_server.example", "my_server.example"},
		{"IPv4", "127.0.0.2", "127.0.0.2"},
		{"IPv4 and port", "127.0.0.2:8080", "127.0.0.2"},
		{"IPv6 literal", "[::1]", "::1"},
		{"IPv6 literal and port", "[::1]:443", "::1"},
		{"bare IPv6", "::1", "::1"},
		{"IPv6 made canonical", "[2001:DB8:0:0::1]:443", "2001:db8::1"},
		{"IPv6 zone dropped", "[fe80::1%ETH0]:80", "fe80::1"},
		{"IPv4-mapped IPv6", "[::ffff:192.0.2.1]:443", "192.0.2.1"},
		{"IDN", "Bücher.example", "xn--bcher-kva.example"},
		{"IDN and port", "bücher.example:443", "xn--bcher-kva.example"},
		{"punycode", "xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"punycode uppercase", "XN--BCHER-KVA.example", "xn--bcher-kva.example"},
		{"IDN with ideographic full stop", "bücher.example。", "xn--bcher-kva.example"},
		{"percent-encoded IDN", "%C3%BCber.example", "xn--ber-goa.example"},
		{"empty", "", ""},
		{"only a dot", ".", ""},
		{"two dots", "..", ""},
		{"empty label", "evil..example", ""},
		{"leading dot", ".evil.example", ""},
		{"two trailing dots", "evil.example..", ""},
		{"only a port", ":443", ""},
		{"unclosed bracket", "[::1", ""},
		{"junk after bracket", "[::1]x", ""},
		{"not an IP in brackets", "[evil.example]", ""},
		{"bad bare IPv6", "1:2:3", ""},
		{"space", "evil example", ""},
		{"slash", "evil.example/x", ""},
		{"userinfo left in", "user@evil.example", ""},
		{"percent-encoded ASCII", "%65vil.example", ""},
		{"bad percent", "evil%zz.example", ""},
		{"invalid UTF-8", "\xb6.example", ""},
		{"replacement character", "\ufffd.example", ""},
		{"IDN with an empty label", "bücher..example", ""},
		{"invalid IDN", "a\u200db.example", ""}, // a joiner where it is not allowed
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Key(tt.in); got != tt.want {
				t.Errorf("Key(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if got := Key(tt.want); got != tt.want {
				t.Errorf("Key(Key(%q)) = %q, want it unchanged", tt.in, got)
			}
		})
	}
}

// TestURLKey also holds the cases of the guard's former urlHostOf and
// domainKey (federation/guard.go).
func TestURLKey(t *testing.T) {
	tests := []struct {
		name, in, host, key string
	}{
		{"case", "https://Mastodon.Social/users/a#main-key", "Mastodon.Social", "mastodon.social"},
		{"IPv4 and port", "http://127.0.0.2:8080/users/u0", "127.0.0.2:8080", "127.0.0.2"},
		{"IPv6 literal and port", "https://[::1]:443/x", "[::1]:443", "::1"},
		{"IPv6 literal", "https://[2001:db8::1]/x", "[2001:db8::1]", "2001:db8::1"},
		{"userinfo", "https://user@evil.example/x", "evil.example", "evil.example"},
		{"IDN", "https://Bücher.example/x", "Bücher.example", "xn--bcher-kva.example"},
		{"not a url", "not a url", "", ""},
		{"empty", "", "", ""},
		{"invalid host", "https://exa mple.org/x", "exa mple.org", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if h, k := FromURL(tt.in), URLKey(tt.in); h != tt.host || k != tt.key {
				t.Errorf("FromURL(%q) = %q, URLKey %q; want %q, %q", tt.in, h, k, tt.host, tt.key)
			}
		})
	}
}

// TestNoAllocations holds what the guard computes for every inbound
// request to no allocation, for the usual hosts.
func TestNoAllocations(t *testing.T) {
	for _, in := range []string{
		"https://mastodon.social/users/alice#main-key",
		"https://gts.example:8443/users/carol/main-key",
		"https://[2001:db8::1]:443/users/dave#main-key",
		"http://127.0.0.2:8080/users/u0",
	} {
		if n := testing.AllocsPerRun(100, func() {
			if URLKey(in) == "" || Host(FromURL(in)) == "" {
				t.Fatal("no key")
			}
		}); n != 0 {
			t.Errorf("%s: %v allocations, want 0", in, n)
		}
	}
}

func BenchmarkURLKey(b *testing.B) {
	for _, bc := range []struct{ name, keyID string }{
		{"lower-case", "https://mastodon.social/users/alice#main-key"},
		{"mixed case", "https://Mastodon.Social/users/Bob#main-key"},
		{"port", "https://gts.example:8443/users/carol/main-key"},
		{"IPv6 literal", "https://[2001:db8::1]:443/users/dave#main-key"},
		{"IDN", "https://bücher.example/users/erin#main-key"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if URLKey(bc.keyID) == "" {
					b.Fatal("no key")
				}
			}
		})
	}
}

func FuzzKey(f *testing.F) {
	for _, s := range []string{"Example.org:443", "[::1]:80", "bücher.example", "%C3%BCber.example", "a..b", "[", "::ffff:1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k := Key(s)
		if k == "" {
			return
		}
		if Key(k) != k {
			t.Fatalf("Key(%q) = %q, but Key(%q) = %q", s, k, k, Key(k))
		}
		if strings.ContainsAny(k, "[]/@ ") || k != strings.ToLower(k) {
			t.Fatalf("Key(%q) = %q", s, k)
		}
	})
}
