package deploytest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// PebbleEnv names the environment variable holding the Pebble binary's
// path (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1).
const PebbleEnv = "BRIDGE_TEST_PEBBLE"

// pebbleModule is the module whose test certificates Pebble serves its
// ACME API with.
const pebbleModule = "github.com/letsencrypt/pebble/v2@v2.10.1"

// pebbleBinary returns Pebble's path; the test skips without it, or fails
// under CI=true.
func pebbleBinary(t *testing.T) string {
	t.Helper()
	p := os.Getenv(PebbleEnv)
	if p == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal(PebbleEnv + " not set while CI=true: the ACME tests against Pebble must not be skipped in CI (.ci/run installs Pebble)")
		}
		t.Skip(PebbleEnv + " not set: skipping the ACME tests against Pebble (go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1)")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s=%s: %v", PebbleEnv, p, err)
	}
	return p
}

// pebbleCerts is the directory of Pebble's test certificates, in the module
// cache (where `go install` put the module).
func pebbleCerts(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), filepath.FromSlash(pebbleModule), "test", "certs")
	if _, err := os.Stat(filepath.Join(dir, "pebble.minica.pem")); err != nil {
		t.Fatalf("Pebble's test certificates: %v (run: go install github.com/letsencrypt/pebble/v2/cmd/pebble@v2.10.1)", err)
	}
	return dir
}

// startDNS answers A 127.0.0.1 for every name under zone (and nothing for
// other types), on one loopback port over UDP and TCP (Pebble's resolver
// uses TCP): Pebble's resolver for the validation of the test domain.
func startDNS(t *testing.T, zone string) string {
	t.Helper()
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if pc, err = net.ListenPacket("udp", ln.Addr().String()); err == nil {
			break
		}
		ln.Close()
	}
	if err != nil {
		t.Fatalf("DNS server: no port free for both UDP and TCP: %v", err)
	}
	zone = dns.Fqdn(zone)
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(r)
		m.Authoritative = true
		for _, q := range r.Question {
			if !dns.IsSubDomain(zone, q.Name) {
				m.Rcode = dns.RcodeNameError
				continue
			}
			if q.Qtype == dns.TypeA {
				m.Answer = append(m.Answer, &dns.A{
					Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60},
					A:   net.ParseIP("127.0.0.1").To4(),
				})
			}
		}
		_ = w.WriteMsg(m)
	})
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: handler}, {Listener: ln, Handler: handler}} {
		go func() { _ = srv.ActivateAndServe() }()
		t.Cleanup(func() { _ = srv.Shutdown() })
	}
	return ln.Addr().String()
}

// pebble is a running Pebble ACME server on loopback.
type pebble struct {
	proc   *process
	dir    string // ACME directory URL
	mgmt   string // management address (roots)
	minica string // the CA file of Pebble's own API certificate
}

