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

// FollowerCounter counts an account's followers for the profile page.
type FollowerCounter func(r *http.Request, username string) (int64, error)

// Pages serves the HTML pages.
type Pages struct {
	profiles  map[string]Profile
	order     []string
	tmpl      *template.Template
	followers FollowerCounter
	log       zerolog.Logger
}

// New parses the templates once.
func New(profiles []Profile, followers FollowerCounter, logger zerolog.Logger) (*Pages, error) {
	t, err := template.ParseFS(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &Pages{profiles: map[string]Profile{}, tmpl: t, followers: followers, log: logger}
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
	if p.followers != nil {
		n, err := p.followers(r, pr.Username)
		if err != nil {
			p.log.Error().Err(err).Msg("count followers")
		}
		pr.Followers = n
	}
	w.Header().Set("Link", `<`+pr.ActorURL+`>; rel="alternate"; type="application/activity+json"`)
	p.render(w, "profile.html", pr)
}
