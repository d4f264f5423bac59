// Package web serves the bridge's HTML pages: the home page and the
// accounts' profile pages. Pages are server-rendered, with no external
// assets and a strict Content-Security-Policy.
package web

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"strings"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/federation"
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
	log      zerolog.Logger
}

// New parses the templates once.
func New(profiles []Profile, store storage.Store, fed *federation.Service, logger zerolog.Logger) (*Pages, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{profiles: map[string]Profile{}, tmpl: t, store: store, fed: fed, log: logger}
	for _, pr := range profiles {
		key := strings.ToLower(pr.Username)
		p.profiles[key] = pr
		p.order = append(p.order, key)
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
}

const csp = "default-src 'none'; img-src 'self' https: data:; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

func (p *Pages) render(w http.ResponseWriter, name string, data any) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error().Err(err).Str("template", name).Msg("render page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	w.Write(buf.Bytes())
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	list := make([]Profile, 0, len(p.order))
	for _, k := range p.order {
		list = append(list, p.profiles[k])
	}
	p.render(w, "home.html", map[string]any{"Profiles": list})
}

func (p *Pages) profile(w http.ResponseWriter, r *http.Request) {
	name, isProfile := strings.CutPrefix(r.PathValue("at"), "@")
	pr, ok := p.profiles[strings.ToLower(name)]
	if !isProfile || !ok {
		http.NotFound(w, r)
		return
	}
	ctx := r.Context()
	n, err := p.store.CountFollowers(ctx, strings.ToLower(pr.Username), storage.FollowerAccepted)
	if err != nil {
		p.log.Error().Err(err).Msg("count followers")
	}
	pr.Followers = n
	posts, err := p.recent(ctx, pr.Username, 20)
	if err != nil {
		p.log.Error().Err(err).Msg("list posts")
	}
	w.Header().Set("Link", `<`+pr.ActorURL+`>; rel="alternate"; type="application/activity+json"`)
	p.render(w, "profile.html", map[string]any{"Profile": pr, "Posts": posts})
}
