package doctor_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/doctor"
	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// loopbackEnv sends every HTTP request, whatever its host name, to srv:
// the test plays social.example.com and example.com on one loopback
// server. (httptest's certificate covers example.com and *.example.com.)
func loopbackEnv(srv *httptest.Server) doctor.Env {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	addr := srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return doctor.Env{HTTP: &http.Client{Transport: tr, Timeout: 5 * time.Second}, Now: time.Now}
}

const (
	publicBase = "https://social.example.com"
	actorID    = publicBase + "/users/news"
)

// fakeBridge answers like the bridge on social.example.com; on
// example.com (the account domain) it runs accountDomain.
func fakeBridge(t *testing.T, accountDomain http.HandlerFunc) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.Host)
		if host == "" {
			host = r.Host
		}
		if host == "example.com" {
			accountDomain(w, r)
			return
		}
		switch r.URL.Path {
		case "/.well-known/webfinger":
			if r.URL.Query().Get("resource") != "acct:news@example.com" {
				http.NotFound(w, r)
				return
			}
			json.NewEncoder(w).Encode(map[string]any{
				"subject": "acct:news@example.com",
				"links":   []map[string]string{{"rel": "self", "type": "application/activity+json", "href": actorID}},
			})
		case "/users/news":
			json.NewEncoder(w).Encode(map[string]any{"id": actorID, "preferredUsername": "news"})
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestWebFinger(t *testing.T) {
	spec := doctor.WebFingerSpec{Scheme: "https", HandleDomain: "example.com", PublicBase: publicBase, Username: "news", ActorID: actorID}
	tests := []struct {
		name          string
		accountDomain http.HandlerFunc
		status        doctor.Status
		detail, hint  string
	}{
		{
			name: "account domain redirects to the bridge",
			accountDomain: func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, publicBase+r.URL.RequestURI(), http.StatusMovedPermanently)
			},
			status: doctor.OK,
			detail: "acct:news@example.com resolves (redirected to https://social.example.com/.well-known/webfinger?resource=acct%3Anews%40example.com) to " + actorID,
		},
		{
			name: "account domain answers with another server's account (the split-domain mistake)",
			accountDomain: func(w http.ResponseWriter, r *http.Request) {
				json.NewEncoder(w).Encode(map[string]any{"subject": "acct:news@mastodon.example.com", "links": []any{}})
			},
			status: doctor.Fail,
			detail: `gave subject "acct:news@mastodon.example.com", want "acct:news@example.com"`,
			hint:   "make https://example.com/.well-known/webfinger answer with a redirect (301) to https://social.example.com/.well-known/webfinger",
		},
		{
			name:          "account domain does not know WebFinger",
			accountDomain: http.NotFound,
			status:        doctor.Fail,
			detail:        "answered status 404",
			hint:          "redirect (301) to https://social.example.com/.well-known/webfinger",
		},
		{
			name: "account domain serves HTML",
			accountDomain: func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte("<html>Welcome to the city</html>"))
			},
			status: doctor.Fail,
			detail: "is not a WebFinger (JSON) document",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := loopbackEnv(fakeBridge(t, tt.accountDomain))
			r := doctor.WebFinger(context.Background(), env, spec)
			if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) || !strings.Contains(r.Hint, tt.hint) {
				t.Errorf("WebFinger = %s %q (hint %q)\nwant %s %q (hint %q)", r.Status, r.Detail, r.Hint, tt.status, tt.detail, tt.hint)
			}
		})
	}
}

