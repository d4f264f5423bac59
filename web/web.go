package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/reqlog"
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
}

// Pages serves the HTML pages.
type Pages struct {
	profiles map[string]Profile
	order    []string
	tmpl     *template.Template
	store    storage.Store
	fed      *federation.Service
	links    links.Site // our own URLs
	log      zerolog.Logger

	// The X exit notice pages (notice.go); empty without WithNotices.
	notices      map[string]*noticeAccount
	homeNotice   string // account whose notice is the home page, or ""
	baseURL      string
	allowPrivate bool
	follower     notice.Follower
	lookups      chan struct{} // bounds concurrent remote-follow lookups
}

// Option configures optional parts of the pages.
type Option func(*Pages) error

// New parses the templates once.
func New(profiles []Profile, store storage.Store, fed *federation.Service, logger zerolog.Logger, opts ...Option) (*Pages, error) {
	t, err := template.New("").Funcs(template.FuncMap{"static": staticURL}).ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{profiles: map[string]Profile{}, tmpl: t, store: store, fed: fed, links: fed.Links(), log: logger}
	for _, pr := range profiles {
		key := strings.ToLower(pr.Username)
		if !sameOrigin(pr.AvatarURL, pr.ActorURL) {
			pr.AvatarURL = "" // remote images are not shown (CSP img-src 'self')
		}
		p.profiles[key] = pr
		p.order = append(p.order, key)
	}
	for _, opt := range opts {
		if err := opt(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// Routes registers the pages.
func (p *Pages) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", p.home)
	// ServeMux wildcards are whole segments: "/@news" is matched as
	// "/{at}" and checked here.
	mux.HandleFunc("GET /{at}", p.profile)
	mux.HandleFunc("GET /{at}/{id}", p.post)
	mux.HandleFunc("GET /tags/{tag}", p.tag)
	mux.HandleFunc("GET /static/site.css", serveStatic)
	mux.HandleFunc("GET /static/copy.js", serveStatic)
	if p.notices != nil {
		mux.HandleFunc("GET /x/{username}", p.noticePage)
		mux.HandleFunc("POST /x/{username}/follow", p.follow)
		mux.HandleFunc("GET /x/{username}/card.png", p.noticeImage)
		mux.HandleFunc("GET /x/{username}/qr/{file}", p.noticeImage)
	}
}

// csp allows nothing but our own images, stylesheet and script: no
// external asset, font or tracker, no inline code. Forms post to us only;
// form-action also covers the redirect of the remote-follow form to the
// visitor's server (https, or http when private networks are allowed for
// local tests).
const csp = "default-src 'none'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self' https:; base-uri 'none'; frame-ancestors 'none'"

func (p *Pages) csp() string {
	if p.allowPrivate {
		return strings.Replace(csp, "form-action 'self' https:", "form-action 'self' https: http:", 1)
	}
	return csp
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	p.renderStatus(w, r, http.StatusOK, name, data)
}

func (p *Pages) renderStatus(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		reqlog.Logger(r.Context(), p.log).Error().Err(err).Str("template", name).Msg("render page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", p.csp())
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	if p.homeNotice != "" {
		p.serveNotice(w, r, p.homeNotice)
		return
	}
	list := make([]Profile, 0, len(p.order))
	for _, k := range p.order {
		list = append(list, p.profiles[k])
	}
	p.render(w, r, "home.html", map[string]any{"Profiles": list})
}

func (p *Pages) profile(w http.ResponseWriter, r *http.Request) {
	name, isProfile := strings.CutPrefix(r.PathValue("at"), "@")
	pr, ok := p.profiles[strings.ToLower(name)]
	if !isProfile || !ok {
		http.NotFound(w, r)
		return
	}
	if p.redirectMoved(w, r, pr.Username) { // moves.go: the account lives elsewhere now
		return
	}
	ctx := r.Context()
	n, err := p.store.CountFollowers(ctx, strings.ToLower(pr.Username), storage.FollowerAccepted)
	if err != nil {
		reqlog.Logger(ctx, p.log).Error().Err(err).Msg("count followers")
	}
	pr.Followers = n
	posts, err := p.recentWithBoosts(ctx, pr.Username, 20)
	if err != nil {
		reqlog.Logger(ctx, p.log).Error().Err(err).Msg("list posts")
	}
	w.Header().Set("Link", `<`+pr.ActorURL+`>; rel="alternate"; type="application/activity+json"`)
	p.render(w, r, "profile.html", map[string]any{"Profile": pr, "Posts": posts})
}
