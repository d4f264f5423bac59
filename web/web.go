package web

import (
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/ratelimit"
	"github.com/passerelle/passerelle/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

// Field is a profile field whose value is already safe HTML.
type Field struct {
	Name      string
	ValueHTML template.HTML
}

// Profile is what a profile page shows.
type Profile struct {
	Username    string
	DisplayName string
	SummaryHTML template.HTML
	Handle      string // name@domain, without the leading @
	ActorURL    string
	ProfileURL  string
	AvatarURL   string
	Fields      []Field
	Followers   int64
	Posts       int64
}

// Name is the display name, else the username.
func (pr Profile) Name() string {
	if pr.DisplayName != "" {
		return pr.DisplayName
	}
	return pr.Username
}

// Pages serves the HTML pages.
type Pages struct {
	profiles map[string]Profile
	order    []string
	accounts map[string]*accountPages // by lower-case username
	site     *locale                  // pages of no account
	tmpl     *template.Template
	store    storage.Store
	fed      *federation.Service
	links    links.Site // our own URLs
	log      zerolog.Logger
	cache    *pageCache
	now      func() time.Time
	started  time.Time

	// The X exit notice pages (notice.go); empty without WithNotices.
	notices      map[string]*noticeAccount
	homeNotice   string // account whose notice is the home page, or ""
	baseURL      string
	allowPrivate bool
	follower     notice.Follower
	lookups      chan struct{} // bounds concurrent remote-follow lookups

	// Per client address: remote-follow submissions, and pages that are
	// not cached (older posts).
	followLimit *ratelimit.Buckets
	pagingLimit *ratelimit.Buckets

	funnel *funnel // the notice pages' visits (funnel.go)
}

// accountPages are an account's page settings.
type accountPages struct {
	locale    *locale
	links     config.PageLinks
	a11y      config.Accessibility
	summary   string // plain text, for the card
	avatar    string // local avatar file, for the card
	bluesky   string
	cardOnce  sync.Once
	card      *rendered
	cardError error
}

// Option configures optional parts of the pages.
type Option func(*Pages) error

// PageSettings configure the accounts' pages.
type PageSettings struct {
	// Accounts give each account's languages, footer links and
	// accessibility statement (accounts[].pages).
	Accounts []config.Account
	// Client is the SSRF-safe client, for the remote-follow lookups.
	Client *http.Client
	// AllowPrivateNetworks mirrors federation.allow_private_networks.
	AllowPrivateNetworks bool
	// CacheTTL is how long a rendered page is served before the database
	// is read again; zero: DefaultCacheTTL.
	CacheTTL time.Duration
	// Now is the clock (tests); nil: time.Now.
	Now func() time.Time
	// FollowsPerMinute and PagesPerMinute limit, per client address, the
	// remote-follow submissions and the pages that are not cached (older
	// posts); zero: the defaults.
	FollowsPerMinute, PagesPerMinute int
}

// Default limits per client address.
const (
	DefaultFollowsPerMinute = 30
	DefaultPagesPerMinute   = 120
)

// WithPages configures the accounts' pages.
func WithPages(set PageSettings) Option {
	return func(p *Pages) error {
		for _, acc := range set.Accounts {
			key := strings.ToLower(acc.Username)
			ap, ok := p.accounts[key]
			if !ok {
				return fmt.Errorf("web: pages of unknown account %q", acc.Username)
			}
			ap.locale = newLocale(acc)
			ap.links = acc.Pages.Links
			ap.a11y = acc.Pages.Accessibility
			ap.summary = acc.Summary
			ap.bluesky = acc.NoticeBlueskyHandle()
			if acc.Avatar != "" && !strings.Contains(acc.Avatar, "://") {
				ap.avatar = acc.Avatar
			}
		}
		if set.Client != nil && p.follower.Client == nil {
			p.follower = notice.Follower{Client: set.Client, AllowPrivate: set.AllowPrivateNetworks, Timeout: 5 * time.Second}
			p.allowPrivate = set.AllowPrivateNetworks
		}
		if set.Now != nil {
			p.now = set.Now
		}
		if set.FollowsPerMinute > 0 {
			p.followLimit = ratelimit.NewBuckets(set.FollowsPerMinute, time.Minute, 10000)
		}
		if set.PagesPerMinute > 0 {
			p.pagingLimit = ratelimit.NewBuckets(set.PagesPerMinute, time.Minute, 10000)
		}
		p.cache = newPageCache(set.CacheTTL, p.now)
		return nil
	}
}

// New parses the templates once.
func New(profiles []Profile, store storage.Store, fed *federation.Service, logger zerolog.Logger, opts ...Option) (*Pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{"static": staticURL}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{
		profiles: map[string]Profile{}, accounts: map[string]*accountPages{}, site: siteLocale(),
		tmpl: t, store: store, fed: fed, links: fed.Links(), log: logger, now: time.Now,
		baseURL: fed.Links().Base(), lookups: make(chan struct{}, maxLookups),
		followLimit: ratelimit.NewBuckets(DefaultFollowsPerMinute, time.Minute, 10000),
		pagingLimit: ratelimit.NewBuckets(DefaultPagesPerMinute, time.Minute, 10000),
		funnel:      newFunnel(),
	}
	for _, pr := range profiles {
		key := strings.ToLower(pr.Username)
		if !sameOrigin(pr.AvatarURL, pr.ActorURL) {
			pr.AvatarURL = "" // remote images are not shown (CSP img-src 'self')
		}
		p.profiles[key] = pr
		p.order = append(p.order, key)
		p.accounts[key] = &accountPages{locale: newLocale(config.Account{Username: pr.Username})}
	}
	p.follower = notice.Follower{AllowPrivate: false, Timeout: 5 * time.Second}
	for _, opt := range opts {
		if err := opt(p); err != nil {
			return nil, err
		}
	}
	if p.cache == nil {
		p.cache = newPageCache(0, p.now)
	}
	p.started = p.now()
	return p, nil
}

// Invalidate marks an account's pages (and the pages spanning accounts)
// as changed: publishing calls it after each change it commits.
func (p *Pages) Invalidate(account string) { p.cache.invalidate(account) }

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.langChecked(p.home))
	// ServeMux wildcards are whole segments: "/@news", "/@news.rss" are
	// matched as "/{at}" and told apart here.
	mux.HandleFunc("GET /{at}", p.langChecked(p.account))
	mux.HandleFunc("GET /{at}/{id}", p.langChecked(p.accountItem))
	mux.HandleFunc("POST /follow/{username}", p.profileFollow) // the profile and post pages' remote-follow form
	mux.HandleFunc("GET /tags/{tag}", p.langChecked(p.tag))
	mux.HandleFunc("GET /api/oembed", p.oembed)
	mux.HandleFunc("GET /static/site.css", serveStatic)
	mux.HandleFunc("GET /static/copy.js", serveStatic)
	if p.notices != nil {
		mux.HandleFunc("GET /x/{username}", p.langChecked(p.noticePage))
		mux.HandleFunc("POST /x/{username}/follow", p.follow)
		mux.HandleFunc("GET /x/{username}/card.png", p.noticeImage)
		mux.HandleFunc("GET /x/{username}/qr/{file}", p.noticeImage)
	}
	// Any other GET: the embeds (/@NAME/ID/embed: a pattern would clash
	// with the client API's), else the styled 404 rather than Go's plain
	// text.
	mux.HandleFunc("GET /", p.other)
}

