package web_test

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
)

// rich are the posts addRich writes.
type rich struct {
	media, cw, pinned, deleted, unlisted int64
	deletedAt                            time.Time
}

// addRich writes, for news: a post with two images (one without alt
// text) and a hashtag, a post behind a content warning, a pinned post, an
// unlisted post and a deleted one.
func addRich(t testing.TB, s *site) rich {
	t.Helper()
	ctx := context.Background()
	at := time.Date(2025, 3, 1, 8, 30, 0, 0, time.UTC)
	dir := t.TempDir()
	media := func(alt string, w, h int) int64 {
		path := filepath.Join(dir, strconv.Itoa(w)+".png")
		writeImage(t, path, w, h)
		id, err := s.store.InsertMedia(ctx, storage.Media{Account: "news", MediaType: "image/png", Width: w, Height: h, Size: 4321, Description: alt, Path: path, CreatedAt: at})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	insert := func(st storage.Status) int64 {
		st.Account = "news"
		if st.Visibility == "" {
			st.Visibility = storage.VisibilityPublic
		}
		id, err := s.store.InsertStatus(ctx, st)
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	var r rich
	r.media = insert(storage.Status{
		Text: "The new bridge #Travaux", ContentHTML: `<p>The new bridge <a href="` + s.url + `/tags/travaux" class="mention hashtag" rel="tag">#<span>Travaux</span></a></p>`,
		Language: "en", Tags: []storage.StatusTag{{Name: "Travaux", URL: s.url + "/tags/travaux"}},
		MediaIDs: []int64{media("The new footbridge over the river", 800, 600), media("", 400, 300)}, CreatedAt: at,
	})
	r.cw = insert(storage.Status{Text: "Details of the closure", ContentHTML: "<p>Details of the closure</p>", SpoilerText: "Road works", Sensitive: true, CreatedAt: at.Add(time.Minute)})
	r.pinned = insert(storage.Status{Text: "Welcome to our account", ContentHTML: "<p>Welcome to our account</p>", CreatedAt: at.Add(-48 * time.Hour), EditedAt: at.Add(-47 * time.Hour)})
	if err := s.store.SetStatusPinned(ctx, "news", r.pinned, at); err != nil {
		t.Fatal(err)
	}
	r.unlisted = insert(storage.Status{Text: "Unlisted", ContentHTML: "<p>Unlisted</p>", Visibility: storage.VisibilityUnlisted, CreatedAt: at.Add(2 * time.Minute)})
	r.deleted = insert(storage.Status{Text: "A mistake", ContentHTML: "<p>A mistake</p>", CreatedAt: at.Add(3 * time.Minute)})
	r.deletedAt = time.Date(2025, 3, 2, 10, 0, 0, 0, time.UTC)
	if err := s.store.DeleteStatus(ctx, "news", r.deleted, r.deletedAt); err != nil {
		t.Fatal(err)
	}
	s.pages.Invalidate("news")
	return r
}

func id(n int64) string { return strconv.FormatInt(n, 10) }

// TestPagesInTheVisitorsLanguage: every page kind in French and English,
// picked by ?lang= or Accept-Language, with lang/dir, dates and numbers
// written the language's way; a language the account lacks falls back;
// junk in ?lang= is a styled 400 in the visitor's language.
func TestPagesInTheVisitorsLanguage(t *testing.T) {
	s := newSite(t, siteOptions{posts: 3})
	r := addRich(t, s)
	tests := []struct {
		name, path string
		headers    []string
		lang       string
		want       []string
		status     int // 0: 200
	}{
		{name: "profile en", path: "/@news", lang: "en", want: []string{"Follow Ville de Test", "7 posts", "0 followers", ">Pinned</h2>", "1 February 2025 at 09:00 UTC", "edited 27 February 2025", "Accessibility: not compliant"}},
		{name: "profile fr by header", path: "/@news", headers: []string{"Accept-Language: fr-FR,fr;q=0.9"}, lang: "fr", want: []string{"Suivre Ville de Test", "7 publications", "0 abonné<", ">Épinglé</h2>", "1er février 2025 à 09:00 UTC", "modifié le 27 février 2025", "Accessibilité : non conforme"}},
		{name: "?lang= wins over the header", path: "/@news?lang=fr", headers: []string{"Accept-Language: en"}, lang: "fr", want: []string{"Suivre Ville de Test"}},
		{name: "junk ?lang= refused", path: "/@news?lang=%3Cscript%3E", headers: []string{"Accept-Language: fr"}, lang: "fr", status: http.StatusBadRequest},
		{name: "overlong ?lang= refused", path: "/@news?lang=" + strings.Repeat("fr-", 40), lang: "en", status: http.StatusBadRequest},
		{name: "junk ?lang= on the notice", path: "/x/news?lang=%00", lang: "en", status: http.StatusBadRequest},
		{name: "a language the account lacks", path: "/@news?lang=de", headers: []string{"Accept-Language: fr"}, lang: "fr", want: []string{"Suivre Ville de Test"}},
		{name: "unknown language: the default", path: "/@news", headers: []string{"Accept-Language: ja"}, lang: "en", want: []string{"Follow Ville de Test"}},
		{name: "junk Accept-Language", path: "/@news", headers: []string{"Accept-Language: ;;;q=x,,"}, lang: "en", want: []string{"Follow Ville de Test"}},
		{name: "post fr", path: "/@news/" + id(r.media) + "?lang=fr", lang: "fr", want: []string{"1er mars 2025 à 08:30 UTC", "Image sans description"}},
		{name: "post en", path: "/@news/" + id(r.media), lang: "en", want: []string{"1 March 2025 at 08:30 UTC", "Image without a description"}},
		{name: "tag fr", path: "/tags/travaux?lang=fr", lang: "fr", want: []string{"<h1>Publications avec #travaux</h1>"}},
		{name: "tag en", path: "/tags/Travaux", lang: "en", want: []string{"<h1>Posts tagged #travaux</h1>"}},
		{name: "home fr", path: "/", headers: []string{"Accept-Language: fr"}, lang: "fr", want: []string{"Comptes de ce serveur"}},
		{name: "statement fr", path: "/@news/accessibility?lang=fr", lang: "fr", want: []string{"Déclaration d’accessibilité", "Défenseur des droits"}},
		{name: "statement en", path: "/@news/accessibility", lang: "en", want: []string{"Accessibility statement", "Enforcement procedure"}},
		{name: "embed fr", path: "/@news/" + id(r.media) + "/embed?lang=fr", lang: "fr", want: []string{"Voir sur " + s.host}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, s.url+tt.path, tt.headers...)
			if want := cmp.Or(tt.status, http.StatusOK); resp.StatusCode != want {
				t.Fatalf("status %d, want %d", resp.StatusCode, want)
			}
			if tt.status != 0 && !strings.Contains(body, `class="error-page"`) {
				t.Errorf("not the styled error page: %s", body)
			}
			if !strings.Contains(body, `<html lang="`+tt.lang+`" dir="ltr">`) {
				t.Errorf("no <html lang=%q dir=ltr>", tt.lang)
			}
			if got := resp.Header.Get("Content-Language"); got != tt.lang {
				t.Errorf("Content-Language %q, want %q", got, tt.lang)
			}
			if resp.Header.Get("Vary") != "Accept-Language" {
				t.Errorf("Vary = %q", resp.Header.Get("Vary"))
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
}

// TestPagesAddedLanguage: a language given in YAML joins the switcher,
// with its texts, month names and right-to-left direction; the texts it
// lacks are English.
func TestPagesAddedLanguage(t *testing.T) {
	s := newSite(t, siteOptions{posts: 1, pages: config.Pages{Texts: config.LanguageTexts{
		"ar": {"follow_button": "تابع", "months": "يناير,فبراير,مارس,أبريل,مايو,يونيو,يوليو,أغسطس,سبتمبر,أكتوبر,نوفمبر,ديسمبر"},
		"de": {"follow_button": "Folgen"},
	}}})
	_, body := get(t, s.url+"/@news", "Accept-Language: ar")
	for _, w := range []string{`<html lang="ar" dir="rtl">`, ">تابع</button>", "1 فبراير 2025", `hreflang="de"`, "Follow Ville de Test"} {
		if !strings.Contains(body, w) {
			t.Errorf("Arabic page lacks %q", w)
		}
	}
	_, body = get(t, s.url+"/@news?lang=de")
	if !strings.Contains(body, `<html lang="de" dir="ltr">`) || !strings.Contains(body, ">Folgen</button>") {
		t.Error("German page is not German")
	}
}

// TestErrorPages: bad input gets a styled page in the visitor's
// language, never Go's plain text and never a 500.
func TestErrorPages(t *testing.T) {
	s := newSite(t, siteOptions{posts: 2})
	r := addRich(t, s)
	tests := []struct {
		name, path string
		status     int
		lang       string
		want       string
	}{
		{name: "unknown account", path: "/@nobody", status: 404, lang: "fr", want: "Page introuvable"},
		{name: "unknown account en", path: "/@nobody", status: 404, lang: "en", want: "Page not found"},
		{name: "not an account", path: "/nobody", status: 404, lang: "en", want: "Page not found"},
		{name: "unknown route", path: "/a/b/c/d", status: 404, lang: "fr", want: "Page introuvable"},
		{name: "unknown post", path: "/@news/987654321", status: 404, lang: "en", want: "Page not found"},
		{name: "huge post id", path: "/@news/99999999999999999999999999", status: 404, lang: "en", want: "Page not found"},
		{name: "post id not a number", path: "/@news/abc", status: 404, lang: "en", want: "Page not found"},
		{name: "another account's post", path: "/@mayor/" + id(r.media), status: 404, lang: "en", want: "Page not found"},
		{name: "followers-only post", path: "/@news/" + id(s.ids[len(s.ids)-1]+1), status: 404, lang: "en", want: "Page not found"},
		{name: "deleted post", path: "/@news/" + id(r.deleted), status: 410, lang: "en", want: "This post was deleted on 2 March 2025."},
		{name: "deleted post fr", path: "/@news/" + id(r.deleted), status: 410, lang: "fr", want: "Cette publication a été supprimée le 2 mars 2025."},
		{name: "deleted post's embed", path: "/@news/" + id(r.deleted) + "/embed", status: 410, lang: "en", want: "Post deleted"},
		{name: "unknown tag", path: "/tags/nothingtagged", status: 404, lang: "en", want: "Page not found"},
		{name: "tag with punctuation", path: "/tags/" + url.PathEscape("a<b>"), status: 404, lang: "en", want: "Page not found"},
		{name: "overlong tag", path: "/tags/" + strings.Repeat("a", 101), status: 404, lang: "en", want: "Page not found"},
		{name: "unknown tag feed", path: "/tags/nothingtagged.rss", status: 404, lang: "en", want: "Page not found"},
		{name: "huge max_id", path: "/@news?max_id=99999999999999999999999", status: 400, lang: "fr", want: "Requête invalide"},
		{name: "negative max_id", path: "/@news?max_id=-5", status: 400, lang: "en", want: "Bad request"},
		{name: "max_id not a number", path: "/@news?max_id=page2", status: 400, lang: "en", want: "Bad request"},
		{name: "unknown account feed", path: "/@nobody.rss", status: 404, lang: "en", want: "Page not found"},
		{name: "unknown card", path: "/x/news/qr/other.png", status: 404, lang: "en", want: "Page not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, s.url+tt.path, "Accept-Language: "+tt.lang)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if resp.Header.Get("Content-Security-Policy") != wantCSP {
				t.Errorf("CSP = %q", resp.Header.Get("Content-Security-Policy"))
			}
			for _, w := range []string{`<html lang="` + tt.lang + `"`, `<link rel="stylesheet" href="/static/site.css?v=`, `<p class="status" aria-hidden="true">` + strconv.Itoa(tt.status) + `</p>`, tt.want, `id="footer-accessibility"`} {
				if !strings.Contains(body, w) {
					t.Errorf("error page lacks %q", w)
				}
			}
		})
	}
	// The 404 of /@mayor/ID (news's post) is not news's page.
	for _, p := range []string{"/@news/" + id(r.media), "/@news/" + id(r.media) + "/embed"} {
		if resp, _ := get(t, s.url+p); resp.StatusCode != http.StatusOK {
			t.Errorf("%s after another account's 404 for it: %d", p, resp.StatusCode)
		}
	}
	if resp, _ := get(t, s.url+"/@mayor/"+id(r.media)+"/embed"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("another account's embed: %d", resp.StatusCode)
	}
	// A page deleted after it was cached answers 410 at once.
	resp, _ := get(t, s.url+"/@news/"+id(r.cw))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("live post: %d", resp.StatusCode)
	}
	if err := s.store.DeleteStatus(context.Background(), "news", r.cw, time.Now()); err != nil {
		t.Fatal(err)
	}
	s.pages.Invalidate("news") // what publishing does after each change
	if resp, _ := get(t, s.url+"/@news/"+id(r.cw)); resp.StatusCode != http.StatusGone {
		t.Errorf("post deleted after being cached: %d, want 410", resp.StatusCode)
	}
}

// TestTooManyRequests: the remote-follow form is limited per client
// address, with a styled 429 and Retry-After.
func TestTooManyRequests(t *testing.T) {
	s := newSite(t, siteOptions{follows: 2})
	post := func() *http.Response {
		resp, err := noRedirect.PostForm(s.url+"/follow/news", url.Values{"server": {"mastodon.social"}, "lang": {"fr"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for i := range 2 {
		if resp := post(); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("submission %d: %d", i+1, resp.StatusCode)
		}
	}
	resp, err := noRedirect.PostForm(s.url+"/follow/news", url.Values{"server": {"mastodon.social"}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("third submission: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(b.String(), "Too many requests") || !regexp.MustCompile(`wait \d+ seconds`).MatchString(b.String()) {
		t.Errorf("429 page: %s", b.String())
	}
}

// TestProfileAndPostPages: counts, the remote-follow form, pinned posts,
// media with alt text, content warnings in <details>, link-preview
// tags, canonical links and alternates.
func TestProfileAndPostPages(t *testing.T) {
	s := newSite(t, siteOptions{posts: 25, pages: config.Pages{Links: config.PageLinks{
		LegalNotice: "https://city.example/legal", Privacy: "https://city.example/privacy", Contact: "mailto:web@city.example",
	}}})
	r := addRich(t, s)
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: "https://remote.example/users/" + strconv.Itoa(i), Inbox: "https://remote.example/inbox", State: storage.FollowerAccepted}); err != nil {
			t.Fatal(err)
		}
	}
	s.pages.Invalidate("news")
	profile := s.url + "/@news"
	resp, body := get(t, profile)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("profile: %d", resp.StatusCode)
	}
	for _, w := range []string{
		`<li id="count-posts">29 posts</li>`, `<li id="count-followers">3 followers</li>`,
		`<form id="follow" class="follow" method="post" action="/follow/news">`,
		`<section aria-labelledby="pinned-heading">`, "Welcome to our account",
		`<details><summary>Road works</summary>`,
		`alt="The new footbridge over the river" width="800" height="600"`,
		`<a href="` + profile + `?max_id=`, // older posts
		`<meta name="fediverse:creator" content="@news@` + s.host + `">`,
		`<link rel="canonical" href="` + profile + `">`,
		`<link rel="alternate" type="application/activity&#43;json" href="` + s.url + `/users/news">`,
		`<link rel="alternate" type="application/rss&#43;xml" href="` + profile + `.rss" title="RSS">`,
		`<link rel="alternate" type="application/atom&#43;xml" href="` + profile + `.atom" title="Atom">`,
		`<meta property="og:image" content="` + profile + `/card.png">`,
		`<meta property="og:type" content="profile">`,
		`<meta name="twitter:card" content="summary_large_image">`,
		`<meta property="og:description" content="News from the city hall.">`,
		`<a id="footer-legal" href="https://city.example/legal">Legal notice</a>`,
		`<a id="footer-privacy" href="https://city.example/privacy">Privacy</a>`,
		`<a id="footer-contact" href="mailto:web@city.example">Contact</a>`,
		`<a id="footer-accessibility" href="` + profile + `/accessibility">Accessibility: not compliant</a>`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("profile lacks %s", w)
		}
	}
	if strings.Contains(body, "Unlisted") || strings.Contains(body, "A mistake") || strings.Contains(body, "Followers only") {
		t.Error("profile lists an unlisted, deleted or followers-only post")
	}
	// The older posts: the next page, then the rest.
	older := regexp.MustCompile(`href="(` + regexp.QuoteMeta(profile) + `\?max_id=\d+)" rel="next"`).FindStringSubmatch(body)
	if older == nil {
		t.Fatal("no link to older posts")
	}
	resp, body2 := get(t, older[1])
	if resp.StatusCode != http.StatusOK || !strings.Contains(body2, "Public post number 1 ") || strings.Contains(body2, "pinned-heading") {
		t.Errorf("older posts: %d", resp.StatusCode)
	}

	post := profile + "/" + id(r.media)
	resp, body = get(t, post)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("post: %d", resp.StatusCode)
	}
	for _, w := range []string{
		`<meta property="og:type" content="article">`,
		`<meta property="og:image" content="` + s.url + `/media/`,
		`<meta property="og:image:alt" content="The new footbridge over the river">`,
		`<meta property="og:image:width" content="800">`,
		`<meta property="og:description" content="The new bridge #Travaux">`,
		`<meta property="article:published_time" content="2025-03-01T08:30:00Z">`,
		`<link rel="canonical" href="` + post + `">`,
		`<link rel="alternate" type="application/activity&#43;json" href="` + s.url + `/users/news/statuses/` + id(r.media) + `">`,
		`<link rel="alternate" type="application/json&#43;oembed" href="` + s.url + `/api/oembed?url=` + url.QueryEscape(post) + `" title="oEmbed">`,
		`<meta name="fediverse:creator" content="@news@` + s.host + `">`,
		`<form id="follow" class="follow" method="post" action="/follow/news">`,
		`<title>Ville de Test: “The new bridge #Travaux”</title>`,
	} {
		if !strings.Contains(body, w) {
			t.Errorf("post lacks %s", w)
		}
	}
	// A content warning: the preview shows the warning, never the text.
	_, body = get(t, profile+"/"+id(r.cw))
	if !strings.Contains(body, `<meta property="og:description" content="Content warning: Road works">`) || strings.Contains(body, `content="Details of the closure"`) {
		t.Error("a content warning's preview shows what it hides")
	}
	if !strings.Contains(body, `<meta property="og:image" content="`+profile+`/card.png">`) {
		t.Error("post without images does not preview the account's card")
	}
	// The unlisted post has its permalink.
	if resp, _ := get(t, profile+"/"+id(r.unlisted)); resp.StatusCode != http.StatusOK {
		t.Errorf("unlisted permalink: %d", resp.StatusCode)
	}
	// The card.
	resp, card := get(t, profile+"/card.png")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "image/png" || !strings.HasPrefix(card, "\x89PNG") {
		t.Errorf("card: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

// TestProfileRemoteFollow: the profile's form takes the visitor to their
// server, or shows the message on the profile in their language.
func TestProfileRemoteFollow(t *testing.T) {
	s := newSite(t, siteOptions{})
	actor := url.QueryEscape(s.url + "/users/news")
	resp, err := noRedirect.PostForm(s.url+"/follow/news", url.Values{"server": {"@me@Mastodon.Social"}, "lang": {"en"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Without private networks the lookup of mastodon.social cannot be
	// made here: an address falls back to the server's own page only when
	// it answers; a server name needs no lookup.
	if resp.StatusCode != http.StatusBadGateway && resp.StatusCode != http.StatusSeeOther {
		t.Errorf("address: %d", resp.StatusCode)
	}
	resp, err = noRedirect.PostForm(s.url+"/follow/news", url.Values{"server": {"mastodon.social"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "https://mastodon.social/authorize_interaction?uri="+actor {
		t.Errorf("server name: %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = noRedirect.PostForm(s.url+"/follow/news", url.Values{"server": {"javascript:alert(1)"}, "lang": {"fr"}})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(b.String(), "n’est pas un nom de serveur") ||
		!strings.Contains(b.String(), `aria-invalid="true"`) || !strings.Contains(b.String(), `<html lang="fr"`) {
		t.Errorf("hostile input: %d", resp.StatusCode)
	}
	if resp, _ := get(t, s.url+"/follow/news"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET of the form's target: %d", resp.StatusCode)
	}
}
