package tlsauto

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mholt/acmez/v3/acme"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

// Config is what automatic certificates need.
type Config struct {
	// Domains to certify: the public host and, when set, the account
	// domain. Host names only, no port.
	Domains []string
	// Email is the ACME account's contact (optional).
	Email string
	// Directory is the ACME directory URL (empty: Let's Encrypt).
	Directory string
	// CARootFile is a PEM file of roots to trust when talking to the ACME
	// server (empty: the system's).
	CARootFile string
	// HTTPAddr and TLSAddr are the addresses the bridge listens on for
	// plain HTTP and HTTPS. ACME challenges are answered there, by the
	// bridge's own servers: certmagic never opens listeners of its own.
	HTTPAddr string
	TLSAddr  string
}

// Manager obtains, renews and serves ACME certificates.
type Manager struct {
	cfg    Config
	magic  *certmagic.Config
	issuer *certmagic.ACMEIssuer
	cache  *certmagic.Cache
	log    zerolog.Logger
}

// NewManager prepares automatic certificates on kv. Nothing is obtained
// before Start.
func NewManager(cfg Config, kv storage.KV, log zerolog.Logger) (*Manager, error) {
	if len(cfg.Domains) == 0 {
		return nil, errors.New("tlsauto: no domain to certify")
	}
	if cfg.Directory == "" {
		cfg.Directory = certmagic.LetsEncryptProductionCA
	}
	var roots *x509.CertPool
	if cfg.CARootFile != "" {
		pem, err := os.ReadFile(cfg.CARootFile)
		if err != nil {
			return nil, fmt.Errorf("tlsauto: read acme_ca_root: %w", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tlsauto: acme_ca_root %s holds no PEM certificate", cfg.CARootFile)
		}
	}
	httpPort, err := portOf(cfg.HTTPAddr)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: http address: %w", err)
	}
	tlsPort, err := portOf(cfg.TLSAddr)
	if err != nil {
		return nil, fmt.Errorf("tlsauto: https address: %w", err)
	}
	listenHost, _, _ := net.SplitHostPort(cfg.TLSAddr)

	m := &Manager{cfg: cfg, log: log}
	zl := NewZapLogger(log.With().Str("library", "certmagic").Logger())
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert: func(certmagic.Certificate) (*certmagic.Config, error) { return m.magic, nil },
		Logger:           zl,
	})
	m.magic = certmagic.New(m.cache, certmagic.Config{
		Storage:           NewStorage(kv, log),
		Logger:            zl,
		DefaultServerName: cfg.Domains[0],
		OnEvent:           m.onEvent,
	})
	m.issuer = certmagic.NewACMEIssuer(m.magic, certmagic.ACMEIssuer{
		CA:           cfg.Directory,
		TestCA:       cfg.Directory, // never fall back to Let's Encrypt staging behind the admin's back
		Email:        cfg.Email,
		Agreed:       true,
		TrustedRoots: roots,
		// Challenges are solved by the bridge's own listeners: certmagic
		// tries these addresses, finds them taken (by us) and relies on
		// HTTPChallengeHandler and TLSConfig, which answer from memory
		// or, for another replica's challenges, from the shared storage.
		ListenHost:     listenHost,
		AltHTTPPort:    httpPort,
		AltTLSALPNPort: tlsPort,
		Logger:         zl,
	})
	m.magic.Issuers = []certmagic.Issuer{m.issuer}
	return m, nil
}

func portOf(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

// Start loads the certificates from storage and, in the background,
// obtains the missing ones and renews those near expiry, retrying with
// backoff when the ACME server or the DNS fails: the servers keep running
// and the error is logged. Call it once the listeners are up, so that the
// challenges can be answered.
func (m *Manager) Start(ctx context.Context) error {
	if err := m.magic.ManageAsync(ctx, m.cfg.Domains); err != nil {
		return fmt.Errorf("tlsauto: manage %s: %w", strings.Join(m.cfg.Domains, ", "), err)
	}
	return nil
}

// Stop ends background maintenance (renewals, OCSP stapling).
func (m *Manager) Stop() { m.cache.Stop() }

// TLSConfig serves the managed certificates (with their OCSP staples) and
// answers TLS-ALPN-01 challenges.
func (m *Manager) TLSConfig() *tls.Config {
	c := m.magic.TLSConfig()
	c.NextProtos = append([]string{"h2", "http/1.1"}, c.NextProtos...)
	c.MinVersion = tls.VersionTLS12
	return c
}

// HTTPChallengeHandler answers ACME HTTP-01 challenges and passes every
// other request to next.
func (m *Manager) HTTPChallengeHandler(next http.Handler) http.Handler {
	return m.issuer.HTTPChallengeHandler(next)
}

// Domains are the names certified.
func (m *Manager) Domains() []string { return m.cfg.Domains }

// onEvent logs certmagic's milestones with a cause an admin can act on.
func (m *Manager) onEvent(_ context.Context, event string, data map[string]any) error {
	switch event {
	case "cert_obtained":
		m.log.Info().Interface("identifier", data["identifier"]).Interface("renewal", data["renewal"]).
			Msg("tls: certificate obtained")
	case "cert_failed":
		ev := m.log.Error().Interface("identifier", data["identifier"]).Interface("renewal", data["renewal"])
		if err, ok := data["error"].(error); ok {
			ev = ev.Err(err).Str("cause", Explain(err))
		}
		ev.Msg("tls: could not obtain a certificate; retrying with backoff")
	}
	return nil
}

// Explain names the likely cause of an ACME failure, for logs and doctor.
func Explain(err error) string {
	var pd acme.Problem
	if errors.As(err, &pd) {
		switch {
		case strings.HasSuffix(pd.Type, ":rateLimited"):
			return "rate limited by the certificate authority: wait for the limit to reset (see the CA's rate-limit docs); the bridge retries with backoff"
		case strings.HasSuffix(pd.Type, ":dns"):
			return "the certificate authority could not resolve the domain: check its DNS A/AAAA records"
		case strings.HasSuffix(pd.Type, ":connection"), strings.HasSuffix(pd.Type, ":incorrectResponse"), strings.HasSuffix(pd.Type, ":unauthorized"):
			return "the certificate authority could not validate the domain: check that DNS points to this host and that ports 80 and 443 reach the bridge"
		case strings.HasSuffix(pd.Type, ":rejectedIdentifier"):
			return "the certificate authority refuses to certify this name"
		}
		return "the certificate authority answered: " + pd.Detail
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "DNS lookup failed: " + dnsErr.Error()
	}
	var opErr *net.OpError
	if errors.As(err, &opErr) {
		return "cannot reach the ACME server: " + opErr.Error()
	}
	var uerr x509.UnknownAuthorityError
	if errors.As(err, &uerr) {
		return "the ACME server's certificate is not trusted: set server.tls.acme_ca_root for a private CA"
	}
	return err.Error()
}

// CertificateExpiry returns the expiry of the certificate cached in memory
// for name (the latest one when several match), if any.
func (m *Manager) CertificateExpiry(name string) (time.Time, bool) {
	var latest time.Time
	for _, c := range m.cache.AllMatchingCertificates(name) {
		if c.Leaf != nil && c.Leaf.NotAfter.After(latest) {
			latest = c.Leaf.NotAfter
		}
	}
	return latest, !latest.IsZero()
}