// langChecked answers the styled 400 to a ?lang= that is not a language
// tag (a tag of a language the account does not offer is not an error:
// the page is shown in the best one it has).
func (p *Pages) langChecked(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if q := r.URL.Query(); q.Has("lang") && !validLangParam(q.Get("lang")) {
			p.badRequest(w, r, nil)
			return
		}
		h(w, r)
	}
}

// csp allows nothing but our own images, videos, stylesheet and script: no
// external asset, font or tracker, no inline code. Forms post to us only;
// form-action also covers the redirect of the remote-follow form to the
// visitor's server (https, or http when private networks are allowed for
// local tests).
const csp = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; form-action 'self' https:; base-uri 'none'; frame-ancestors 'none'"

func (p *Pages) csp() string {
	if p.allowPrivate {
		return strings.Replace(csp, "form-action 'self' https:", "form-action 'self' https: http:", 1)
	}
	return csp
}

// lookupAccount returns the account of "@name" (case-insensitive).
func (p *Pages) lookupAccount(at string) (Profile, *accountPages, bool) {
	name, ok := strings.CutPrefix(at, "@")
	if !ok {
		return Profile{}, nil, false
	}
	key := strings.ToLower(name)
	pr, ok := p.profiles[key]
	if !ok {
		return Profile{}, nil, false
	}
	return pr, p.accounts[key], true
}

