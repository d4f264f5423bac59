package web_test

import (
	"bytes"
	"image"
	_ "image/png"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

const wantCSP = "default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'self'; script-src 'self'; form-action 'self' https:; base-uri 'none'; frame-ancestors 'none'"

func TestNoticePage(t *testing.T) {
	s := newSite(t, siteOptions{posts: 7})
	tests := []struct {
		name     string
		path     string
		headers  []string
		wantLang string
		want     []string
	}{
		{name: "English by default", path: "/x/news", wantLang: "en", want: []string{
			`<html lang="en" dir="ltr">`, "We have left X on 20 January 2025. Follow us here.",
			`<title>Ville de Test has left X</title>`, ">Follow</button>", `aria-current="true">English</a>`,
		}},
		{name: "French from Accept-Language", path: "/x/news", headers: []string{"Accept-Language: fr-FR,fr;q=0.9,en;q=0.5"}, wantLang: "fr", want: []string{
			`<html lang="fr" dir="ltr">`, "Nous avons quitté X le 20 janvier 2025. Suivez-nous ici.",
			">Suivre</button>", `aria-current="true">Français</a>`, `<meta property="og:locale" content="fr_FR">`,
		}},
		{name: "switcher overrides the header", path: "/x/news?lang=fr", headers: []string{"Accept-Language: en"}, wantLang: "fr", want: []string{
			"Sur Mastodon et le fédivers",
		}},
		{name: "username is case-insensitive", path: "/x/NEWS", wantLang: "en", want: []string{"Ville de Test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, s.url+tt.path, tt.headers...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if got := resp.Header.Get("Content-Language"); got != tt.wantLang {
				t.Errorf("Content-Language = %q, want %q", got, tt.wantLang)
			}
			if got := resp.Header.Get("Vary"); got != "Accept-Language" {
				t.Errorf("Vary = %q", got)
			}
			if got := resp.Header.Get("Content-Security-Policy"); got != wantCSP {
				t.Errorf("CSP = %q", got)
			}
			page := s.url + "/x/news"
			common := []string{
				// handles, copy buttons, the remote-follow form
				`<code class="handle-big" id="fediverse-handle" translate="no">@news@` + s.host + `</code>`,
				`data-copy="@news@` + s.host + `"`,
				`<form id="follow" class="follow" method="post" action="/x/news/follow">`,
				`<input id="server" name="server"`,
				// Bluesky
				`href="https://bsky.app/profile/villedetest.bsky.social" rel="me noopener"`,
				`<code class="handle-big" id="bluesky-handle" translate="no">@villedetest.bsky.social</code>`,
				// QR codes
				`<img id="qr-fediverse" src="` + page + `/qr/fediverse.png"`,
				`<img id="qr-bluesky" src="` + page + `/qr/bluesky.png"`,
				`href="` + page + `/qr/fediverse.svg"`,
				// link previews
				`<meta property="og:image" content="` + page + `/card.png">`,
				`<meta property="og:image:width" content="1200">`,
				`<meta name="twitter:card" content="summary_large_image">`,
				`<meta name="twitter:image" content="` + page + `/card.png">`,
				`<meta property="og:url" content="` + page + `">`,
				`<meta name="fediverse:creator" content="@news@` + s.host + `">`,
				`<link rel="canonical" href="` + page + `">`,
				`<link rel="alternate" hreflang="fr" href="` + page + `?lang=fr">`,
				`<a href="?lang=fr" hreflang="fr" lang="fr"`,
				// rel=me
				`<link rel="me" href="` + s.url + `/@news">`,
				`<link rel="me" href="https://bsky.app/profile/villedetest.bsky.social">`,
				// same-origin assets only
				`<link rel="stylesheet" href="/static/site.css?v=`,
				`<script src="/static/copy.js?v=`,
				`<img class="avatar" src="` + s.url + `/users/news/avatar?v=`, // the local file's digest: a new image, a new URL
				"Public post number 7", "Public post number 3",
				"@VilleDeTest",
			}
			for _, w := range append(common, tt.want...) {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %s", w)
				}
			}
			for _, bad := range []string{"Public post number 2", "Followers only", "<style", " style=", "onclick", "http://evil", "https://fonts."} {
				if strings.Contains(body, bad) {
					t.Errorf("page contains %q", bad)
				}
			}
			if n := strings.Count(body, `<article class="post"`); n != 5 {
				t.Errorf("page shows %d posts, want the 5 latest public ones", n)
			}
			// Every script is an external same-origin file.
			for _, m := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
				if !strings.Contains(m, `src="/static/`) {
					t.Errorf("inline or external script: %s", m)
				}
			}
		})
	}
}