func TestClock(t *testing.T) {
	tests := []struct {
		name   string
		offset time.Duration // the reference server's clock minus ours
		status doctor.Status
		detail string
	}{
		{name: "in sync", offset: 0, status: doctor.OK, detail: "within"},
		{name: "one minute off", offset: time.Minute, status: doctor.Warn, detail: "1m0s behind"},
		{name: "two hours fast (simulated skew)", offset: -2 * time.Hour, status: doctor.Fail, detail: "2h0m0s ahead of 127.0.0.1"},
		{name: "two hours slow", offset: 2 * time.Hour, status: doctor.Fail, detail: "2h0m0s behind 127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Date", time.Now().Add(tt.offset).UTC().Format(http.TimeFormat))
			}))
			defer srv.Close()
			env := doctor.Env{HTTP: srv.Client(), Now: time.Now}
			r := doctor.Clock(context.Background(), env, srv.URL)
			if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("Clock = %s %q, want %s %q", r.Status, r.Detail, tt.status, tt.detail)
			}
			if r.Status == doctor.Fail && !strings.Contains(r.Hint, "timedatectl set-ntp true") {
				t.Errorf("hint %q does not say how to fix the clock", r.Hint)
			}
		})
	}
}

type fakeResolver map[string][]string

func (f fakeResolver) LookupHost(_ context.Context, host string) ([]string, error) {
	if a, ok := f[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestDNS(t *testing.T) {
	env := doctor.Env{
		Resolver:   fakeResolver{"social.example.com": {"192.0.2.10"}, "example.com": {"198.51.100.7"}},
		LocalAddrs: func() ([]net.IP, error) { return []net.IP{net.ParseIP("192.0.2.10"), net.ParseIP("127.0.0.1")}, nil },
	}
	tests := []struct {
		host   string
		status doctor.Status
		detail string
	}{
		{host: "social.example.com", status: doctor.OK, detail: "resolves to 192.0.2.10 (this host)"},
		{host: "example.com", status: doctor.Warn, detail: "resolves to 198.51.100.7, not an address of this machine"},
		{host: "typo.city.example", status: doctor.Fail, detail: "typo.city.example does not resolve (no such host)"},
		{host: "192.0.2.10", status: doctor.OK, detail: "is an IP address"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			r := doctor.DNS(context.Background(), env, tt.host)
			if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("DNS = %s %q, want %s %q", r.Status, r.Detail, tt.status, tt.detail)
			}
		})
	}
}

// tlsServer serves a certificate for names, valid from notBefore to
// notAfter, signed by a throw-away CA, on loopback. It returns the address
// and the CA's pool.
func tlsServer(t *testing.T, names []string, notBefore, notAfter time.Time) (string, *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Doctor Test CA"},
		NotBefore: time.Now().Add(-365 * 24 * time.Hour), NotAfter: time.Now().Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der, caDER}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return ln.Addr().String(), pool
}

func TestTLS(t *testing.T) {
	now := time.Now()
	name := "social.example.com"
	tests := []struct {
		name     string
		names    []string
		from, to time.Time
		trusted  bool
		status   doctor.Status
		detail   string
	}{
		{name: "valid", names: []string{name}, from: now.Add(-time.Hour), to: now.Add(60 * 24 * time.Hour), trusted: true, status: doctor.OK, detail: "valid until"},
		{name: "expired", names: []string{name}, from: now.Add(-90 * 24 * time.Hour), to: now.Add(-time.Hour), trusted: true, status: doctor.Fail, detail: "expired on"},
		{name: "expiring in 10 days", names: []string{name}, from: now.Add(-80 * 24 * time.Hour), to: now.Add(10 * 24 * time.Hour), trusted: true, status: doctor.Warn, detail: "expires in"},
		{name: "another name", names: []string{"other.example"}, from: now.Add(-time.Hour), to: now.Add(60 * 24 * time.Hour), trusted: true, status: doctor.Fail, detail: "is for other.example, not social.example.com"},
		{name: "untrusted issuer", names: []string{name}, from: now.Add(-time.Hour), to: now.Add(60 * 24 * time.Hour), trusted: false, status: doctor.Fail, detail: "is not trusted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr, pool := tlsServer(t, tt.names, tt.from, tt.to)
			env := doctor.Env{Now: time.Now, Roots: pool}
			if !tt.trusted {
				env.Roots = x509.NewCertPool()
			}
			r := doctor.TLS(context.Background(), env, addr, name)
			if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("TLS = %s %q, want %s %q", r.Status, r.Detail, tt.status, tt.detail)
			}
		})
	}
	t.Run("nothing listening", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		r := doctor.TLS(context.Background(), doctor.Env{}, addr, name)
		if r.Status != doctor.Fail || !strings.Contains(r.Hint, "firewall") {
			t.Errorf("TLS = %s %q %q", r.Status, r.Detail, r.Hint)
		}
	})
}

