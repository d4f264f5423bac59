package web

// Embeds: /@NAME/ID/embed is a post as a small page that other sites may
// frame, and /api/oembed answers oEmbed as Mastodon does (type "rich",
// an iframe of the embed), so that an institution's website, or a CMS
// that reads oEmbed, can show its posts.

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// embedCSP is the pages' policy, except that any site may frame the page.
const embedCSP = "default-src 'none'; img-src 'self' data:; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors *"

// Default and bounds of the embed's width, in CSS pixels.
const (
	embedWidth    = 400
	embedMinWidth = 250
	embedMaxWidth = 1000
)

func (p *Pages) embed(w http.ResponseWriter, r *http.Request, at, idText string) {
	pr, ap, ok := p.lookupAccount(at)
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	id, ok := parseID(idText)
	if !ok {
		p.notFound(w, r, ap)
		return
	}
	lang := langOf(r, ap.locale)
	key := "embed|" + strings.ToLower(pr.Username) + "|" + strconv.FormatInt(id, 10) + "|" + lang
	page, err := p.cache.get(key, strings.ToLower(pr.Username), func() (*rendered, error) {
		ctx := context.WithoutCancel(r.Context())
		st, status, err := p.liveStatus(ctx, pr.Username, id)
		if err != nil {
			return nil, err
		}
		switch status {
		case http.StatusNotFound:
			return p.errorPage(r, ap, http.StatusNotFound)
		case http.StatusGone:
			return p.errorPage(r, ap, http.StatusGone, "date", ap.locale.in(lang).Date(st.DeletedAt))
		}
		post, err := p.toPost(ctx, st)
		if err != nil {
			return nil, err
		}
		v := p.baseView(ap, lang, "")
		v.Profile, v.Post = &pr, &post
		v.Canonical = post.URL
		v.Title = v.T("post_title", "name", pr.Name(), "text", truncate(post.Text, 60))
		v.EmbedOf = v.T("view_original", "site", v.SiteName)
		h := http.Header{}
		h.Set("Content-Language", lang)
		h.Set("Vary", "Accept-Language")
		h.Set("Content-Security-Policy", embedCSP)
		return p.page(http.StatusOK, "embed.html", v, h)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

// oembedResponse is Mastodon's /api/oembed answer.
type oembedResponse struct {
	Type         string `json:"type"`
	Version      string `json:"version"`
	Title        string `json:"title"`
	AuthorName   string `json:"author_name"`
	AuthorURL    string `json:"author_url"`
	ProviderName string `json:"provider_name"`
	ProviderURL  string `json:"provider_url"`
	CacheAge     int    `json:"cache_age"`
	HTML         string `json:"html"`
	Width        int    `json:"width"`
	Height       *int   `json:"height"`
}

// oembed answers GET /api/oembed?url=POST_URL[&maxwidth=N][&format=json]:
// 404 for a URL that is not one of our public posts, 410 for a deleted
// one, 501 for a format other than JSON (the oEmbed specification's).
func (p *Pages) oembed(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	jsonError := func(status int, msg string) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": msg})
	}
	if f := q.Get("format"); f != "" && f != "json" {
		jsonError(http.StatusNotImplemented, "only the json format is served")
		return
	}
	account, id, ok := p.parsePostURL(q.Get("url"))
	if !ok {
		jsonError(http.StatusNotFound, "Record not found")
		return
	}
	pr := p.profiles[account]
	width := embedWidth
	if s := q.Get("maxwidth"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			jsonError(http.StatusBadRequest, "maxwidth must be a positive number")
			return
		}
		width = max(embedMinWidth, min(n, embedWidth, embedMaxWidth))
	}
	// Link previews fetch oEmbed with the page: kept in memory as well.
	key := "oembed|" + account + "|" + strconv.FormatInt(id, 10) + "|" + strconv.Itoa(width)
	page, err := p.cache.get(key, account, func() (*rendered, error) {
		_, status, err := p.liveStatus(context.WithoutCancel(r.Context()), account, id)
		if err != nil {
			return nil, err
		}
		var body any
		switch status {
		case http.StatusNotFound:
			body = map[string]string{"error": "Record not found"}
		case http.StatusGone:
			body = map[string]string{"error": "Record deleted"}
		default:
			src := p.links.NoteURL(account, id) + "/embed"
			body = oembedResponse{
				Type: "rich", Version: "1.0", Title: "New status by " + pr.Username,
				AuthorName: pr.Name(), AuthorURL: pr.ProfileURL,
				ProviderName: p.siteName(), ProviderURL: p.baseURL + "/", CacheAge: 86400,
				HTML: `<iframe src="` + html.EscapeString(src) + `" class="mastodon-embed" style="max-width: 100%; border: 0" width="` +
					strconv.Itoa(width) + `" allowfullscreen="allowfullscreen" title="` + html.EscapeString(pr.Name()) + `"></iframe>`,
				Width: width,
			}
		}
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Access-Control-Allow-Origin", "*")
		return &rendered{status: status, body: append(b, '\n'), header: h, noValidator: status != http.StatusOK}, nil
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

// parsePostURL reads the permalink (or the AS2 id) of one of our posts.
func (p *Pages) parsePostURL(raw string) (account string, id int64, ok bool) {
	if raw == "" || len(raw) > 2048 {
		return "", 0, false
	}
	if acc, id, ok := p.links.ParseNote(raw); ok {
		if _, known := p.profiles[acc]; known {
			return acc, id, true
		}
		return "", 0, false
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", 0, false
	}
	base, err := url.Parse(p.baseURL)
	if err != nil || !strings.EqualFold(u.Host, base.Host) {
		return "", 0, false
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) != 2 {
		return "", 0, false
	}
	name, ok := strings.CutPrefix(parts[0], "@")
	if !ok {
		return "", 0, false
	}
	name = strings.ToLower(name)
	if _, known := p.profiles[name]; !known {
		return "", 0, false
	}
	id, ok = parseID(parts[1])
	return name, id, ok
}