func TestNoticeWithoutBlueskyAndNotFound(t *testing.T) {
	s := newSite(t, siteOptions{noBluesky: true})
	resp, body := get(t, s.url+"/x/news")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "bsky.app") || strings.Contains(body, "qr-bluesky") {
		t.Errorf("notice without Bluesky: status %d, Bluesky shown: %v", resp.StatusCode, strings.Contains(body, "bsky.app"))
	}
	if !strings.Contains(body, "No posts yet.") {
		t.Error("no empty-posts message")
	}
	for _, path := range []string{"/x/mayor", "/x/nobody", "/x/news/qr/bluesky.png", "/x/news/qr/card.png", "/x/news/qr/other.png", "/x/mayor/card.png"} {
		if resp, _ := get(t, s.url+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestNoticeHome(t *testing.T) {
	s := newSite(t, siteOptions{home: true})
	resp, body := get(t, s.url+"/", "Accept-Language: fr")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Nous avons quitté X") || !strings.Contains(body, `<link rel="canonical" href="`+s.url+`/x/news">`) {
		t.Errorf("home: status %d, not the notice:\n%.300s", resp.StatusCode, body)
	}
	plain := newSite(t, siteOptions{})
	if _, body := get(t, plain.url+"/"); !strings.Contains(body, "Accounts on this server") {
		t.Error("without home: true, / is not the list of accounts")
	}
}

func TestNoticeImages(t *testing.T) {
	s := newSite(t, siteOptions{})
	tests := []struct {
		path        string
		contentType string
		width       int // PNG only
		height      int
	}{
		{path: "/x/news/card.png", contentType: "image/png", width: 1200, height: 630},
		{path: "/x/news/qr/fediverse.png", contentType: "image/png"},
		{path: "/x/news/qr/bluesky.png", contentType: "image/png"},
		{path: "/x/news/qr/fediverse.svg", contentType: "image/svg+xml"},
		{path: "/x/news/qr/bluesky.svg", contentType: "image/svg+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, s.url+tt.path)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if tt.contentType == "image/svg+xml" {
				if !strings.HasPrefix(body, "<svg") || resp.Header.Get("Content-Security-Policy") == "" {
					t.Errorf("SVG: %.60s, CSP %q", body, resp.Header.Get("Content-Security-Policy"))
				}
				return
			}
			img, format, err := image.Decode(bytes.NewReader([]byte(body)))
			if err != nil || format != "png" {
				t.Fatalf("not a PNG: %v", err)
			}
			b := img.Bounds()
			if tt.width != 0 && (b.Dx() != tt.width || b.Dy() != tt.height) {
				t.Errorf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), tt.width, tt.height)
			}
			if tt.width == 0 && b.Dx() != b.Dy() {
				t.Errorf("QR code is not square: %v", b)
			}
		})
	}
}

// noRedirect is a client that returns redirects instead of following them.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postFollow(t *testing.T, s *site, lang, server string) (*http.Response, string) {
	t.Helper()
	form := url.Values{"server": {server}}
	if lang != "" {
		form.Set("lang", lang)
	}
	resp, err := noRedirect.PostForm(s.url+"/x/news/follow", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	return resp, buf.String()
}

