package hostport

import (
	"net/netip"
	"net/url"
	"strings"

	"golang.org/x/net/idna"
)

// Host returns hp (host[:port], as in a Host header or a URL's authority)
// without its port and without the brackets of an IPv6 literal:
// "[::1]:8080" and "[::1]" give "::1", "Example.org:443" gives
// "Example.org". Case is kept. A bare IPv6 address ("::1") has no port and
// is returned as is, as is malformed input ("[::1", "[::1]x"). As with
// net.SplitHostPort, the port itself is not checked.
func Host(hp string) string {
	if strings.HasPrefix(hp, "[") {
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return hp
		}
		if rest := hp[end+1:]; rest != "" && (rest[0] != ':' || strings.IndexByte(rest[1:], ':') >= 0) {
			return hp
		}
		return hp[1:end]
	}
	i := strings.LastIndexByte(hp, ':')
	if i < 0 || strings.IndexByte(hp[:i], ':') >= 0 { // no port, or a bare IPv6 address
		return hp
	}
	return hp[:i]
}

// FromURL returns the host[:port] of an absolute URL
// ("scheme://[userinfo@]host[:port][/path][?query][#fragment]"), as
// written: without the userinfo, with the port, case kept. It returns ""
// when raw does not start with a scheme and "://" (a relative reference,
// "mailto:...", garbage). It splits the authority as net/url does but does
// not validate it: Key refuses what is not a host.
func FromURL(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !validScheme(scheme) {
		return ""
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	return rest
}

// validScheme reports whether s is a URL scheme (RFC 3986, 3.1):
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// Key reduces host (a host name or IP address, with or without port, in
// any case, Unicode or punycode) to the form domains are compared in: no
// port, no trailing dot, lower case, internationalised names in punycode
// (percent-encoded ones decoded first, as net/url does before dialling);
// IP addresses in their canonical form, without zone, IPv4-mapped IPv6
// addresses as IPv4. It returns "" for an empty or malformed host
// (characters that cannot be in a host name, an empty label, unbalanced
// brackets, an invalid IP literal or internationalised name). Key(Key(h))
// is Key(h).
func Key(host string) string {
	if strings.HasPrefix(host, "[") { // [IPv6] or [IPv6]:port
		h := Host(host)
		if h == host {
			return ""
		}
		return ipKey(h)
	}
	h := Host(host)
	if strings.IndexByte(h, ':') >= 0 { // a bare IPv6 address
		return ipKey(h)
	}
	return nameKey(h)
}

// URLKey is the Key of the host of an absolute URL (FromURL), or "".
func URLKey(raw string) string {
	return Key(FromURL(raw))
}

// ipKey is the canonical text of the IP address s, or "" if s is none. It
// allocates only when s is not already canonical.
func ipKey(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return ""
	}
	a = a.WithZone("").Unmap() // a zone names our interface, not the host
	var buf [64]byte
	if b := a.AppendTo(buf[:0]); string(b) != s {
		return string(b)
	}
	return s
}

// nameKey is the key of a host name without port.
func nameKey(h string) string {
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return ""
	}
	upper := false
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
		case c == '.':
			if i == 0 || h[i-1] == '.' || i == len(h)-1 {
				return "" // an empty label
			}
		case 'A' <= c && c <= 'Z':
			upper = true
		case c >= 0x80:
			return idnKey(h)
		case c == '%':
			// Percent-encoded UTF-8, which net/url decodes (and refuses
			// for ASCII but "%25"): decode it as the client will.
			u, err := url.Parse("http://" + h)
			if err != nil || u.Hostname() == h {
				return ""
			}
			return nameKey(u.Hostname())
		case strings.IndexByte("_~!$&'()*+,;=", c) >= 0:
			// Not in DNS names, but net/url accepts them in hosts and
			// some servers' names have underscores.
		default:
			return ""
		}
	}
	if upper {
		return strings.ToLower(h)
	}
	return h
}

// idnKey is the key of an internationalised host name: its punycode
// form, which must itself be a valid name (a U+FFFD, or invalid UTF-8,
// gives punycode no resolver takes back).
func idnKey(h string) string {
	a, err := idna.Lookup.ToASCII(h)
	if err != nil {
		return ""
	}
	a = strings.TrimSuffix(a, ".") // an ideographic full stop at the end maps to a dot
	if again, err := idna.Lookup.ToASCII(a); err != nil || again != a || !isASCII(a) {
		return ""
	}
	return nameKey(a) // ASCII: checks the labels, calls idna no more
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
