package safehttp

// These tests only ever connect to 127.0.0.0/8. Refusals of other ranges
// are tested without dialling: CheckURL and the dial-time check directly.

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

func TestClientForbiddenAddr(t *testing.T) {
	tests := []struct {
		name      string
		addr      string
		forbidden bool
	}{
		{"public IPv4", "93.184.215.14", false},
		{"public IPv4 resolver", "1.1.1.1", false},
		{"just outside CGNAT", "100.128.0.1", false},
		{"just outside 172.16/12", "172.32.0.1", false},
		{"loopback", "127.0.0.1", true},
		{"loopback high", "127.255.255.254", true},
		{"private 10/8", "10.1.2.3", true},
		{"private 172.16/12", "172.31.255.255", true},
		{"private 192.168/16", "192.168.1.1", true},
		{"CGNAT", "100.64.0.1", true},
		{"CGNAT high", "100.127.255.255", true},
		{"link-local (cloud metadata)", "169.254.169.254", true},
		{"multicast", "224.0.0.1", true},
		{"multicast SSDP", "239.255.255.250", true},
		{"broadcast", "255.255.255.255", true},
		{"reserved 240/4", "240.0.0.1", true},
		{"unspecified", "0.0.0.0", true},
		{"this network 0/8", "0.1.2.3", true},
		{"IETF protocol assignments", "192.0.0.8", true},
		{"documentation", "192.0.2.1", true},
		{"benchmarking", "198.18.0.1", true},
		{"public IPv6", "2606:4700:4700::1111", false},
		{"public IPv6 (Google)", "2a00:1450:4007:80b::200e", false},
		{"IPv6 loopback", "::1", true},
		{"IPv6 unspecified", "::", true},
		{"IPv6 unique local", "fd00::1", true},
		{"IPv6 link-local", "fe80::1", true},
		{"IPv6 link-local with zone", "fe80::1%eth0", true},
		{"IPv6 link-local multicast", "ff02::1", true},
		{"IPv6 interface-local multicast", "ff01::1", true},
		{"IPv6 global multicast", "ff0e::1", true},
		{"IPv6 site-local", "fec0::1", true},
		{"IPv6 discard-only", "100::1", true},
		{"IPv6 documentation", "2001:db8::1", true},
		{"Teredo", "2001::1", true},
		{"IPv4-compatible loopback", "::127.0.0.1", true},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1", true},
		{"IPv4-mapped private", "::ffff:10.0.0.1", true},
		{"IPv4-mapped link-local", "::ffff:169.254.169.254", true},
		{"IPv4-mapped public", "::ffff:1.1.1.1", false},
		{"NAT64 of loopback", "64:ff9b::7f00:1", true},
		{"NAT64 of private", "64:ff9b::a00:1", true},
		{"NAT64 of public", "64:ff9b::101:101", false},
		{"local-use NAT64", "64:ff9b:1::1", true},
		{"6to4 of loopback", "2002:7f00:1::1", true},
		{"6to4 of public", "2002:101:101::1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			reason := forbiddenAddrReason(a)
			if (reason != "") != tt.forbidden {
				t.Fatalf("forbiddenAddrReason(%s) = %q, want forbidden=%v", a, reason, tt.forbidden)
			}
			// Whatever netip considers non-public must be refused too.
			u := a.Unmap()
			if (u.IsLoopback() || u.IsPrivate() || u.IsLinkLocalUnicast() || u.IsMulticast() || u.IsUnspecified() || !u.IsGlobalUnicast()) && reason == "" {
				t.Fatalf("%s is not public for netip but allowed", a)
			}
		})
	}
}

