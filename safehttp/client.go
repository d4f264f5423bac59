package safehttp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Client defaults.
const (
	DefaultTimeout      = 15 * time.Second
	DefaultMaxBodyBytes = 10 << 20
	DefaultUserAgent    = "Passerelle (+https://github.com/passerelle/passerelle)"

	clientMaxRedirects     = 5
	clientDialTimeout      = 5 * time.Second
	clientTLSTimeout       = 5 * time.Second
	clientHeaderTimeout    = 10 * time.Second
	clientIdleTimeout      = 90 * time.Second
	clientMaxIdleConns     = 1024 // across all hosts: delivery reaches thousands
	clientMaxIdlePerHost   = 8    // as many as deliveries to one host at once (federation's perHostConcurrency)
	clientMaxResponseHeads = 64 << 10
)

// ErrForbiddenAddress is wrapped in the error of any request whose
// destination is not a public address (loopback, private, link-local, ...)
// while private networks are not allowed.
var ErrForbiddenAddress = errors.New("forbidden address")

// ErrResponseTooLarge is wrapped in the error of reading a response body
// longer than allowed (Config.MaxBodyBytes or LimitedBody's max).
var ErrResponseTooLarge = errors.New("response body too large")

// Config configures NewClient. The caller maps its own settings onto it
// (federation.allow_private_networks, per-use timeouts and body limits).
type Config struct {
	// AllowPrivateNetworks lets requests reach loopback, private and other
	// non-public addresses. For local tests only.
	AllowPrivateNetworks bool
	// UserAgent is sent when a request sets none; empty means
	// DefaultUserAgent.
	UserAgent string
	// Timeout bounds a whole exchange, redirects and body included; zero
	// means DefaultTimeout.
	Timeout time.Duration
	// MaxBodyBytes bounds every response body (after decompression):
	// reading past it fails with ErrResponseTooLarge. Zero means
	// DefaultMaxBodyBytes, negative means no bound.
	MaxBodyBytes int64

	// allowAddr, for tests, admits addresses the policy would refuse.
	allowAddr func(netip.AddrPort) bool
}

// NewClient returns the SSRF-safe client. Destination addresses are
// checked after DNS resolution, on the very address being connected to
// (net.Dialer.Control), hence after every redirect and immune to DNS
// rebinding. URLs with an IP literal are also refused before any network
// activity. Proxies from the environment are ignored: a proxy would connect
// on our behalf, past the check.
func NewClient(cfg Config) *http.Client {
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	guard := addrGuard{allowPrivate: cfg.AllowPrivateNetworks, allow: cfg.allowAddr}
	dialer := &net.Dialer{
		Timeout:   clientDialTimeout,
		KeepAlive: 30 * time.Second,
		Control:   guard.control,
	}
	transport := &http.Transport{
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    clientTLSTimeout,
		ResponseHeaderTimeout:  clientHeaderTimeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        clientIdleTimeout,
		MaxIdleConns:           clientMaxIdleConns,
		MaxIdleConnsPerHost:    clientMaxIdlePerHost,
		MaxResponseHeaderBytes: clientMaxResponseHeads,
	}
	return &http.Client{
		Transport: &guardedTransport{
			base:      transport,
			guard:     guard,
			userAgent: cfg.UserAgent,
			maxBody:   cfg.MaxBodyBytes,
		},
		CheckRedirect: checkRedirect,
		Timeout:       cfg.Timeout,
	}
}

// checkRedirect follows at most clientMaxRedirects redirects, to http or
// https only. The destination address is checked when dialling.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= clientMaxRedirects {
		return fmt.Errorf("safehttp: stopped after %d redirects", clientMaxRedirects)
	}
	if s := req.URL.Scheme; s != "http" && s != "https" {
		return fmt.Errorf("safehttp: redirect to unsupported scheme %q", s)
	}
	return nil
}

