package tlsauto

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage/storagetest"
)

func TestNewManagerRejectsBadSettings(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	os.WriteFile(notPEM, []byte("not a certificate"), 0o600)
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "no domain", cfg: Config{HTTPAddr: ":80", TLSAddr: ":443"}, want: "no domain to certify"},
		{name: "missing CA file", cfg: Config{Domains: []string{"a.example"}, CARootFile: filepath.Join(dir, "missing.pem"), HTTPAddr: ":80", TLSAddr: ":443"}, want: "read acme_ca_root"},
		{name: "CA file without certificate", cfg: Config{Domains: []string{"a.example"}, CARootFile: notPEM, HTTPAddr: ":80", TLSAddr: ":443"}, want: "holds no PEM certificate"},
		{name: "bad HTTP address", cfg: Config{Domains: []string{"a.example"}, HTTPAddr: "80", TLSAddr: ":443"}, want: "http address"},
	}
	store := storagetest.OpenSQLite(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewManager(tt.cfg, store, zerolog.Nop())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewManager = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestManagerServesChallengesAndPassesTheRest(t *testing.T) {
	m, err := NewManager(Config{Domains: []string{"social.city.example"}, HTTPAddr: "127.0.0.1:80", TLSAddr: "127.0.0.1:443"},
		storagetest.OpenSQLite(t), zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer m.Stop()
	h := m.HTTPChallengeHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://social.city.example"+r.URL.RequestURI(), http.StatusMovedPermanently)
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "http://social.city.example/users/news", nil))
	if w.Code != http.StatusMovedPermanently {
		t.Errorf("ordinary request: %d, want the redirect", w.Code)
	}
	c := m.TLSConfig()
	if c.GetCertificate == nil || !strings.Contains(strings.Join(c.NextProtos, ","), "acme-tls/1") || c.NextProtos[0] != "h2" {
		t.Errorf("TLS config: NextProtos %v, GetCertificate set %v", c.NextProtos, c.GetCertificate != nil)
	}
	if _, ok := m.CertificateExpiry("social.city.example"); ok {
		t.Error("an expiry reported before any certificate")
	}
}