// startPebble runs Pebble on loopback ports, validating challenges for
// real (no PEBBLE_VA_ALWAYS_VALID) against httpPort and tlsPort, resolving
// names with dnsAddr.
func startPebble(t *testing.T, bin string, httpPort, tlsPort int, dnsAddr string) *pebble {
	t.Helper()
	certs := pebbleCerts(t)
	acme, mgmt := freeAddr(t), freeAddr(t)
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":                  acme,
		"managementListenAddress":        mgmt,
		"certificate":                    filepath.Join(certs, "localhost", "cert.pem"),
		"privateKey":                     filepath.Join(certs, "localhost", "key.pem"),
		"httpPort":                       httpPort,
		"tlsPort":                        tlsPort,
		"ocspResponderURL":               "",
		"externalAccountBindingRequired": false,
		"retryAfter":                     map[string]int{"authz": 1, "order": 1},
	}}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(t.TempDir(), "pebble-config.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-config", cfgPath, "-dnsserver", dnsAddr)
	cmd.Env = append(os.Environ(),
		"PEBBLE_VA_NOSLEEP=1",      // validate at once
		"PEBBLE_WFE_NONCEREJECT=0", // no random bad-nonce errors
		"PEBBLE_VA_ALWAYS_VALID=0", // real HTTP-01 / TLS-ALPN-01 validation
	)
	p := &pebble{proc: startProcess(t, cmd), dir: "https://" + acme + "/dir", mgmt: mgmt,
		minica: filepath.Join(certs, "pebble.minica.pem")}
	client := p.apiClient(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(p.dir)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) || p.proc.exited() {
			t.Fatalf("Pebble did not start: %v\n%s", err, p.proc.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// apiClient trusts Pebble's API certificate.
func (p *pebble) apiClient(t *testing.T) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(p.minica)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
}

// roots returns the root of the certificates Pebble issues (new at each
// Pebble start).
func (p *pebble) roots(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := p.apiClient(t).Get("https://" + p.mgmt + "/roots/0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	pem, _ := io.ReadAll(resp.Body)
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("Pebble root: %s", pem)
	}
	return pool
}

// bridgeConfig is an auto-TLS configuration on loopback ports for domain.
func bridgeConfig(domain, httpsAddr, httpAddr, metricsAddr, acmeDir, caRoot, dataDir string) string {
	_, port, _ := net.SplitHostPort(httpsAddr)
	return fmt.Sprintf(`server:
  public_url: "https://%s:%s"
  listen: %q
  http_listen: %q
  metrics_listen: %q
  tls:
    mode: auto
    email: "it@passerelle.test"
    acme_directory: %q
    acme_ca_root: %q
storage:
  driver: sqlite
  dsn: %q
log:
  level: info
accounts:
  - username: news
`, domain, port, httpsAddr, httpAddr, metricsAddr, acmeDir, caRoot, filepath.Join(dataDir, "bridge.db"))
}

// httpsClient reaches domain on addr, trusting roots only.
func httpsClient(domain, addr string, roots *x509.CertPool) *http.Client {
	return &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			},
			TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: domain},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// servedCertificate GETs /healthz over HTTPS until it succeeds, verified
