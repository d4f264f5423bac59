package notice

// Remote follow: a visitor types their server (or their full address) and
// is sent to that server's own follow flow. What they type is untrusted:
// it is normalised to a bare host name, and the only URLs we redirect to
// are on that host (never an open redirect).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"

	"github.com/passerelle/passerelle/safehttp"
)

// Errors of ParseRemote and FollowURL. The web page shows a text for each.
var (
	// ErrInvalidRemote: the input is not a server name nor an address.
	ErrInvalidRemote = errors.New("notice: not a server name or a fediverse address")
	// ErrPrivateRemote: the input is an IP address or a non-public host.
	ErrPrivateRemote = errors.New("notice: not a public server")
	// ErrUnreachable: the visitor's server did not answer.
	ErrUnreachable = errors.New("notice: server unreachable")
)

// MaxRemoteInput bounds what the form accepts (a 64-character user name,
// "@" twice and a 253-character host name, with some room).
const MaxRemoteInput = 330

// SubscribeRel is the WebFinger link relation of the remote-follow
// template (OStatus), whose "template" holds "{uri}".
const SubscribeRel = "http://ostatus.org/schema/1.0/subscribe"

// Remote is a visitor's server, and their user name when they typed a full
// address.
type Remote struct {
	User   string // empty when only the server was given
	Host   string // lower-case ASCII host, with ":port" when one was given
	Scheme string // "https", or "http" when typed so and private networks are allowed
}

// Acct returns "user@host".
func (r Remote) Acct() string { return r.User + "@" + r.Host }

// ParseRemote normalises what a visitor typed: a server name
// ("mastodon.social", "https://mastodon.social/") or a full address
// ("@me@mastodon.social", "me@mastodon.social"). International domain
// names are converted to their ASCII form. Anything else (paths, queries,
// credentials, spaces, other schemes) fails with ErrInvalidRemote; IP
// addresses and single-label names fail with ErrPrivateRemote unless
// private networks are allowed (local tests).
func ParseRemote(input string, allowPrivate bool) (Remote, error) {
	s := strings.TrimSpace(input)
	if s == "" || len(s) > MaxRemoteInput || !utf8.ValidString(s) {
		return Remote{}, ErrInvalidRemote
	}
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '\\' || r == '%' {
			return Remote{}, ErrInvalidRemote
		}
	}
	rem := Remote{Scheme: "https"}
	lower := strings.ToLower(s)
	switch {
	case strings.HasPrefix(lower, "https://"):
		s = s[len("https://"):]
	case strings.HasPrefix(lower, "http://"):
		s = s[len("http://"):]
		if allowPrivate {
			rem.Scheme = "http"
		}
	}
	s = strings.TrimSuffix(s, "/")
	if strings.ContainsAny(s, "/?#") {
		return Remote{}, ErrInvalidRemote
	}
	s = strings.TrimPrefix(s, "@")
	if user, host, ok := strings.Cut(s, "@"); ok {
		if !validRemoteUser(user) {
			return Remote{}, ErrInvalidRemote
		}
		rem.User, s = user, host
	}
	host, err := normaliseHost(s, allowPrivate)
	if err != nil {
		return Remote{}, err
	}
	rem.Host = host
	if _, err := safehttp.CheckURL(rem.Scheme+"://"+rem.Host+"/", allowPrivate); err != nil {
		if errors.Is(err, safehttp.ErrForbiddenAddress) {
			return Remote{}, ErrPrivateRemote
		}
		return Remote{}, ErrInvalidRemote
	}
	return rem, nil
}

// validRemoteUser accepts the user names of the fediverse's servers:
// letters, digits, "_", "." and "-".
func validRemoteUser(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, r := range u {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// normaliseHost checks host[:port] and returns it lower-case, in ASCII.
func normaliseHost(s string, allowPrivate bool) (string, error) {
	host, port := s, ""
	if strings.HasPrefix(s, "[") {
		end := strings.Index(s, "]")
		if end < 0 {
			return "", ErrInvalidRemote
		}
		host, port = s[1:end], s[end+1:]
		if port != "" && !strings.HasPrefix(port, ":") {
			return "", ErrInvalidRemote
		}
		port = strings.TrimPrefix(port, ":")
		if _, err := netip.ParseAddr(host); err != nil {
			return "", ErrInvalidRemote
		}
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", ErrInvalidRemote
		}
	}
	if strings.ContainsAny(host, ":[]") && !strings.HasPrefix(s, "[") {
		return "", ErrInvalidRemote
	}
	withPort := func(h string) string {
		if port == "" {
			return h
		}
		return net.JoinHostPort(h, port)
	}
	if addr, err := netip.ParseAddr(host); err == nil {
		if !allowPrivate {
			return "", ErrPrivateRemote
		}
		return withPort(addr.String()), nil
	}
	ascii, err := idna.Lookup.ToASCII(strings.TrimSuffix(host, "."))
	if err != nil || ascii == "" || len(ascii) > 253 {
		return "", ErrInvalidRemote
	}
	ascii = strings.ToLower(ascii)
	// The ASCII form must itself be a valid name (a U+FFFD, say, gives
	// punycode that no resolver takes back).
	if again, err := idna.Lookup.ToASCII(ascii); err != nil || again != ascii {
		return "", ErrInvalidRemote
	}
	labels := strings.Split(ascii, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return "", ErrInvalidRemote
		}
		for _, r := range l {
			if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || r == '-') {
				return "", ErrInvalidRemote
			}
		}
	}
	if last := labels[len(labels)-1]; strings.Trim(last, "0123456789") == "" {
		return "", ErrPrivateRemote // a disguised IPv4 address ("2130706433")
	}
	if len(labels) < 2 && !allowPrivate {
		return "", ErrPrivateRemote // "localhost", an intranet name
	}
	return withPort(ascii), nil
}

