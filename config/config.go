package config

import (
	"net/url"
	"strings"

	"github.com/passerelle/passerelle/links"
)

// Config is the whole configuration file.
type Config struct {
	Server     Server     `yaml:"server"`
	Storage    Storage    `yaml:"storage"`
	Federation Federation `yaml:"federation"`
	Log        Log        `yaml:"log"`
	Posts      Posts      `yaml:"posts"` // publishing limits (posts.go)
	Accounts   []Account  `yaml:"accounts"`
	Moderation Moderation `yaml:"moderation"` // domain blocks, allow-list, blocklist subscriptions (moderation.go)
}

// Server is where and how the bridge listens.
type Server struct {
	// PublicURL is scheme://host[:port] where the bridge is reached.
	PublicURL string `yaml:"public_url"`
	Listen    string `yaml:"listen"`
	// HTTPListen, with tls.mode auto or manual, serves plain HTTP: ACME
	// HTTP-01 challenges and redirects to HTTPS. Empty: no plain HTTP.
	HTTPListen string `yaml:"http_listen"`
	// MetricsListen serves /metrics (Prometheus format) on its own address.
	// Empty: no metrics.
	MetricsListen string `yaml:"metrics_listen"`
	// TrustedProxies are the IP addresses or CIDR ranges of reverse proxies
	// whose X-Forwarded-For, -Proto and -Host headers are believed; those
	// headers are removed from every other request.
	TrustedProxies []string `yaml:"trusted_proxies"`
	// MaxConnections caps the connections each listener keeps open at
	// once (each holds a file descriptor); past it, new connections wait
	// until one closes. 0: DefaultMaxConnections.
	MaxConnections int `yaml:"max_connections"`
	TLS            TLS `yaml:"tls"`
}

// Bounds of server.max_connections.
const (
	DefaultMaxConnections = 4096
	MinMaxConnections     = 16
	MaxMaxConnections     = 1_000_000
)

// MaxConnectionsOrDefault returns MaxConnections, or its default.
func (s Server) MaxConnectionsOrDefault() int {
	if s.MaxConnections <= 0 {
		return DefaultMaxConnections
	}
	return s.MaxConnections
}

// TLS selects how HTTPS is provided.
type TLS struct {
	Mode     string `yaml:"mode"` // off | manual | auto
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
	// Email is the ACME account's contact address (auto); optional.
	Email string `yaml:"email"`
	// ACMEDirectory is the ACME server's directory URL (auto); the default
	// is Let's Encrypt's production directory.
	ACMEDirectory string `yaml:"acme_directory"`
	// ACMECARoot is a PEM file of CA certificates to trust when talking to
	// the ACME server (a private or test CA); empty: the system's roots.
	ACMECARoot string `yaml:"acme_ca_root"`
}

// Storage selects the database.
type Storage struct {
	Driver string `yaml:"driver"` // sqlite | postgres
	DSN    string `yaml:"dsn"`
}

// Federation configures the ActivityPub side.
type Federation struct {
	// AccountDomain, when set, is the domain of the handles
	// (@name@AccountDomain) while the bridge is served from PublicURL's host.
	AccountDomain string `yaml:"account_domain"`
	// AllowPrivateNetworks lets outgoing requests reach loopback and private
	// addresses. Only for local testing.
	AllowPrivateNetworks bool `yaml:"allow_private_networks"`
	// FollowersPageSize is the number of items per followers collection page;
	// 0 hides the list (only totalItems is shown).
	FollowersPageSize int `yaml:"followers_page_size"`
	// SignatureWindow is how old (or how far in the future) a signed
	// request's Date may be, e.g. "1h".
	SignatureWindow Duration `yaml:"signature_window"`
	// HomeRetention is how long the posts and boosts of the accounts ours
	// follow stay in their home timelines, e.g. "720h".
	HomeRetention Duration `yaml:"home_retention"`
	// DeliveryWorkers is the number of concurrent outgoing deliveries.
	DeliveryWorkers int `yaml:"delivery_workers"`
	// AuthorizedFetch requires signed GETs for AS2 documents (moderation.go).
	AuthorizedFetch bool `yaml:"authorized_fetch"`
	// InboxLimits are the inbound rate limits and key-fetch budget (moderation.go).
	InboxLimits InboxLimits `yaml:"inbox_limits"`
	// PollResultsDelay is how long the votes received for one of our
	// polls are gathered before one Update of the poll tells the
	// followers' servers the new results (0: a minute).
	PollResultsDelay Duration `yaml:"poll_results_delay"`
}