// CheckURL parses raw as an absolute http or https URL with a host and no
// userinfo. Unless allowPrivate, a host that is an IP literal in a
// forbidden range fails with ErrForbiddenAddress, without any network
// activity; DNS names are checked when dialling. Hosts that look like
// non-canonical IPv4 literals ("0x7f.1", "2130706433"), which some
// resolvers would accept, are always refused.
func CheckURL(raw string, allowPrivate bool) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("safehttp: check URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("safehttp: check URL %q: scheme must be http or https", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("safehttp: check URL %q: userinfo not allowed", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("safehttp: check URL %q: no host", raw)
	}
	if err := (addrGuard{allowPrivate: allowPrivate}).checkURLHost(u); err != nil {
		return nil, fmt.Errorf("safehttp: check URL %q: %w", raw, err)
	}
	return u, nil
}

// looksNumericHost reports whether host's last label is numeric (decimal or
// 0x-hex): no real domain name ends that way, but inet_aton-style parsers
// read such names as IPv4 addresses.
func looksNumericHost(host string) bool {
	host = strings.TrimSuffix(host, ".")
	last := host[strings.LastIndexByte(host, '.')+1:]
	if strings.HasPrefix(last, "0x") || strings.HasPrefix(last, "0X") {
		last = last[2:]
		return strings.Trim(strings.ToLower(last), "0123456789abcdef") == ""
	}
	return last != "" && strings.Trim(last, "0123456789") == ""
}

// LimitedBody reads and closes resp.Body, failing with ErrResponseTooLarge
// if it is longer than max bytes.
func LimitedBody(resp *http.Response, max int64) ([]byte, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("safehttp: read response body: %w", err)
	}
	if int64(len(body)) > max {
		return nil, fmt.Errorf("safehttp: read response body: %w (more than %d bytes)", ErrResponseTooLarge, max)
	}
	return body, nil
}

// addrGuard decides which addresses may be connected to.
type addrGuard struct {
	allowPrivate bool
	allow        func(netip.AddrPort) bool // test hook, may be nil
}

// check returns an error wrapping ErrForbiddenAddress if ap is refused.
func (g addrGuard) check(ap netip.AddrPort) error {
	if g.allowPrivate || (g.allow != nil && g.allow(ap)) {
		return nil
	}
	if reason := forbiddenAddrReason(ap.Addr()); reason != "" {
		return fmt.Errorf("%w: %s is %s", ErrForbiddenAddress, ap, reason)
	}
	return nil
}

// control is a net.Dialer.Control function: it runs after the name is
// resolved and before the socket connects, for every address tried.
func (g addrGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: unparsable address %q", ErrForbiddenAddress, address)
	}
	return g.check(ap)
}

// checkURLHost refuses a URL whose host is a forbidden IP literal, or
// looks like a disguised one, so that nothing is dialled at all. DNS names
// pass: they are checked when dialling.
func (g addrGuard) checkURLHost(u *url.URL) error {
	host := u.Hostname()
	addr, err := netip.ParseAddr(host)
	if err != nil {
		if looksNumericHost(host) {
			return fmt.Errorf("%w: %q is a non-canonical IP address", ErrForbiddenAddress, host)
		}
		return nil
	}
	return g.check(netip.AddrPortFrom(addr, urlPort(u)))
}

