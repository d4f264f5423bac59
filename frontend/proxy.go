package frontend

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// forwardedHeaders are the headers a reverse proxy sets about the client
// and the request (X-Request-Id: its id for the request, kept by package
// reqlog).
var forwardedHeaders = []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-Ip", "Forwarded", "X-Request-Id"}

// TrustProxies believes X-Forwarded-For, X-Forwarded-Host and X-Request-Id
// only from the trusted proxies, and removes those headers from every other
// request, so that nothing downstream can be fooled by a client setting
// them.
//
// From a trusted proxy, the client address (r.RemoteAddr) becomes the
// right-most X-Forwarded-For address that is not itself a trusted proxy,
// and r.Host becomes X-Forwarded-Host when set. The request is updated in
// place, so that middleware around this one sees what the mux matched.
func TrustProxies(trusted []netip.Prefix, next http.Handler) http.Handler {
	isTrusted := func(a netip.Addr) bool {
		a = a.Unmap()
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer, ok := remoteAddr(r.RemoteAddr)
		if !ok || !isTrusted(peer) {
			for _, h := range forwardedHeaders {
				r.Header.Del(h)
			}
			next.ServeHTTP(w, r)
			return
		}
		if client, ok := clientFromXFF(r.Header.Values("X-Forwarded-For"), isTrusted); ok {
			r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		if h := strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Host"), ",")[0]); h != "" {
			r.Host = h
		}
		next.ServeHTTP(w, r)
	})
}

func remoteAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	host, _, err := net.SplitHostPort(s)
	if err != nil {
		host = s
	}
	a, err := netip.ParseAddr(host)
	return a, err == nil
}

// clientFromXFF walks X-Forwarded-For from the right (the entries our
// proxies appended) and returns the first address that is not a trusted
// proxy; entries further left could be forged by the client.
func clientFromXFF(values []string, trusted func(netip.Addr) bool) (netip.Addr, bool) {
	var addrs []string
	for _, v := range values {
		addrs = append(addrs, strings.Split(v, ",")...)
	}
	var last netip.Addr
	for i := len(addrs) - 1; i >= 0; i-- {
		a, ok := remoteAddr(strings.TrimSpace(addrs[i]))
		if !ok {
			return last, last.IsValid()
		}
		last = a
		if !trusted(a) {
			return a, true
		}
	}
	return last, last.IsValid()
}
