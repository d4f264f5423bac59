package main

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/frontend"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/metrics"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/tlsauto"
)

// listeners is the serving side of `bridge serve`: the listeners of the
// TLS mode, the certificates and the metrics.
type listeners struct {
	fe      *frontend.Frontend
	metrics *metrics.Metrics
	// start begins certificate management once the listeners are bound
	// (ACME challenges are answered on them); stop ends it.
	start func(ctx context.Context) error
	stop  func()
}

// newListeners wires the listeners of cfg.Server around the app's handler:
// metrics on every request and on federation, readiness from the database,
// the migrations and the delivery workers, and the TLS mode's certificates.
func (a *app) newListeners(h http.Handler, deliverer *federation.Deliverer) (*listeners, error) {
	srv := a.cfg.Server
	m := a.metrics
	m.WatchQueue(a.store, 0, a.log.With().Str("component", "metrics").Logger())

	trusted := make([]netip.Prefix, 0, len(srv.TrustedProxies))
	for _, p := range srv.TrustedProxies {
		prefix, err := config.ParseTrustedProxy(p)
		if err != nil {
			return nil, err
		}
		trusted = append(trusted, prefix)
	}
	var hosts []string
	if d := a.cfg.Federation.AccountDomain; d != "" {
		hosts = append(hosts, d)
	}
	l := &listeners{metrics: m, start: func(context.Context) error { return nil }, stop: func() {}}
	var certs frontend.Certificates
	tlsLog := a.log.With().Str("component", "tls").Logger()
	switch srv.TLS.Mode {
	case config.TLSManual:
		fc := tlsauto.NewFileCertificate(srv.TLS.CertFile, srv.TLS.KeyFile, tlsLog)
		certs = fc
		m.WatchCertificates([]string{hostport.Host(srv.PublicHost())}, fc.Expiry)
		l.start = func(ctx context.Context) error { go fc.Run(ctx); return nil }
	case config.TLSAuto:
		domains := []string{hostport.Host(srv.PublicHost())}
		for _, h := range hosts {
			if !strings.EqualFold(h, domains[0]) {
				domains = append(domains, h)
			}
		}
		mgr, err := tlsauto.NewManager(tlsauto.Config{
			Domains:    domains,
			Email:      srv.TLS.Email,
			Directory:  srv.TLS.ACMEDirectory,
			CARootFile: srv.TLS.ACMECARoot,
			HTTPAddr:   srv.HTTPListen,
			TLSAddr:    srv.Listen,
		}, a.store, tlsLog)
		if err != nil {
			return nil, err
		}
		certs = mgr
		m.WatchCertificates(domains, mgr.CertificateExpiry)
		l.start, l.stop = mgr.Start, mgr.Stop
	}

	ready := frontend.Ready(2*time.Second, a.log.With().Str("component", "readyz").Logger(),
		frontend.Check{Name: "database", Check: a.store.Ping},
		frontend.Check{Name: "migrations", Check: func(ctx context.Context) error { return migrationsDone(ctx, a.store) }},
		frontend.Check{Name: "delivery workers", Check: func(context.Context) error {
			if !deliverer.Running() {
				return fmt.Errorf("delivery workers are not running")
			}
			return nil
		}},
	)
	fe, err := frontend.New(frontend.Config{
		Mode:           srv.TLS.Mode,
		Listen:         srv.Listen,
		HTTPListen:     srv.HTTPListen,
		MetricsListen:  srv.MetricsListen,
		PublicURL:      srv.BaseURL(),
		Hosts:          hosts,
		TrustedProxies: trusted,
		MaxConnections: srv.MaxConnectionsOrDefault(),
		AccessLog:      a.cfg.Log.Access,
	}, frontend.Handlers{
		App:     m.Middleware(h),
		Health:  frontend.Health(),
		Ready:   ready,
		Metrics: m.Handler(),
	}, certs, a.log.With().Str("component", "http").Logger())
	if err != nil {
		return nil, err
	}
	l.fe = fe
	return l, nil
}

// migrationsDone checks that the database has every migration this binary
// embeds.
func migrationsDone(ctx context.Context, s storage.Store) error {
	v, err := s.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	latest, err := storage.LatestSchemaVersion(s.Driver())
	if err != nil {
		return err
	}
	if v < latest {
		return fmt.Errorf("schema version %d, want %d", v, latest)
	}
	return nil
}
