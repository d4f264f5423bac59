package frontend_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/frontend"
)

func TestRedirect(t *testing.T) {
	public, _ := url.Parse("https://social.city.example:8443")
	h := frontend.Redirect(public, []string{"city.example"})
	tests := []struct {
		name     string
		method   string
		host     string
		target   string
		code     int
		location string
	}{
		{name: "public host", method: "GET", host: "social.city.example", target: "/users/news?page=1", code: 301, location: "https://social.city.example:8443/users/news?page=1"},
		{name: "account domain keeps its name", method: "GET", host: "city.example:80", target: "/.well-known/webfinger?resource=acct:news@city.example", code: 301, location: "https://city.example:8443/.well-known/webfinger?resource=acct:news@city.example"},
		{name: "unknown Host header goes to the public host", method: "GET", host: "evil.example", target: "/", code: 301, location: "https://social.city.example:8443/"},
		{name: "POST keeps its method", method: "POST", host: "social.city.example", target: "/inbox", code: 308, location: "https://social.city.example:8443/inbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.code || w.Header().Get("Location") != tt.location {
				t.Errorf("got %d %q, want %d %q", w.Code, w.Header().Get("Location"), tt.code, tt.location)
			}
		})
	}
}

func TestTrustProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	var seen *http.Request
	h := frontend.TrustProxies(trusted, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r }))
	tests := []struct {
		name       string
		remote     string
		xff, xfh   string
		wantRemote string
		wantHost   string
		wantXFF    string
	}{
		{name: "untrusted peer: headers removed", remote: "203.0.113.9:5555", xff: "1.2.3.4", xfh: "evil.example",
			wantRemote: "203.0.113.9:5555", wantHost: "social.city.example", wantXFF: ""},
		{name: "trusted proxy: client from X-Forwarded-For", remote: "10.1.2.3:4444", xff: "198.51.100.7", xfh: "city.example",
			wantRemote: "198.51.100.7:0", wantHost: "city.example", wantXFF: "198.51.100.7"},
		{name: "trusted chain: right-most untrusted address wins", remote: "[::1]:4444", xff: "6.6.6.6, 198.51.100.7, 10.9.9.9",
			wantRemote: "198.51.100.7:0", wantHost: "social.city.example", wantXFF: "6.6.6.6, 198.51.100.7, 10.9.9.9"},
		{name: "trusted proxy without headers", remote: "10.1.2.3:4444",
			wantRemote: "10.1.2.3:4444", wantHost: "social.city.example"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.Host = "social.city.example"
			r.RemoteAddr = tt.remote
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.xfh != "" {
				r.Header.Set("X-Forwarded-Host", tt.xfh)
			}
			h.ServeHTTP(httptest.NewRecorder(), r)
			if seen.RemoteAddr != tt.wantRemote || seen.Host != tt.wantHost || seen.Header.Get("X-Forwarded-For") != tt.wantXFF {
				t.Errorf("got remote %q host %q xff %q; want %q %q %q",
					seen.RemoteAddr, seen.Host, seen.Header.Get("X-Forwarded-For"), tt.wantRemote, tt.wantHost, tt.wantXFF)
			}
		})
	}
}

func TestReady(t *testing.T) {
	dbDown := errors.New("dial tcp 10.0.0.5:5432: connection refused")
	var dbErr error
	h := frontend.Ready(time.Second, zerolog.Nop(),
		frontend.Check{Name: "database", Check: func(context.Context) error { return dbErr }},
		frontend.Check{Name: "delivery workers", Check: func(context.Context) error { return nil }},
	)
	get := func() (int, string) {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/readyz", nil))
		return w.Code, w.Body.String()
	}
	if code, body := get(); code != 200 || body != "database: ok\ndelivery workers: ok\n" {
		t.Errorf("ready: %d %q", code, body)
	}
	dbErr = dbDown
	code, body := get()
	if code != 503 || body != "database: failing\ndelivery workers: ok\n" {
		t.Errorf("not ready: %d %q", code, body)
	}
	if strings.Contains(body, "10.0.0.5") {
		t.Error("the body reveals an internal address")
	}
}

// selfSigned is a certificate for name, for the manual mode.
type selfSigned struct{ cert tls.Certificate }

func (s selfSigned) TLSConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{s.cert}, NextProtos: []string{"h2", "http/1.1"}}
}

func newSelfSigned(t *testing.T, name string) (selfSigned, *x509.CertPool) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return selfSigned{tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}}, pool
}

