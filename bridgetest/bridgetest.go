package bridgetest

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// Options adjust the environment; the zero value is two accounts, news (an
// Organization) and mayor (a Person), on a new SQLite store, served on
// loopback.
type Options struct {
	// Store is the store to use; nil opens a new SQLite store.
	Store storage.Store
	// Accounts default to news and mayor.
	Accounts []config.Account
	// Federation is the federation configuration; private networks are
	// allowed (every peer of a test is on loopback) unless PublicOnly,
	// and the followers page size defaults to 50.
	Federation config.Federation
	// PublicOnly refuses private networks, as a production bridge does
	// (tests of what the SSRF-safe client refuses).
	PublicOnly bool
	// BaseURL, when set, is the bridge's public URL and nothing is
	// served (tests that only publish, or that run in a synctest bubble).
	BaseURL string
	// Publish is the publishing configuration: MediaDir defaults to a
	// temporary directory, HandleDomain to the served host.
	Publish publish.Settings
	// Mirror, when set, builds the Bluesky mirror from our URLs (it
	// needs the URL of our notes).
	Mirror func(links.Site) publish.Mirror
	// Moderation and Observer are given to federation as cmd/bridge does.
	Moderation federation.DomainPolicy
	Observer   federation.Observer
	// Log is the components' logger; the zero value discards.
	Log zerolog.Logger
	// Handler, when set, wraps the mux (metrics middleware, test
	// headers).
	Handler func(http.Handler) http.Handler
}

// Env is the wired core.
type Env struct {
	Store  storage.Store
	Client *http.Client // the SSRF-safe client federation fetches with
	Fed    *federation.Service
	Pub    *publish.Service
	Links  links.Site
	URL    string // the public URL, without a trailing slash
	Host   string // its host[:port]
	// Mux serves Fed's routes; add a surface's routes to it (ServeMux
	// takes routes while serving).
	Mux *http.ServeMux
}

// DefaultAccounts are the accounts of the zero Options.
func DefaultAccounts() []config.Account {
	return []config.Account{{Username: "news", Type: "Organization"}, {Username: "mayor", Type: "Person"}}
}

// New builds the environment; what it opens is closed when the test ends.
func New(t testing.TB, o Options) *Env {
	t.Helper()
	e := &Env{Store: o.Store, URL: o.BaseURL, Mux: http.NewServeMux()}
	var ln net.Listener
	if e.URL == "" {
		var err error
		ln, err = net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		e.URL = "http://" + ln.Addr().String()
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Host == "" {
		t.Fatalf("bridgetest: base URL %q: %v", e.URL, err)
	}
	e.Host = u.Host
	if e.Store == nil {
		e.Store = storagetest.OpenSQLite(t)
	}
	if o.Accounts == nil {
		o.Accounts = DefaultAccounts()
	}
	o.Federation.AllowPrivateNetworks = !o.PublicOnly
	if o.Federation.FollowersPageSize == 0 {
		o.Federation.FollowersPageSize = 50
	}
	e.Client = safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: !o.PublicOnly, Timeout: 5 * time.Second})
	e.Fed, err = federation.New(context.Background(), federation.Settings{
		BaseURL:    e.URL,
		Federation: o.Federation,
		Accounts:   o.Accounts,
		Version:    "test",
		Moderation: o.Moderation,
		Observer:   o.Observer,
	}, e.Store, e.Client, o.Log.With().Str("component", "federation").Logger())
	if err != nil {
		t.Fatal(err)
	}
	e.Links = e.Fed.Links()
	set := o.Publish
	if set.MediaDir == "" && !set.MediaInDB {
		set.MediaDir = t.TempDir()
	}
	if set.HandleDomain == "" {
		set.HandleDomain = e.Links.HandleDomain()
	}
	if o.Mirror != nil {
		set.Mirror = o.Mirror(e.Links)
	}
	e.Pub = publish.New(set, e.Store, e.Fed, o.Log.With().Str("component", "publish").Logger())
	e.Fed.Routes(e.Mux)
	if ln != nil {
		var h http.Handler = e.Mux
		if o.Handler != nil {
			h = o.Handler(h)
		}
		srv := httptest.NewUnstartedServer(h)
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
	}
	return e
}