// urlPort is the port u designates, explicitly or by its scheme.
func urlPort(u *url.URL) uint16 {
	if p, err := strconv.ParseUint(u.Port(), 10, 16); err == nil {
		return uint16(p)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// guardedTransport checks every request (the first and each redirect)
// before the real transport runs it, sets the User-Agent and bounds the
// response body.
type guardedTransport struct {
	base      *http.Transport
	guard     addrGuard
	userAgent string
	maxBody   int64
}

func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if s := req.URL.Scheme; s != "http" && s != "https" {
		closeRequestBody(req)
		return nil, fmt.Errorf("safehttp: unsupported scheme %q", s)
	}
	if err := t.guard.checkURLHost(req.URL); err != nil {
		closeRequestBody(req)
		return nil, fmt.Errorf("safehttp: %w", err)
	}
	if req.Header.Get("User-Agent") == "" {
		req = req.Clone(req.Context()) // a RoundTripper must not modify its request
		req.Header.Set("User-Agent", t.userAgent)
	}
	resp, err := t.base.RoundTrip(req)
	if err != nil || t.maxBody < 0 {
		return resp, err
	}
	resp.Body = &maxBytesBody{rc: resp.Body, left: t.maxBody}
	return resp, nil
}

// CloseIdleConnections lets http.Client.CloseIdleConnections reach the
// underlying transport.
func (t *guardedTransport) CloseIdleConnections() { t.base.CloseIdleConnections() }

// closeRequestBody honours the RoundTripper contract: the request body is
// closed even on error.
func closeRequestBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// maxBytesBody fails with ErrResponseTooLarge once more than left bytes
// have been read.
type maxBytesBody struct {
	rc   io.ReadCloser
	left int64 // bytes still allowed; -1 once exceeded
}

func (b *maxBytesBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("safehttp: %w", ErrResponseTooLarge)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1] // one byte more than allowed reveals an overflow
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left = -1
		return n, fmt.Errorf("safehttp: %w", ErrResponseTooLarge)
	}
	b.left -= int64(n)
	return n, err
}

func (b *maxBytesBody) Close() error { return b.rc.Close() }

// forbiddenPrefixes are the non-public ranges of the IANA IPv4 and IPv6
// special-purpose address registries, with a name for error messages.
// IPv4-mapped IPv6 addresses are unmapped before the lookup; NAT64 and 6to4
// addresses are judged by the IPv4 address they embed.
var forbiddenPrefixes = []struct {
	prefix netip.Prefix
	reason string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "in 0.0.0.0/8 (this network)"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "shared address space (CGNAT)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "documentation"},
	{netip.MustParsePrefix("192.88.99.0/24"), "6to4 relay anycast"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("198.51.100.0/24"), "documentation"},
	{netip.MustParsePrefix("203.0.113.0/24"), "documentation"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"}, // includes broadcast
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "local-use NAT64"},
	{netip.MustParsePrefix("100::/64"), "discard-only"},
	{netip.MustParsePrefix("2001::/23"), "IETF protocol assignment"}, // Teredo, ORCHID, ...
	{netip.MustParsePrefix("2001:db8::/32"), "documentation"},
	{netip.MustParsePrefix("3fff::/20"), "documentation"},
	{netip.MustParsePrefix("fc00::/7"), "unique local"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("fec0::/10"), "site-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// IPv6 ranges handled specially by forbiddenAddrReason.
var (
	globalUnicast6 = netip.MustParsePrefix("2000::/3")
	nat64Prefix    = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// forbiddenAddrReason says why a is not a public unicast address, or
// returns "" if it is one.
func forbiddenAddrReason(a netip.Addr) string {
	if !a.IsValid() {
		return "invalid"
	}
	a = a.WithZone("").Unmap()
	if v4, via, ok := embeddedIPv4(a); ok {
		if r := forbiddenAddrReason(v4); r != "" {
			return r + " (embedded in " + via + ")"
		}
		return ""
	}
	for _, p := range forbiddenPrefixes {
		if p.prefix.Contains(a) {
			return p.reason
		}
	}
	if a.Is6() && !globalUnicast6.Contains(a) {
		return "not global unicast"
	}
	return ""
}

// embeddedIPv4 extracts the IPv4 address carried by a NAT64 (RFC 6052) or
// 6to4 (RFC 3056) address.
func embeddedIPv4(a netip.Addr) (v4 netip.Addr, via string, ok bool) {
	b := a.As16()
	switch {
	case !a.Is6():
		return netip.Addr{}, "", false
	case nat64Prefix.Contains(a):
		return netip.AddrFrom4([4]byte(b[12:16])), "NAT64", true
	case sixToFour.Contains(a):
		return netip.AddrFrom4([4]byte(b[2:6])), "6to4", true
	default:
		return netip.Addr{}, "", false
	}
}
