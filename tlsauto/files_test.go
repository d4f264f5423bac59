package tlsauto

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mholt/acmez/v3/acme"
	"github.com/rs/zerolog"
)

// writeSelfSigned writes a self-signed certificate for name, valid from
// notBefore to notAfter, and its key, and returns their paths.
func writeSelfSigned(t *testing.T, dir, name string, notBefore, notAfter time.Time) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		DNSNames:     []string{name},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func TestFileCertificateRecoversFromUnreadableFiles(t *testing.T) {
	dir := t.TempDir()
	var logs bytes.Buffer
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	f := NewFileCertificate(certFile, keyFile, zerolog.New(&logs))
	if f.Err() == nil || !strings.Contains(f.Err().Error(), "read cert_file") {
		t.Fatalf("Err() = %v, want a cert_file read error", f.Err())
	}
	if _, err := f.GetCertificate(&tls.ClientHelloInfo{}); err == nil {
		t.Fatal("GetCertificate succeeded without a certificate")
	}
	if !strings.Contains(logs.String(), "HTTPS handshakes fail until they are fixed") {
		t.Errorf("log does not explain the failure:\n%s", logs.String())
	}

	now := time.Now()
	writeSelfSigned(t, dir, "social.city.example", now.Add(-time.Hour), now.Add(90*24*time.Hour))
	f.reload(false)
	if err := f.Err(); err != nil {
		t.Fatalf("after writing the files, Err() = %v", err)
	}
	cert, err := f.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil || cert.Leaf.DNSNames[0] != "social.city.example" {
		t.Fatalf("GetCertificate = %v, %v", cert, err)
	}

	// A broken replacement keeps the previous certificate in service.
	os.WriteFile(certFile, []byte("garbage"), 0o600)
	future := now.Add(time.Minute)
	os.Chtimes(certFile, future, future)
	f.reload(false)
	if f.Err() == nil {
		t.Error("Err() = nil after a broken replacement")
	}
	if c, err := f.GetCertificate(&tls.ClientHelloInfo{}); err != nil || c != cert {
		t.Errorf("GetCertificate after a broken replacement = %v, %v; want the previous certificate", c, err)
	}
	if !strings.Contains(logs.String(), "still serving the previous certificate") {
		t.Errorf("log does not say the previous certificate is kept:\n%s", logs.String())
	}
}

func TestFileCertificateLogsExpired(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	certFile, keyFile := writeSelfSigned(t, dir, "social.city.example", now.Add(-100*24*time.Hour), now.Add(-24*time.Hour))
	var logs bytes.Buffer
	f := NewFileCertificate(certFile, keyFile, zerolog.New(&logs))
	if f.Err() != nil {
		t.Fatal(f.Err())
	}
	if !strings.Contains(logs.String(), `"level":"error"`) || !strings.Contains(logs.String(), "the certificate has expired") {
		t.Errorf("log does not report the expired certificate:\n%s", logs.String())
	}
}

func TestCheckValidity(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cert := func(from, to time.Time) *x509.Certificate { return &x509.Certificate{NotBefore: from, NotAfter: to} }
	tests := []struct {
		name string
		leaf *x509.Certificate
		want string // substring of the error; "" for valid
	}{
		{name: "valid", leaf: cert(now.AddDate(0, -1, 0), now.AddDate(0, 2, 0))},
		{name: "expired", leaf: cert(now.AddDate(0, -3, 0), now.Add(-time.Hour)), want: "certificate expired on 2026-03-01T11:00:00Z"},
		{name: "expiring soon", leaf: cert(now.AddDate(0, -3, 0), now.AddDate(0, 0, 3)), want: "expires soon, on 2026-03-04"},
		{name: "not yet valid", leaf: cert(now.Add(2*time.Hour), now.AddDate(0, 3, 0)), want: "not valid before 2026-03-01T14:00:00Z (is the clock right?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckValidity(tt.leaf, now, 7*24*time.Hour)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("err = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
	if err := CheckValidity(cert(now.AddDate(0, -3, 0), now.Add(-time.Hour)), now, 0); !errors.Is(err, ErrExpired) {
		t.Errorf("expired: %v does not wrap ErrExpired", err)
	}
}

func TestExplain(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{name: "rate limit", err: fmt.Errorf("obtain: %w", acme.Problem{Type: "urn:ietf:params:acme:error:rateLimited", Detail: "too many"}), want: "rate limited"},
		{name: "dns problem", err: acme.Problem{Type: "urn:ietf:params:acme:error:dns", Detail: "NXDOMAIN"}, want: "could not resolve the domain"},
		{name: "validation", err: acme.Problem{Type: "urn:ietf:params:acme:error:connection"}, want: "ports 80 and 443"},
		{name: "other problem", err: acme.Problem{Type: "urn:ietf:params:acme:error:malformed", Detail: "bad CSR"}, want: "answered: bad CSR"},
		{name: "dns lookup", err: fmt.Errorf("x: %w", &net.DNSError{Err: "no such host", Name: "acme.example"}), want: "DNS lookup failed"},
		{name: "untrusted CA", err: fmt.Errorf("x: %w", x509.UnknownAuthorityError{}), want: "acme_ca_root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Explain(tt.err); !strings.Contains(got, tt.want) {
				t.Errorf("Explain = %q, want %q", got, tt.want)
			}
		})
	}
}
