package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/web"
)

// site is the bridge's pages on a real SQLite store and a real federation
// service, served on loopback.
type site struct {
	url   string // http://127.0.0.1:PORT
	host  string
	store storage.Store
	fed   *federation.Service
	pages *web.Pages
	ids   []int64 // the public posts of news, oldest first
}

type siteOptions struct {
	allowPrivate bool
	home         bool // the notice of news is the home page
	noBluesky    bool
	posts        int // public posts of news
	pages        config.Pages
	now          func() time.Time
	follows      int                               // remote-follow submissions per minute and client; 0: the default
	wrap         func(storage.Store) storage.Store // wraps the store the pages read (counting), or nil
}

// newSite serves two accounts: news, with a notice, a local avatar and
// posts, and mayor, without a notice.
func newSite(t testing.TB, opts siteOptions) *site {
	t.Helper()
	avatar := filepath.Join(t.TempDir(), "avatar.png")
	writeAvatar(t, avatar)
	news := config.Account{
		Username: "news", DisplayName: "Ville de Test", Summary: "News from the city hall.", Type: "Organization", Avatar: avatar, Pages: opts.pages,
		Notice: config.Notice{
			XHandle: "@VilleDeTest", LeftXOn: "2025-01-20", Hashtag: "#eXit",
			BlueskyHandle: "villedetest.bsky.social", Home: opts.home,
		},
	}
	if opts.noBluesky {
		news.Notice.BlueskyHandle = ""
	}
	accounts := []config.Account{news, {Username: "mayor", DisplayName: "The Mayor", Type: "Person"}}
	b := bridgetest.New(t, bridgetest.Options{Accounts: accounts, PublicOnly: !opts.allowPrivate})
	store, fed, base, host := b.Store, b.Fed, b.URL, b.Host
	var profiles []web.Profile
	for _, a := range accounts {
		profiles = append(profiles, web.Profile{
			Username: a.Username, DisplayName: a.DisplayName, Handle: fed.Links().Handle(a.Username), SummaryHTML: template.HTML(fed.SummaryHTML(a.Username)),
			ActorURL: fed.Links().Actor(a.Username), ProfileURL: fed.Links().Profile(a.Username), AvatarURL: fed.AvatarURL(a.Username),
		})
	}
	var pagesStore storage.Store = store
	if opts.wrap != nil {
		pagesStore = opts.wrap(store)
	}
	pages, err := web.New(profiles, pagesStore, fed, zerolog.New(zerolog.NewTestWriter(t)),
		web.WithPages(web.PageSettings{Accounts: accounts, Client: b.Client, AllowPrivateNetworks: opts.allowPrivate, Now: opts.now, FollowsPerMinute: opts.follows}),
		web.WithNotices(web.NoticeSettings{
			BaseURL: base, Accounts: accounts, Client: b.Client, AllowPrivateNetworks: opts.allowPrivate,
		}))
	if err != nil {
		t.Fatal(err)
	}
	pages.Routes(b.Mux)
	// The media files, as the client API serves them (publish.OpenMedia).
	b.Mux.HandleFunc("GET /media/{file}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(strings.TrimSuffix(r.PathValue("file"), ".png"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		m, f, err := b.Pub.OpenMedia(r.Context(), id)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		w.Header().Set("Content-Type", m.MediaType)
		http.ServeContent(w, r, "", m.CreatedAt, f)
	})

	ctx := context.Background()
	start := time.Date(2025, 2, 1, 9, 0, 0, 0, time.UTC)
	var ids []int64
	for i := range opts.posts {
		text := fmt.Sprintf("Public post number %d", i+1)
		id, err := store.InsertStatus(ctx, storage.Status{
			Account: "news", Text: text + " #exit", ContentHTML: "<p>" + html.EscapeString(text) + ` <a href="` + base + `/tags/exit" class="mention hashtag" rel="tag">#<span>exit</span></a></p>`, Language: "fr",
			Tags:       []storage.StatusTag{{Name: "exit", URL: base + "/tags/exit"}},
			Visibility: storage.VisibilityPublic, CreatedAt: start.Add(time.Duration(i) * time.Hour),
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if _, err := store.InsertStatus(ctx, storage.Status{
		Account: "news", Text: "Followers only", ContentHTML: "<p>Followers only</p>",
		Visibility: storage.VisibilityPrivate, CreatedAt: start.Add(100 * time.Hour),
	}); err != nil {
		t.Fatal(err)
	}
	return &site{url: base, host: host, store: store, fed: fed, pages: pages, ids: ids}
}

func writeAvatar(t testing.TB, path string) { writeImage(t, path, 128, 128) }

// writeImage writes a w×h PNG gradient.
func writeImage(t testing.TB, path string, w, h int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(40 + x), 90, uint8(120 + y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// visitorServer is a visitor's fediverse server on loopback: WebFinger
// for @alice (with a subscribe template) and @evil (a template on another
// host), and a page at /authorize_interaction.
type visitorServer struct {
	url, host string
}

func newVisitorServer(t testing.TB) *visitorServer {
	t.Helper()
	v := &visitorServer{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/webfinger", func(w http.ResponseWriter, r *http.Request) {
		var tmpl string
		switch r.URL.Query().Get("resource") {
		case "acct:alice@" + v.host:
			tmpl = v.url + "/authorize_interaction?uri={uri}"
		case "acct:evil@" + v.host:
			tmpl = "https://evil.example/phish?uri={uri}"
		default:
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/jrd+json")
		json.NewEncoder(w).Encode(map[string]any{
			"subject": r.URL.Query().Get("resource"),
			"links":   []map[string]string{{"rel": "http://ostatus.org/schema/1.0/subscribe", "template": tmpl}},
		})
	})
	mux.HandleFunc("GET /authorize_interaction", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, "<!DOCTYPE html><html lang=en><title>Follow</title><h1 id=target>%s</h1>", html.EscapeString(r.URL.Query().Get("uri")))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	v.url = srv.URL
	v.host = strings.TrimPrefix(srv.URL, "http://")
	return v
}

// get fetches a page with optional headers ("Name: value").
func get(t testing.TB, url string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp, buf.String()
}