// Log configures logging.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // json | console
	// Access writes one info line per request served (package reqlog).
	Access bool `yaml:"access"`
}

// Account is one institutional account served by the bridge.
type Account struct {
	Username    string `yaml:"username"`
	DisplayName string `yaml:"display_name"`
	Summary     string `yaml:"summary"`
	// Type is the ActivityPub actor type: Organization (default), Person,
	// Service, Group or Application.
	Type   string  `yaml:"type"`
	Avatar string  `yaml:"avatar"` // URL or path of an image
	Header string  `yaml:"header"` // URL or path of an image
	Fields []Field `yaml:"fields"`
	// ManuallyApprovesFollowers keeps new followers pending until approved.
	ManuallyApprovesFollowers bool `yaml:"manually_approves_followers"`
	// Language is the language of the posts that do not say theirs (BCP 47,
	// e.g. "fr"); see PostLanguage.
	Language string `yaml:"language"`
	// Notice is the X exit notice page (/x/USERNAME); see notice.go.
	Notice Notice `yaml:"notice"`
	// Pages are the public pages' languages, footer links and
	// accessibility statement; see pages.go.
	Pages Pages `yaml:"pages"`
	// Replies is who may reply (Bluesky threadgate): everyone, followers, following, mentioned or nobody; see bluesky.go.
	Replies string `yaml:"replies"`
	Quotes  string `yaml:"quotes"` // who may quote: allow, followers or disallow; see policy.go
	// Bluesky mirrors the account's posts to Bluesky; see bluesky.go.
	Bluesky Bluesky `yaml:"bluesky"`
	// Feeds are RSS or Atom feeds whose new entries are posted; see feeds.go.
	Feeds []Feed `yaml:"feeds"`
	// AlsoKnownAs lists the accounts (actor URLs or handles) the institution used before, whose followers may move here; see moves.go.
	AlsoKnownAs []string `yaml:"also_known_as"`
}

// PostLanguage is the language of the account's posts that do not say
// theirs: Language, else the notice page's default language, else
// DefaultNoticeLanguage ("en").
func (a Account) PostLanguage() string {
	if a.Language != "" {
		return a.Language
	}
	return a.Notice.Language()
}

// Field is a profile field (name/value). Values that are URLs become links
// with rel="me".
type Field struct {
	Name  string `yaml:"name"`
	Value string `yaml:"value"`
}

// PublicHost returns the host[:port] of PublicURL.
func (s Server) PublicHost() string {
	u, err := url.Parse(s.PublicURL)
	if err != nil {
		return ""
	}
	return u.Host
}

// BaseURL returns PublicURL without a trailing slash.
func (s Server) BaseURL() string {
	return strings.TrimRight(s.PublicURL, "/")
}

// HandleDomain returns the domain used in handles: AccountDomain when set,
// the public host (with port) otherwise.
func (c Config) HandleDomain() string {
	if c.Federation.AccountDomain != "" {
		return c.Federation.AccountDomain
	}
	return c.Server.PublicHost()
}

// Links is the bridge's own URLs, as this configuration makes them.
func (c Config) Links() links.Site {
	return links.New(c.Server.BaseURL(), c.HandleDomain())
}

// Account returns the account whose username is username, compared
// case-insensitively.
func (c *Config) Account(username string) (Account, bool) {
	for _, a := range c.Accounts {
		if strings.EqualFold(a.Username, username) {
			return a, true
		}
	}
	return Account{}, false
}

// Handle returns the fediverse handle of username, without the leading "@":
// "news@city.example".
func (c *Config) Handle(username string) string {
	return username + "@" + c.HandleDomain()
}
