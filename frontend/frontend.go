package frontend

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/net/netutil"

	"github.com/passerelle/passerelle/reqlog"
)

// TLS modes (the values of server.tls.mode).
const (
	ModeOff    = "off"
	ModeManual = "manual"
	ModeAuto   = "auto"
)

// Config says where to listen and how.
type Config struct {
	Mode          string // ModeOff, ModeManual or ModeAuto
	Listen        string // main server
	HTTPListen    string // plain HTTP: challenges and redirects (manual, auto); "" for none
	MetricsListen string // "" for no metrics listener
	// PublicURL is where HTTP requests are redirected to (its scheme, host
	// and port).
	PublicURL string
	// Hosts are the other host names served (the account domain): a
	// plain-HTTP request for one of them is redirected to the same name
	// over HTTPS rather than to PublicURL's host.
	Hosts []string
	// TrustedProxies may set X-Forwarded-For, -Host and -Proto, and
	// X-Request-Id.
	TrustedProxies []netip.Prefix
	// AccessLog writes one line per request served by the main listener
	// (package reqlog).
	AccessLog bool
	// MaxConnections caps the connections each listener keeps open at
	// once; past it, new connections wait in the kernel's backlog until
	// one closes. 0: DefaultMaxConnections.
	MaxConnections int
}

// DefaultMaxConnections is the default connection cap of a listener.
const DefaultMaxConnections = 4096

// Handlers are what the listeners serve.
type Handlers struct {
	App     http.Handler // the bridge, on the main listener
	Health  http.Handler // /healthz, on every listener
	Ready   http.Handler // /readyz, on every listener
	Metrics http.Handler // /metrics on MetricsListen
}

// Certificates provide HTTPS (tlsauto.Manager, tlsauto.FileCertificate).
type Certificates interface {
	TLSConfig() *tls.Config
}

// ChallengeSolver answers ACME HTTP-01 challenges on the plain-HTTP
// listener (tlsauto.Manager).
type ChallengeSolver interface {
	HTTPChallengeHandler(next http.Handler) http.Handler
}

// Server timeouts, shared by every listener.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	maxHeaderBytes    = 64 << 10
)

// Frontend is the set of listeners.
type Frontend struct {
	servers  []*server
	log      zerolog.Logger
	errs     chan error
	maxConns int
}

// metricsConnections caps the metrics listener's connections (a scraper
// or two).
const metricsConnections = 64

type server struct {
	name string // "main", "http", "metrics"
	addr string
	tls  bool
	srv  *http.Server
	ln   net.Listener
}

// New prepares the listeners. certs is required for ModeManual and
// ModeAuto; if it also is a ChallengeSolver, the plain-HTTP listener
// answers ACME challenges.
func New(cfg Config, h Handlers, certs Certificates, logger zerolog.Logger) (*Frontend, error) {
	f := &Frontend{log: logger, maxConns: cfg.MaxConnections}
	if f.maxConns <= 0 {
		f.maxConns = DefaultMaxConnections
	}
	secure := cfg.Mode == ModeManual || cfg.Mode == ModeAuto
	if secure && certs == nil {
		return nil, fmt.Errorf("frontend: tls mode %q without certificates", cfg.Mode)
	}
	mainMux := http.NewServeMux()
	probes(mainMux, h)
	mainMux.Handle("/", h.App)
	// Every request of the main listener has an id and a logger in its
	// context; the id of a trusted proxy is kept (TrustProxies removes it
	// from anyone else).
	withIDs := reqlog.Handler(f.log, cfg.AccessLog)(mainMux)
	main := f.add("main", cfg.Listen, TrustProxies(cfg.TrustedProxies, withIDs))
	if secure {
		main.tls = true
		main.srv.TLSConfig = certs.TLSConfig()
	}
	if secure && cfg.HTTPListen != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("frontend: public URL %q: not a URL", cfg.PublicURL)
		}
		var redirect http.Handler = Redirect(u, cfg.Hosts)
		if cs, ok := certs.(ChallengeSolver); ok {
			redirect = cs.HTTPChallengeHandler(redirect)
		}
		mux := http.NewServeMux()
		mux.Handle("/", redirect)
		probes(mux, h)
		f.add("http", cfg.HTTPListen, mux)
	}
	if cfg.MetricsListen != "" && h.Metrics != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", h.Metrics)
		probes(mux, h)
		f.add("metrics", cfg.MetricsListen, mux)
	}
	return f, nil
}