// TestFrontendManualTLS runs the three listeners on loopback: HTTPS with
// the app and the probes, plain HTTP redirecting (probes answered), and
// metrics; then shuts them down while a request is in flight.
func TestFrontendManualTLS(t *testing.T) {
	const name = "social.city.example"
	certs, pool := newSelfSigned(t, name)
	release, started := make(chan struct{}), make(chan struct{}, 1)
	app := http.NewServeMux()
	app.HandleFunc("GET /users/{name}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "actor "+r.PathValue("name")) })
	app.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-release
		io.WriteString(w, "done")
	})
	fe, err := frontend.New(frontend.Config{
		Mode: frontend.ModeManual, Listen: "127.0.0.1:0", HTTPListen: "127.0.0.1:0", MetricsListen: "127.0.0.1:0",
		PublicURL: "https://" + name,
	}, frontend.Handlers{
		App: app, Health: frontend.Health(),
		Ready:   frontend.Ready(time.Second, zerolog.Nop()),
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "# metrics\n") }),
	}, certs, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := fe.Listen(); err != nil {
		t.Fatal(err)
	}
	errs := fe.Serve()

	mainAddr := fe.Addr("main").String()
	httpsClient := &http.Client{Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: name},
	}}
	plain := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(c *http.Client, u string) (int, string, string) {
		t.Helper()
		resp, err := c.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("Location")
	}
	if code, body, _ := get(httpsClient, "https://"+mainAddr+"/users/news"); code != 200 || body != "actor news" {
		t.Errorf("HTTPS app: %d %q", code, body)
	}
	if code, body, _ := get(httpsClient, "https://"+mainAddr+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("HTTPS healthz: %d %q", code, body)
	}
	httpAddr := fe.Addr("http").String()
	if code, _, loc := get(plain, "http://"+httpAddr+"/users/news"); code != 301 || loc != "https://"+name+"/users/news" {
		t.Errorf("HTTP redirect: %d %q", code, loc)
	}
	if code, body, _ := get(plain, "http://"+httpAddr+"/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("HTTP healthz: %d %q", code, body)
	}
	metricsAddr := fe.Addr("metrics").String()
	if code, body, _ := get(plain, "http://"+metricsAddr+"/metrics"); code != 200 || body != "# metrics\n" {
		t.Errorf("metrics: %d %q", code, body)
	}
	if code, _, _ := get(plain, "http://"+metricsAddr+"/users/news"); code != 404 {
		t.Errorf("the app is served on the metrics listener: %d", code)
	}

	// Graceful shutdown: the in-flight request finishes, new connections
	// are refused.
	slow := make(chan string, 1)
	go func() {
		_, body, _ := get(httpsClient, "https://"+mainAddr+"/slow")
		slow <- body
	}()
	<-started
	shut := make(chan error, 1)
	go func() { shut <- fe.Shutdown(context.Background()) }()
	// The listeners close as the shutdown begins; the in-flight request
	// holds it open.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); !refused && time.Now().Before(deadline); {
		c, err := net.DialTimeout("tcp", httpAddr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		runtime.Gosched()
	}
	if !refused {
		t.Error("the HTTP listener still accepts connections during shutdown")
	}
	close(release)
	if body := <-slow; body != "done" {
		t.Errorf("in-flight request: %q", body)
	}
	if err := <-shut; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errs:
		t.Errorf("server error: %v", err)
	default:
	}
}

func TestFrontendListenFailsWhole(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	fe, err := frontend.New(frontend.Config{Mode: frontend.ModeOff, Listen: "127.0.0.1:0", MetricsListen: busy.Addr().String()},
		frontend.Handlers{App: http.NotFoundHandler(), Metrics: http.NotFoundHandler()}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	err = fe.Listen()
	if err == nil || !strings.Contains(err.Error(), busy.Addr().String()+" (metrics)") {
		t.Fatalf("Listen = %v, want an error naming the metrics address", err)
	}
	if fe.Addr("main") != nil {
		t.Error("the main listener stayed bound after a failure")
	}
}

// TestFrontendConnectionCap: past MaxConnections, a new connection waits
// until one closes (issue 13: 20,000 idle connections hit the file
// limit).
func TestFrontendConnectionCap(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	fe, err := frontend.New(frontend.Config{Mode: frontend.ModeOff, Listen: "127.0.0.1:0", MaxConnections: 2},
		frontend.Handlers{App: app}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if err := fe.Listen(); err != nil {
		t.Fatal(err)
	}
	fe.Serve()
	t.Cleanup(func() { fe.Shutdown(context.Background()) })
	addr := fe.Addr("main").String()
	// request sends one keep-alive request on c and reads the answer
	// within wait; it reports whether one came.
	request := func(c net.Conn, wait time.Duration) bool {
		t.Helper()
		if _, err := io.WriteString(c, "GET /x HTTP/1.1\r\nHost: social.city.example\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(wait))
		buf := make([]byte, 1024)
		n, err := c.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return false
			}
			t.Fatal(err)
		}
		return strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200")
	}
	var conns []net.Conn
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
		if i < 2 && !request(c, 5*time.Second) {
			t.Fatalf("connection %d not served", i)
		}
	}
	// Two idle keep-alive connections hold both slots: the third waits.
	if request(conns[2], 300*time.Millisecond) {
		t.Fatal("a third connection was served beyond MaxConnections 2")
	}
	conns[0].Close()
	conns[2].SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1024)
	if n, err := conns[2].Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
		t.Errorf("after a slot freed: %q, %v", buf[:n], err)
	}
}