func TestClientControl(t *testing.T) {
	tests := []struct {
		name    string
		guard   addrGuard
		address string
		refused bool
	}{
		{"public", addrGuard{}, "1.1.1.1:443", false},
		{"public IPv6", addrGuard{}, "[2606:4700:4700::1111]:443", false},
		{"loopback", addrGuard{}, "127.0.0.1:80", true},
		{"IPv6 loopback", addrGuard{}, "[::1]:80", true},
		{"IPv4-mapped private", addrGuard{}, "[::ffff:192.168.0.1]:80", true},
		{"unparsable", addrGuard{}, "localhost:80", true},
		{"loopback allowed", addrGuard{allowPrivate: true}, "127.0.0.1:80", false},
		{"hook allows one address", addrGuard{allow: cliAllowOnly("127.0.0.1:80")}, "127.0.0.1:80", false},
		{"hook allows no other port", addrGuard{allow: cliAllowOnly("127.0.0.1:80")}, "127.0.0.1:81", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.guard.control("tcp", tt.address, nil)
			if (err != nil) != tt.refused {
				t.Fatalf("control(%s) = %v, want refused=%v", tt.address, err, tt.refused)
			}
			if err != nil && !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("error %v does not wrap ErrForbiddenAddress", err)
			}
		})
	}
}

func TestClientCheckURL(t *testing.T) {
	tests := []struct {
		name         string
		url          string
		allowPrivate bool
		wantErr      bool
		forbidden    bool // errors.Is(err, ErrForbiddenAddress)
	}{
		{name: "https", url: "https://mastodon.example/users/a"},
		{name: "http with port", url: "http://gts.example:8080/inbox"},
		{name: "public IP literal", url: "https://1.1.1.1/"},
		{name: "public IPv6 literal", url: "https://[2606:4700:4700::1111]/"},
		{name: "DNS name checked later", url: "http://localhost/"},
		{name: "ftp", url: "ftp://example.org/", wantErr: true},
		{name: "javascript", url: "javascript:alert(1)", wantErr: true},
		{name: "relative", url: "/users/a", wantErr: true},
		{name: "no host", url: "https:///users/a", wantErr: true},
		{name: "userinfo", url: "https://user:pass@example.org/", wantErr: true},
		{name: "unparsable", url: "https://exa mple.org/%zz", wantErr: true},
		{name: "loopback literal", url: "http://127.0.0.1:8080/", wantErr: true, forbidden: true},
		{name: "loopback literal allowed", url: "http://127.0.0.1:8080/", allowPrivate: true},
		{name: "IPv6 loopback literal", url: "http://[::1]/", wantErr: true, forbidden: true},
		{name: "IPv4-mapped literal", url: "http://[::ffff:127.0.0.1]/", wantErr: true, forbidden: true},
		{name: "private literal", url: "https://10.0.0.1/", wantErr: true, forbidden: true},
		{name: "metadata literal", url: "http://169.254.169.254/latest/meta-data/", wantErr: true, forbidden: true},
		{name: "CGNAT literal", url: "http://100.64.1.1/", wantErr: true, forbidden: true},
		{name: "unspecified literal", url: "http://0.0.0.0/", wantErr: true, forbidden: true},
		{name: "decimal IPv4", url: "http://2130706433/", wantErr: true, forbidden: true},
		{name: "short IPv4", url: "http://127.1/", wantErr: true, forbidden: true},
		{name: "hex IPv4", url: "http://0x7f.0x1/", wantErr: true, forbidden: true},
		{name: "decimal IPv4 even when private allowed", url: "http://2130706433/", allowPrivate: true, wantErr: true, forbidden: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := CheckURL(tt.url, tt.allowPrivate)
			if (err != nil) != tt.wantErr {
				t.Fatalf("CheckURL(%q) = %v, %v; want error=%v", tt.url, u, err, tt.wantErr)
			}
			if errors.Is(err, ErrForbiddenAddress) != tt.forbidden {
				t.Fatalf("CheckURL(%q) error %v, want ErrForbiddenAddress=%v", tt.url, err, tt.forbidden)
			}
		})
	}
}

// cliServer is a loopback test server counting connections and requests.
type cliServer struct {
	*httptest.Server
	conns, requests atomic.Int32
	userAgent       atomic.Value
}