// probes serves /healthz and /readyz on an auxiliary listener, for load
// balancers and container health checks that speak plain HTTP.
func probes(mux *http.ServeMux, h Handlers) {
	if h.Health != nil {
		mux.Handle("GET /healthz", h.Health)
	}
	if h.Ready != nil {
		mux.Handle("GET /readyz", h.Ready)
	}
}

func (f *Frontend) add(name, addr string, h http.Handler) *server {
	s := &server{name: name, addr: addr, srv: &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          log.New(serverErrorLog{f.log.With().Str("listener", name).Logger()}, "", 0),
	}}
	f.servers = append(f.servers, s)
	return s
}

// Listen binds every listener, or none: on failure the ones already bound
// are closed and the error names the address.
func (f *Frontend) Listen() error {
	for i, s := range f.servers {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			for _, prev := range f.servers[:i] {
				prev.ln.Close()
				prev.ln = nil
			}
			return fmt.Errorf("frontend: listen on %s (%s): %w", s.addr, s.name, err)
		}
		// Each open connection holds a file descriptor: past the cap, new
		// connections wait in the kernel's backlog (idle keep-alive ones
		// are closed after idleTimeout), so that a flood of connections
		// cannot exhaust the process's file limit, which the database and
		// the deliveries need too.
		limit := f.maxConns
		if s.name == "metrics" {
			limit = min(limit, metricsConnections)
		}
		s.ln = netutil.LimitListener(ln, limit)
	}
	return nil
}

// Serve starts serving on the bound listeners. The channel receives the
// error of any server that stops by itself.
func (f *Frontend) Serve() <-chan error {
	f.errs = make(chan error, len(f.servers))
	for _, s := range f.servers {
		go func() {
			var err error
			if s.tls {
				err = s.srv.ServeTLS(s.ln, "", "")
			} else {
				err = s.srv.Serve(s.ln)
			}
			if !errors.Is(err, http.ErrServerClosed) {
				f.errs <- fmt.Errorf("frontend: %s server on %s: %w", s.name, s.addr, err)
			}
		}()
		f.log.Info().Str("listener", s.name).Str("addr", s.ln.Addr().String()).Bool("tls", s.tls).Msg("listening")
	}
	return f.errs
}

// Addr is the bound address of a listener ("main", "http" or "metrics"),
// nil if there is none.
func (f *Frontend) Addr(name string) net.Addr {
	for _, s := range f.servers {
		if s.name == name && s.ln != nil {
			return s.ln.Addr()
		}
	}
	return nil
}

// Shutdown stops accepting connections on every listener and waits for the
// requests in progress, until ctx ends.
func (f *Frontend) Shutdown(ctx context.Context) error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, s := range f.servers {
		if s.ln == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.srv.Shutdown(ctx); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("frontend: shut down %s server: %w", s.name, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// serverErrorLog turns net/http's server error lines into log entries:
// TLS handshake failures (scanners, clients without SNI) at debug level,
// anything else as a warning.
type serverErrorLog struct{ log zerolog.Logger }

func (l serverErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	ev := l.log.Warn()
	if strings.Contains(msg, "TLS handshake error") {
		ev = l.log.Debug()
	}
	ev.Msg(msg)
	return len(p), nil
}

// Redirect sends plain-HTTP requests to HTTPS: to the same host when it is
// PublicURL's or one of hosts, to PublicURL's host otherwise (never to an
// arbitrary Host header), with PublicURL's port.
func Redirect(public *url.URL, hosts []string) http.Handler {
	known := map[string]bool{strings.ToLower(public.Hostname()): true}
	for _, h := range hosts {
		known[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		if !known[host] {
			host = public.Hostname()
		}
		if p := public.Port(); p != "" {
			host = net.JoinHostPort(host, p)
		}
		code := http.StatusMovedPermanently
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			code = http.StatusPermanentRedirect // keeps the method and body
		}
		http.Redirect(w, r, "https://"+host+r.URL.RequestURI(), code)
	})
}