func TestRemoteFollowPublic(t *testing.T) {
	// As in production: private networks refused. Only inputs that need no
	// network are used (a server name is redirected without a lookup).
	s := newSite(t, siteOptions{})
	actor := url.QueryEscape(s.url + "/users/news")
	tests := []struct {
		name     string
		lang     string
		input    string
		location string // expected redirect; empty: an error on the page
		status   int
		message  string
	}{
		{name: "server name", input: "mastodon.social", location: "https://mastodon.social/authorize_interaction?uri=" + actor},
		{name: "https URL", input: "https://Mastodon.Social/", location: "https://mastodon.social/authorize_interaction?uri=" + actor},
		{name: "http URL upgraded", input: "http://mastodon.social", location: "https://mastodon.social/authorize_interaction?uri=" + actor},
		{name: "IDN", input: "mastodon.bücher.example", location: "https://mastodon.xn--bcher-kva.example/authorize_interaction?uri=" + actor},
		{name: "javascript", input: "javascript:alert(document.cookie)", status: 422, message: "is not a server name"},
		{name: "protocol-relative", input: "//evil.example", status: 422, message: "is not a server name"},
		{name: "path", input: "server.example/path", status: 422, message: "is not a server name"},
		{name: "credentials", input: "user:pass@server.example", status: 422, message: "is not a server name"},
		{name: "spaces", input: "mastodon social", status: 422, message: "is not a server name"},
		{name: "overlong", input: strings.Repeat("a.", 200) + "example", status: 422, message: "is not a server name"},
		{name: "empty", input: "", status: 422, message: "is not a server name"},
		{name: "IP literal", input: "127.0.0.1", status: 422, message: "cannot be used"},
		{name: "IPv6 literal", input: "[::1]:443", status: 422, message: "cannot be used"},
		{name: "French message", lang: "fr", input: "a/b", status: 422, message: "n’est pas un nom de serveur"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postFollow(t, s, tt.lang, tt.input)
			if tt.location != "" {
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tt.location {
					t.Fatalf("status %d, Location %q; want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), tt.location)
				}
				return
			}
			if resp.StatusCode != tt.status || resp.Header.Get("Location") != "" {
				t.Fatalf("status %d, Location %q; want %d and no redirect", resp.StatusCode, resp.Header.Get("Location"), tt.status)
			}
			if !strings.Contains(body, `role="alert">`) || !strings.Contains(body, tt.message) || !strings.Contains(body, `aria-invalid="true"`) {
				t.Errorf("page lacks the message %q", tt.message)
			}
			if resp.Header.Get("Content-Security-Policy") != wantCSP {
				t.Errorf("error page CSP = %q", resp.Header.Get("Content-Security-Policy"))
			}
		})
	}
}

func TestRemoteFollowLookup(t *testing.T) {
	s := newSite(t, siteOptions{allowPrivate: true})
	v := newVisitorServer(t)
	actor := url.QueryEscape(s.url + "/users/news")
	tests := []struct {
		name     string
		input    string
		location string
		status   int
	}{
		{name: "address: the server's subscribe template", input: "@alice@" + v.host, location: v.url + "/authorize_interaction?uri=" + actor},
		{name: "address without @", input: "alice@" + v.host, location: v.url + "/authorize_interaction?uri=" + actor},
		{name: "template on another host: the server's own page", input: "@evil@" + v.host, location: v.url + "/authorize_interaction?uri=" + actor},
		{name: "unknown account: the server's own page", input: "@nobody@" + v.host, location: v.url + "/authorize_interaction?uri=" + actor},
		{name: "server URL", input: v.url, location: v.url + "/authorize_interaction?uri=" + actor},
		{name: "nothing answers", input: "@alice@127.0.0.1:1", status: http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := postFollow(t, s, "en", tt.input)
			if tt.location != "" {
				if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tt.location {
					t.Fatalf("status %d, Location %q; want 303 to %q", resp.StatusCode, resp.Header.Get("Location"), tt.location)
				}
				return
			}
			if resp.StatusCode != tt.status || !strings.Contains(body, "We could not reach 127.0.0.1:1") {
				t.Fatalf("status %d; want %d with a message", resp.StatusCode, tt.status)
			}
		})
	}
	// With private networks allowed (tests), the CSP lets the form's
	// redirect go to an http server.
	if resp, _ := get(t, s.url+"/x/news"); !strings.Contains(resp.Header.Get("Content-Security-Policy"), "form-action 'self' https: http:;") {
		t.Errorf("CSP = %q", resp.Header.Get("Content-Security-Policy"))
	}
}

func TestSameLookOnEveryPage(t *testing.T) {
	s := newSite(t, siteOptions{posts: 1})
	for _, path := range []string{"/", "/@news", "/@news/1", "/tags/exit", "/x/news"} {
		t.Run(path, func(t *testing.T) {
			resp, body := get(t, s.url+path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if resp.Header.Get("Content-Security-Policy") != wantCSP {
				t.Errorf("CSP = %q", resp.Header.Get("Content-Security-Policy"))
			}
			if !strings.Contains(body, `<link rel="stylesheet" href="/static/site.css?v=`) || strings.Contains(body, "<style") {
				t.Error("page does not use the shared stylesheet only")
			}
			if !regexp.MustCompile(`<html lang="[a-z]{2}`).MatchString(body) {
				t.Error("no lang attribute")
			}
		})
	}
	for path, ct := range map[string]string{"/static/site.css": "text/css; charset=utf-8", "/static/copy.js": "text/javascript; charset=utf-8"} {
		resp, body := get(t, s.url+path)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != ct || body == "" {
			t.Errorf("GET %s: %d %q", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
}