func cliStart(t *testing.T, h http.HandlerFunc) *cliServer {
	t.Helper()
	s := &cliServer{}
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.userAgent.Store(r.UserAgent())
		h(w, r)
	}))
	s.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.conns.Add(1)
		}
	}
	s.Start()
	t.Cleanup(s.Close)
	return s
}

func (s *cliServer) addrPort(t *testing.T) netip.AddrPort {
	t.Helper()
	return netip.MustParseAddrPort(s.Listener.Addr().String())
}

func (s *cliServer) untouched(t *testing.T) {
	t.Helper()
	if c, r := s.conns.Load(), s.requests.Load(); c != 0 || r != 0 {
		t.Fatalf("server saw %d connections and %d requests, want none", c, r)
	}
}

// cliAllowOnly is a guard hook admitting exactly one address.
func cliAllowOnly(addr string) func(netip.AddrPort) bool {
	want := netip.MustParseAddrPort(addr)
	return func(ap netip.AddrPort) bool { return ap == want }
}

// cliLocalhostURL turns a 127.0.0.1 server URL into a localhost one, to
// test the check after name resolution. It skips if localhost does not
// resolve to loopback only.
func cliLocalhostURL(t *testing.T, s *cliServer) string {
	t.Helper()
	addrs, err := net.LookupHost("localhost")
	if err != nil || len(addrs) == 0 {
		t.Skipf("localhost does not resolve: %v", err)
	}
	for _, a := range addrs {
		if ip, err := netip.ParseAddr(a); err != nil || !ip.IsLoopback() {
			t.Skipf("localhost resolves to %s", a)
		}
	}
	return strings.Replace(s.URL, "127.0.0.1", "localhost", 1)
}

func cliOK(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestClientRefusesLoopback(t *testing.T) {
	t.Run("IP literal, before dialling", func(t *testing.T) {
		s := cliStart(t, cliOK)
		_, err := NewClient(Config{}).Get(s.URL + "/actor")
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Fatalf("err = %v, want ErrForbiddenAddress", err)
		}
		s.untouched(t)
	})
	t.Run("DNS name, after resolution", func(t *testing.T) {
		s := cliStart(t, cliOK)
		_, err := NewClient(Config{}).Get(cliLocalhostURL(t, s) + "/actor")
		if !errors.Is(err, ErrForbiddenAddress) {
			t.Fatalf("err = %v, want ErrForbiddenAddress", err)
		}
		s.untouched(t)
	})
	t.Run("allowed when private networks are", func(t *testing.T) {
		s := cliStart(t, cliOK)
		resp, err := NewClient(Config{AllowPrivateNetworks: true}).Get(s.URL + "/actor")
		if err != nil {
			t.Fatal(err)
		}
		body, err := LimitedBody(resp, 100)
		if err != nil || string(body) != "ok" || resp.StatusCode != 200 {
			t.Fatalf("got %d %q %v", resp.StatusCode, body, err)
		}
		if ua := s.userAgent.Load(); ua != DefaultUserAgent {
			t.Errorf("User-Agent = %q, want %q", ua, DefaultUserAgent)
		}
	})
}

func TestClientRedirect(t *testing.T) {
	target := cliStart(t, cliOK)
	tests := []struct {
		name      string
		location  func(t *testing.T) string
		forbidden bool
	}{
		{"to a loopback IP literal", func(t *testing.T) string { return target.URL + "/x" }, true},
		{"to a name resolving to loopback", func(t *testing.T) string { return cliLocalhostURL(t, target) + "/x" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc := tt.location(t)
			origin := cliStart(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, loc, http.StatusFound)
			})
			// The origin stands for a public server: allow exactly it.
			c := NewClient(Config{allowAddr: cliAllowOnly(origin.addrPort(t).String())})
			_, err := c.Get(origin.URL + "/start")
			if !errors.Is(err, ErrForbiddenAddress) {
				t.Fatalf("err = %v, want ErrForbiddenAddress", err)
			}
			if origin.requests.Load() != 1 {
				t.Fatalf("origin saw %d requests, want 1", origin.requests.Load())
			}
			target.untouched(t)
		})
	}
	t.Run("within the allowed server", func(t *testing.T) {
		origin := cliStart(t, func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/start" {
				http.Redirect(w, r, "/end", http.StatusMovedPermanently)
				return
			}
			cliOK(w, r)
		})
		c := NewClient(Config{allowAddr: cliAllowOnly(origin.addrPort(t).String())})
		resp, err := c.Get(origin.URL + "/start")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Request.URL.Path != "/end" {
			t.Fatalf("ended at %s", resp.Request.URL)
		}
	})
}