func TestDatabase(t *testing.T) {
	s := storagetest.OpenSQLite(t)
	r := doctor.Database(context.Background(), s)
	if r.Status != doctor.OK || !strings.Contains(r.Detail, "up to date") {
		t.Errorf("Database = %s %q", r.Status, r.Detail)
	}
	r = doctor.DatabaseOpenFailed("postgres", errors.New("connection refused"))
	if r.Status != doctor.Fail || !strings.Contains(r.Hint, "password") {
		t.Errorf("DatabaseOpenFailed = %s %q %q", r.Status, r.Detail, r.Hint)
	}
}

func TestBlueskyNotConfigured(t *testing.T) {
	if r := doctor.Bluesky(context.Background(), false, nil); r.Status != doctor.Skip || r.Detail != "Bluesky mirror not configured" {
		t.Errorf("Bluesky = %s %q", r.Status, r.Detail)
	}
}

func TestSignature(t *testing.T) {
	s := storagetest.OpenSQLite(t)
	priv, pub, err := httpsig.GenerateKeyPair()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.InsertKeyPair(context.Background(), storage.KeyPair{Owner: "news", PrivateKey: priv, PublicKey: pub}); err != nil {
		t.Fatal(err)
	}
	_, otherPub, _ := httpsig.GenerateKeyPair()
	tests := []struct {
		name   string
		served string // the public key the actor document serves
		status doctor.Status
		detail string
	}{
		{name: "served key matches", served: pub, status: doctor.OK, detail: "verified with the key the actor serves"},
		{name: "served key is another one", served: otherPub, status: doctor.Fail, detail: "does not verify our signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				json.NewEncoder(w).Encode(map[string]any{"id": actorID, "publicKey": map[string]string{
					"id": actorID + "#main-key", "owner": actorID, "publicKeyPem": tt.served,
				}})
			}))
			defer srv.Close()
			r := doctor.Signature(context.Background(), loopbackEnv(srv), s, "news", actorID)
			if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) {
				t.Errorf("Signature = %s %q, want %s %q", r.Status, r.Detail, tt.status, tt.detail)
			}
		})
	}
	if r := doctor.Signature(context.Background(), doctor.Env{}, s, "nobody", actorID); r.Status != doctor.Warn {
		t.Errorf("Signature without a key = %s %q, want a warning", r.Status, r.Detail)
	}
}

func TestRunPrintsEveryCheckAndCountsFailures(t *testing.T) {
	checks := []doctor.Check{
		{Name: "dns", Run: func(context.Context) doctor.Result { return doctor.Result{Status: doctor.OK, Detail: "resolves"} }},
		{Name: "clock", Run: func(context.Context) doctor.Result {
			return doctor.Result{Status: doctor.Fail, Detail: "2h ahead", Hint: "enable NTP"}
		}},
		{Name: "bluesky", Run: func(context.Context) doctor.Result {
			return doctor.Result{Status: doctor.Skip, Detail: "not configured"}
		}},
	}
	var out bytes.Buffer
	if n := doctor.Run(context.Background(), checks, &out); n != 1 {
		t.Errorf("Run = %d failed, want 1", n)
	}
	want := "[ok  ] dns      resolves\n" +
		"[FAIL] clock    2h ahead\n" +
		"                fix: enable NTP\n" +
		"[skip] bluesky  not configured\n" +
		"\n1 ok, 0 warning(s), 1 failed, 1 skipped\n"
	if out.String() != want {
		t.Errorf("output:\n%s\nwant:\n%s", out.String(), want)
	}
}