// against roots, and returns the certificate served.
func servedCertificate(t *testing.T, c *http.Client, url string, timeout time.Duration, p *process) *x509.Certificate {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		resp, err := c.Get(url)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(body) == "ok\n" {
				return resp.TLS.PeerCertificates[0]
			}
			err = fmt.Errorf("status %d %q", resp.StatusCode, body)
		}
		last = err
		if p.exited() {
			t.Fatalf("the bridge exited\n%s", p.log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no verified HTTPS on %s after %s: %v\nbridge log:\n%s", url, timeout, last, p.log())
	return nil
}

// TestAutomaticTLSWithPebble is the acceptance test: against a real
// ACME server that validates the challenge on the bridge's own loopback
// ports, the bridge obtains a certificate, serves HTTPS with it, redirects
// HTTP, and after a restart with the ACME server gone still serves HTTPS
// from the certificate kept in its database.
func TestAutomaticTLSWithPebble(t *testing.T) {
	bin := needBinary(t)
	pebbleBin := pebbleBinary(t)
	const domain = "bridge.passerelle.test"
	httpsAddr, httpAddr, metricsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	dnsAddr := startDNS(t, "passerelle.test")
	peb := startPebble(t, pebbleBin, portOf(t, httpAddr), portOf(t, httpsAddr), dnsAddr)
	roots := peb.roots(t)

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.yaml")
	writeConfig(t, cfgPath, bridgeConfig(domain, httpsAddr, httpAddr, metricsAddr, peb.dir, peb.minica, dir))
	client := httpsClient(domain, httpsAddr, roots)
	_, port, _ := net.SplitHostPort(httpsAddr)
	base := "https://" + domain + ":" + port

	// 1. Obtain and serve.
	bridge := startProcess(t, exec.Command(bin, "--config", cfgPath, "serve"))
	cert := servedCertificate(t, client, base+"/healthz", 90*time.Second, bridge)
	if len(cert.DNSNames) != 1 || cert.DNSNames[0] != domain {
		t.Errorf("certificate names %v, want [%s]", cert.DNSNames, domain)
	}
	log := bridge.log()
	var challenge string
	for _, c := range []string{"http-01", "tls-alpn-01"} {
		if strings.Contains(log, `"challenge_type":"`+c+`"`) {
			challenge = c
		}
	}
	if challenge == "" {
		t.Errorf("no HTTP-01 or TLS-ALPN-01 challenge in the log:\n%s", log)
	}
	t.Logf("certificate obtained through %s validation, serial %s, issued by %q", challenge, cert.SerialNumber, cert.Issuer.CommonName)
	if !strings.Contains(log, "tls: certificate obtained") {
		t.Errorf("no 'tls: certificate obtained' line in the log")
	}

	// 2. The app over HTTPS, and HTTP redirected.
	req, _ := http.NewRequest(http.MethodGet, base+"/users/news", nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /users/news over HTTPS: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, "http://"+httpAddr+"/users/news?x=1", nil)
	req.Host = domain
	resp, err = httpsClient(domain, httpAddr, roots).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := base + "/users/news?x=1"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
		t.Errorf("HTTP: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	// The metrics listener, with the certificate's expiry.
	if err := waitHTTP("http://"+metricsAddr+"/metrics", 5*time.Second); err != nil {
		t.Error(err)
	} else if resp, err := http.Get("http://" + metricsAddr + "/metrics"); err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if series := `passerelle_tls_certificate_expiry_timestamp_seconds{domain="` + domain + `"}`; !strings.Contains(string(body), series) {
			t.Errorf("no %s in /metrics", series)
		}
	}

	if code := bridge.stop(t, 20*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM\n%s", code, bridge.log())
	}

	// 3. Without the ACME server, a restart serves the stored certificate.
	peb.proc.stop(t, 10*time.Second) // killed by SIGTERM: no exit status to check
	if _, err := net.DialTimeout("tcp", strings.TrimPrefix(strings.TrimSuffix(peb.dir, "/dir"), "https://"), time.Second); err == nil {
		t.Fatal("Pebble still listening")
	}
	bridge = startProcess(t, exec.Command(bin, "--config", cfgPath, "serve"))
	again := servedCertificate(t, client, base+"/healthz", 30*time.Second, bridge)
	if again.SerialNumber.Cmp(cert.SerialNumber) != 0 {
		t.Errorf("after restart: certificate serial %s, want the stored %s", again.SerialNumber, cert.SerialNumber)
	}
	if strings.Contains(bridge.log(), "obtaining certificate") || strings.Contains(bridge.log(), "could not obtain") {
		t.Errorf("the restart tried to obtain a certificate:\n%s", bridge.log())
	}
	if code := bridge.stop(t, 20*time.Second); code != 0 {
		t.Fatalf("exit status %d after SIGTERM\n%s", code, bridge.log())
	}
}

// TestACMEServerUnreachable: with no certificate and an ACME server that
// cannot be reached, the bridge stays up (plain HTTP answers, HTTPS
// listens), logs the cause, and keeps retrying; it never exits.
func TestACMEServerUnreachable(t *testing.T) {
	bin := needBinary(t)
	const domain = "bridge.passerelle.test"
	httpsAddr, httpAddr, metricsAddr := freeAddr(t), freeAddr(t), freeAddr(t)
	deadACME := "https://" + freeAddr(t) + "/dir" // nothing listens there
	dir := t.TempDir()
	caRoot := filepath.Join(dir, "ca.pem")
	writeTestCA(t, caRoot)
	cfgPath := filepath.Join(dir, "config.yaml")
	writeConfig(t, cfgPath, bridgeConfig(domain, httpsAddr, httpAddr, metricsAddr, deadACME, caRoot, dir))

	bridge := startProcess(t, exec.Command(bin, "--config", cfgPath, "serve"))
	if err := waitHTTP("http://"+httpAddr+"/healthz", 20*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, bridge.log())
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(bridge.log(), "connection refused") && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(bridge.log(), "connection refused") {
		t.Errorf("the log does not name the cause (connection refused by the ACME server):\n%s", bridge.log())
	}
	time.Sleep(time.Second)
	if bridge.exited() {
		t.Fatalf("the bridge exited:\n%s", bridge.log())
	}
	if err := waitHTTP("http://"+metricsAddr+"/readyz", 5*time.Second); err != nil {
		t.Errorf("not ready while waiting for a certificate: %v", err)
	}
	// Scraping while there is no certificate works (no expiry exported).
	if err := waitHTTP("http://"+metricsAddr+"/metrics", 5*time.Second); err != nil {
		t.Errorf("metrics without a certificate: %v", err)
	}
	// HTTPS accepts connections but has no certificate to offer yet.
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", httpsAddr, &tls.Config{ServerName: domain, InsecureSkipVerify: true})
	if err == nil {
		conn.Close()
		t.Error("a TLS handshake succeeded without any certificate")
	}
	if code := bridge.stop(t, 20*time.Second); code != 0 {
		t.Errorf("exit status %d after SIGTERM\n%s", code, bridge.log())
	}
}
