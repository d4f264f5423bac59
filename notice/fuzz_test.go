package notice

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
)

// FuzzParseRemote feeds the remote-follow form anything a visitor may
// type: what it accepts is a bare host (lower-case ASCII, no path, no
// credentials; no IP address unless private networks are allowed), the
// URL we redirect to stays on that host, and normalising again changes
// nothing.
func FuzzParseRemote(f *testing.F) {
	for _, s := range []string{
		"mastodon.social", " Mastodon.Social \n", "https://mastodon.social/", "HTTP://mastodon.social", "@me@server.example",
		"me@server.example", "social.example:8443", "mastodon.bücher.example", "@moi@exemple.café", "http://127.0.0.1:8080",
		"@me@[::1]:8080", "localhost:3000", "javascript:alert(1)", "//evil.example", "server.example/path",
		"server.example?next=https://evil.example", `server.example\evil.example`, "user:pass@server.example",
		"@a@b@server.example", "mastodon%2esocial", "2130706433", "[::1", "a..b", "xn--.example", "server.example:0",
		"server.example:080", "ｍａｓｔｏｄｏｎ.social", "server.example.:443",
	} {
		f.Add(s, false)
		f.Add(s, true)
	}
	const uri = "https://social.city.example/users/news"
	f.Fuzz(func(t *testing.T, input string, allowPrivate bool) {
		rem, err := ParseRemote(input, allowPrivate)
		if err != nil {
			return
		}
		if rem.Host == "" || strings.ContainsAny(rem.Host, "/?#@\\ %") || rem.Host != strings.ToLower(rem.Host) {
			t.Fatalf("ParseRemote(%q) host %q", input, rem.Host)
		}
		if rem.Scheme != "https" && !(allowPrivate && rem.Scheme == "http") {
			t.Fatalf("ParseRemote(%q) scheme %q", input, rem.Scheme)
		}
		u, err := url.Parse(authorizeURL(rem.Scheme, rem.Host, uri))
		if err != nil || u.Host != rem.Host || u.Path != "/authorize_interaction" || u.User != nil || u.Query().Get("uri") != uri {
			t.Fatalf("ParseRemote(%q) = %+v: redirect %v, %v", input, rem, u, err)
		}
		if !allowPrivate {
			if _, err := netip.ParseAddr(u.Hostname()); err == nil {
				t.Fatalf("ParseRemote(%q) accepted the IP address %q", input, rem.Host)
			}
		}
		again, err := ParseRemote(rem.Host, allowPrivate)
		if err != nil || again.Host != rem.Host {
			t.Fatalf("ParseRemote(%q) = %q, but %q gives %q, %v", input, rem.Host, rem.Host, again.Host, err)
		}
		if rem.User != "" {
			again, err := ParseRemote(rem.Acct(), allowPrivate)
			if err != nil || again.User != rem.User || again.Host != rem.Host {
				t.Fatalf("ParseRemote(%q) = %q, but it gives %+v, %v", input, rem.Acct(), again, err)
			}
		}
	})
}

// FuzzCheckTemplate: a subscribe template from a visitor's server is
// followed only to that server, over https.
func FuzzCheckTemplate(f *testing.F) {
	for _, s := range [][3]string{
		{"https://server.example/authorize_interaction?uri={uri}", "server.example", "server.example"},
		{"https://other.example/follow?acct={uri}", "server.example", "other.example"},
		{"https://evil.example/?{uri}", "server.example", "server.example"},
		{"javascript:alert('{uri}')", "server.example", "server.example"},
		{"//server.example/{uri}", "server.example", ""},
		{"https://server.example@evil.example/{uri}", "server.example", ""},
		{"https://SERVER.example:443/x?u={uri}#f", "server.example:443", ""},
	} {
		f.Add(s[0], s[1], s[2])
	}
	const uri = "https://social.city.example/users/news"
	fl := Follower{}
	f.Fuzz(func(t *testing.T, tmpl, host, answeredBy string) {
		target, ok := fl.checkTemplate(tmpl, uri, host, answeredBy)
		if !ok {
			return
		}
		u, err := url.Parse(target)
		if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" ||
			(!strings.EqualFold(u.Host, host) && !strings.EqualFold(u.Host, answeredBy)) {
			t.Fatalf("checkTemplate(%q, %q, %q) = %q", tmpl, host, answeredBy, target)
		}
	})
}