func TestClientRedirectLimits(t *testing.T) {
	var hops atomic.Int32
	s := cliStart(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loop":
			hops.Add(1)
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/ftp":
			http.Redirect(w, r, "ftp://127.0.0.1/file", http.StatusFound)
		}
	})
	c := NewClient(Config{AllowPrivateNetworks: true})
	if _, err := c.Get(s.URL + "/loop"); err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("endless redirects: err = %v", err)
	}
	if n := hops.Load(); n != clientMaxRedirects {
		t.Errorf("followed %d requests, want %d", n, clientMaxRedirects)
	}
	if _, err := c.Get(s.URL + "/ftp"); err == nil || !strings.Contains(err.Error(), "scheme") {
		t.Errorf("redirect to ftp: err = %v", err)
	}
}

func TestClientBodyLimit(t *testing.T) {
	big := bytes.Repeat([]byte("a"), 2000)
	s := cliStart(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/gzip" {
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			zw.Write(bytes.Repeat(big, 100)) // 200 kB, compressed to a few hundred bytes
			zw.Close()
			return
		}
		w.Write(big)
	})
	tests := []struct {
		name       string
		path       string
		clientMax  int64
		helperMax  int64
		tooLarge   bool
		wantLength int
	}{
		{"under both limits", "/", 0, 5000, false, 2000},
		{"exactly the helper limit", "/", 0, 2000, false, 2000},
		{"over the helper limit", "/", 0, 1999, true, 0},
		{"over the client limit", "/", 1000, 5000, true, 0},
		{"unbounded client", "/", -1, 5000, false, 2000},
		{"client limit applies after decompression", "/gzip", 100_000, 1 << 20, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClient(Config{AllowPrivateNetworks: true, MaxBodyBytes: tt.clientMax})
			resp, err := c.Get(s.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			body, err := LimitedBody(resp, tt.helperMax)
			if errors.Is(err, ErrResponseTooLarge) != tt.tooLarge {
				t.Fatalf("err = %v, want ErrResponseTooLarge=%v", err, tt.tooLarge)
			}
			if !tt.tooLarge && len(body) != tt.wantLength {
				t.Fatalf("read %d bytes, want %d", len(body), tt.wantLength)
			}
		})
	}
}

func TestClientTransportSettings(t *testing.T) {
	c := NewClient(Config{})
	gt, ok := c.Transport.(*guardedTransport)
	if !ok {
		t.Fatalf("transport is %T", c.Transport)
	}
	tr := gt.base
	if tr.Proxy != nil {
		t.Error("the transport must not use a proxy (it would bypass the address check)")
	}
	if c.Timeout != DefaultTimeout || tr.TLSHandshakeTimeout == 0 || tr.ResponseHeaderTimeout == 0 {
		t.Errorf("timeouts: client %v, TLS %v, headers %v", c.Timeout, tr.TLSHandshakeTimeout, tr.ResponseHeaderTimeout)
	}
	if !tr.ForceAttemptHTTP2 || tr.MaxIdleConnsPerHost < 1 || tr.MaxIdleConns < 100*tr.MaxIdleConnsPerHost {
		t.Errorf("connection reuse: HTTP/2 %v, idle %d, per host %d", tr.ForceAttemptHTTP2, tr.MaxIdleConns, tr.MaxIdleConnsPerHost)
	}
	if gt.maxBody != DefaultMaxBodyBytes || gt.userAgent != DefaultUserAgent {
		t.Errorf("defaults: max body %d, user agent %q", gt.maxBody, gt.userAgent)
	}
}