// Follower finds where a visitor confirms a follow on their own server.
type Follower struct {
	// Client is the SSRF-safe client (safehttp.NewClient).
	Client *http.Client
	// AllowPrivate mirrors federation.allow_private_networks: http is then
	// tried after https, and http targets are accepted (local tests).
	AllowPrivate bool
	// Timeout bounds the WebFinger lookup; zero means 5 seconds.
	Timeout time.Duration
}

// FollowURL returns the URL of the visitor's server where they follow uri
// (our actor). For a full address, it asks the visitor's server by
// WebFinger for its OStatus subscribe template; for a server name (or
// without a Client), or when the server has no usable template, it is the
// server's /authorize_interaction?uri=... (Mastodon's). A template is used only if
// it points to the visitor's server (the host typed, or the host that
// answered the WebFinger query after the server's own redirects) with
// https (http too when private networks are allowed). It fails with
// ErrUnreachable when the server does not answer at all, and with
// ErrPrivateRemote when its name leads to a non-public address.
func (f Follower) FollowURL(ctx context.Context, rem Remote, uri string) (string, error) {
	if rem.User == "" || f.Client == nil {
		return authorizeURL(rem.Scheme, rem.Host, uri), nil
	}
	timeout := f.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	schemes := []string{rem.Scheme}
	if f.AllowPrivate && rem.Scheme == "https" {
		schemes = append(schemes, "http")
	}
	var lastErr error
	for _, scheme := range schemes {
		tmpl, answeredBy, err := f.subscribeTemplate(ctx, scheme, rem)
		if err != nil {
			lastErr = err
			continue
		}
		if target, ok := f.checkTemplate(tmpl, uri, rem.Host, answeredBy); ok {
			return target, nil
		}
		return authorizeURL(scheme, rem.Host, uri), nil
	}
	if errors.Is(lastErr, safehttp.ErrForbiddenAddress) {
		return "", ErrPrivateRemote
	}
	return "", fmt.Errorf("%w: %w", ErrUnreachable, lastErr)
}

// subscribeTemplate queries the visitor's account by WebFinger. A server
// that answers without a template (404, no such link) gives "" and no
// error; only a server that cannot be reached is an error.
func (f Follower) subscribeTemplate(ctx context.Context, scheme string, rem Remote) (tmpl, answeredBy string, err error) {
	q := url.Values{"resource": {"acct:" + rem.Acct()}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, scheme+"://"+rem.Host+"/.well-known/webfinger?"+q.Encode(), nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("Accept", "application/jrd+json, application/json")
	resp, err := f.Client.Do(req)
	if err != nil {
		return "", "", err
	}
	answeredBy = resp.Request.URL.Host
	body, err := safehttp.LimitedBody(resp, 64<<10)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", answeredBy, nil
	}
	var jrd struct {
		Links []struct {
			Rel      string `json:"rel"`
			Template string `json:"template"`
		} `json:"links"`
	}
	if json.Unmarshal(body, &jrd) != nil {
		return "", answeredBy, nil
	}
	for _, l := range jrd.Links {
		if l.Rel == SubscribeRel && l.Template != "" {
			return l.Template, answeredBy, nil
		}
	}
	return "", answeredBy, nil
}

// checkTemplate fills a subscribe template and accepts the result only on
// the visitor's server.
func (f Follower) checkTemplate(tmpl, uri, host, answeredBy string) (string, bool) {
	if !strings.Contains(tmpl, "{uri}") {
		return "", false
	}
	target := strings.ReplaceAll(tmpl, "{uri}", url.QueryEscape(uri))
	u, err := safehttp.CheckURL(target, f.AllowPrivate)
	if err != nil || u.Opaque != "" || u.Fragment != "" {
		return "", false
	}
	if u.Scheme != "https" && !(f.AllowPrivate && u.Scheme == "http") {
		return "", false
	}
	if !strings.EqualFold(u.Host, host) && !strings.EqualFold(u.Host, answeredBy) {
		return "", false
	}
	return u.String(), true
}

// authorizeURL is Mastodon's remote interaction page (GoToSocial and
// others serve it too).
func authorizeURL(scheme, host, uri string) string {
	return scheme + "://" + host + "/authorize_interaction?uri=" + url.QueryEscape(uri)
}