// homeAccount is the account whose footer the pages of no account show:
// the one whose notice is the home page, else the first.
func (p *Pages) homeAccount() *accountPages {
	if p.homeNotice != "" {
		return p.accounts[p.homeNotice]
	}
	if len(p.order) > 0 {
		return p.accounts[p.order[0]]
	}
	return nil
}

// langOf picks the visitor's language among loc's.
func langOf(r *http.Request, loc *locale) string {
	return loc.match(r.URL.Query().Get("lang"), r.Header.Get("Accept-Language"))
}

// view is what every page template receives.
type view struct {
	tr
	Title       string
	Description string
	Canonical   string
	Languages   []langLink
	Alternates  []alternate
	Creator     string // fediverse:creator, without "@"; "" for none
	OG          *ogMeta
	Footer      footerLinks
	HomeURL     string
	SiteName    string

	Profile   *Profile
	Follow    *followForm
	Pinned    []Post
	Posts     []Post
	Post      *Post
	Older     string // URL of the next page, "" when none
	Moved     *federation.MovedTo
	Tag       string
	Error     *errorView
	Statement *statementView
	Profiles  []Profile
	Feeds     []alternate
	EmbedOf   string
}

type alternate struct {
	Type, Href, Title, Hreflang string
}

type ogMeta struct {
	Type, Title, Description, URL, Locale string
	Image, ImageType, ImageAlt            string
	ImageWidth, ImageHeight               int
	Published                             string
	Card                                  string // twitter:card
}

type footerLinks struct {
	Label                            string
	Accessibility, AccessibilityText string
	Legal, LegalText                 string
	Privacy, PrivacyText             string
	Contact, ContactText             string
}

type followForm struct {
	Action, Input, Error string
}

// baseView fills what every page of an account (or of none, ap nil) has.
func (p *Pages) baseView(ap *accountPages, lang, page string) view {
	loc := p.site
	if ap != nil {
		loc = ap.locale
	}
	t := loc.in(lang)
	v := view{tr: t, Canonical: page, HomeURL: p.baseURL + "/", SiteName: p.siteName()}
	if page != "" {
		v.Languages = loc.languageLinks(page, lang)
	}
	if ap == nil {
		ap = p.homeAccount()
	}
	if ap != nil {
		v.Footer = p.footer(t, ap)
	}
	return v
}

func (p *Pages) siteName() string {
	u, err := url.Parse(p.baseURL)
	if err != nil || u.Host == "" {
		return p.baseURL
	}
	return u.Host
}

// footer is the footer's links: the accessibility statement (the
// institution's own or the built-in page) with its status, the legal
// notice, privacy and contact when configured.
func (p *Pages) footer(t tr, ap *accountPages) footerLinks {
	f := footerLinks{
		Label: t.T("footer_label"),
		Legal: ap.links.LegalNotice, LegalText: t.T("footer_legal"),
		Privacy: ap.links.Privacy, PrivacyText: t.T("footer_privacy"),
		Contact: ap.links.Contact, ContactText: t.T("footer_contact"),
	}
	f.AccessibilityText = t.T("footer_accessibility", "status", t.T("accessibility_"+ap.a11y.AccessibilityStatus()))
	f.Accessibility = ap.links.Accessibility
	if f.Accessibility == "" {
		for k, a := range p.accounts {
			if a == ap {
				f.Accessibility = p.links.Profile(k) + "/accessibility"
			}
		}
	}
	return f
}

// other serves the GETs no other route took: /@NAME/ID/embed, else the
// styled 404.
func (p *Pages) other(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
	if len(parts) == 3 && parts[2] == "embed" && strings.HasPrefix(parts[0], "@") {
		p.embed(w, r, parts[0], parts[1])
		return
	}
	p.notFound(w, r, nil)
}
