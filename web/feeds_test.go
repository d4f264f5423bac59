package web_test

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// TestFeedsParse: the account's and the tag's RSS 2.0 and Atom feeds,
// read by gofeed (a real consumer: the parser behind many Go readers),
// with the posts, their images as enclosures and their hashtags; the
// npm consumer reads them in the browser harness (e2e/browser/pages.mjs).
func TestFeedsParse(t *testing.T) {
	s := newSite(t, siteOptions{posts: 3})
	r := addRich(t, s)
	tests := []struct {
		name, path, feedType, contentType string
		items                             int
		title                             string
	}{
		{name: "account RSS", path: "/@news.rss", feedType: "rss", contentType: "application/rss+xml; charset=utf-8", items: 6, title: "Ville de Test (@news@" + s.host + ")"},
		{name: "account Atom", path: "/@NEWS.atom", feedType: "atom", contentType: "application/atom+xml; charset=utf-8", items: 6, title: "Ville de Test (@news@" + s.host + ")"},
		{name: "tag RSS", path: "/tags/travaux.rss", feedType: "rss", contentType: "application/rss+xml; charset=utf-8", items: 1, title: "#travaux"},
		{name: "tag Atom", path: "/tags/Travaux.atom", feedType: "atom", contentType: "application/atom+xml; charset=utf-8", items: 1, title: "#travaux"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, s.url+tt.path)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tt.contentType {
				t.Fatalf("%d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if err := xml.Unmarshal([]byte(body), new(any)); err != nil {
				t.Fatalf("not well-formed XML: %v", err)
			}
			f, err := gofeed.NewParser().ParseString(body)
			if err != nil {
				t.Fatalf("gofeed: %v", err)
			}
			if f.FeedType != tt.feedType || f.Title != tt.title || len(f.Items) != tt.items {
				t.Fatalf("gofeed read %s %q with %d items, want %s %q with %d", f.FeedType, f.Title, len(f.Items), tt.feedType, tt.title, tt.items)
			}
			// The post with images, as the feed reader sees it.
			var item *gofeed.Item
			for _, it := range f.Items {
				if it.Link == s.url+"/@news/"+id(r.media) {
					item = it
				}
			}
			if item == nil {
				t.Fatal("the post with images is not in the feed")
			}
			if len(item.Enclosures) == 0 || !strings.HasPrefix(item.Enclosures[0].URL, s.url+"/media/") ||
				item.Enclosures[0].Type != "image/png" || item.Enclosures[0].Length != "4321" {
				t.Errorf("enclosures = %+v", item.Enclosures)
			}
			if tt.feedType == "atom" && len(item.Enclosures) != 2 {
				t.Errorf("Atom enclosures: %d, want 2", len(item.Enclosures))
			}
			if !strings.Contains(item.Content+item.Description, `alt="The new footbridge over the river"`) {
				t.Errorf("content lacks the image's alt text: %q", item.Content+item.Description)
			}
			if !strings.Contains(strings.Join(item.Categories, ","), "Travaux") {
				t.Errorf("categories = %v", item.Categories)
			}
			if item.PublishedParsed == nil || item.PublishedParsed.UTC().Format("2006-01-02T15:04") != "2025-03-01T08:30" {
				t.Errorf("published = %v", item.PublishedParsed)
			}
			if strings.Contains(body, "A mistake") || strings.Contains(body, "Followers only") || strings.Contains(body, ">Unlisted<") {
				t.Error("feed carries a deleted, followers-only or unlisted post")
			}
			if resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
				t.Error("feed without validators")
			}
		})
	}
	// The content warning leads the entry, and is the Atom entry's summary.
	_, atom := get(t, s.url+"/@news.atom")
	f, err := gofeed.NewParser().ParseString(atom)
	if err != nil {
		t.Fatal(err)
	}
	for _, it := range f.Items {
		if it.Link == s.url+"/@news/"+id(r.cw) && (it.Title != "Road works" || it.Description != "Road works") {
			t.Errorf("CW entry: title %q summary %q", it.Title, it.Description)
		}
	}
}

// TestEmbedAndOEmbed: /@NAME/ID/embed may be framed by any site and
// /api/oembed answers as Mastodon's.
func TestEmbedAndOEmbed(t *testing.T) {
	s := newSite(t, siteOptions{posts: 1})
	r := addRich(t, s)
	post := s.url + "/@news/" + id(r.media)
	resp, body := get(t, post+"/embed")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("embed: %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors *") || strings.Contains(csp, "script-src") {
		t.Errorf("embed CSP = %q", csp)
	}
	if !strings.Contains(body, `alt="The new footbridge over the river"`) || !strings.Contains(body, `<a href="`+post+`" target="_blank" rel="noopener">View on `+s.host+`</a>`) {
		t.Error("embed lacks the post or its link")
	}
	if c := mustGet(t, post).Header.Get("Content-Security-Policy"); !strings.Contains(c, "frame-ancestors 'none'") {
		t.Errorf("the post page itself may be framed: %q", c)
	}

	tests := []struct {
		name, query string
		status      int
		width       float64
	}{
		{name: "permalink", query: "url=" + url.QueryEscape(post), status: 200, width: 400},
		{name: "AS2 id", query: "url=" + url.QueryEscape(s.url+"/users/news/statuses/"+id(r.media)), status: 200, width: 400},
		{name: "maxwidth", query: "url=" + url.QueryEscape(post) + "&maxwidth=300", status: 200, width: 300},
		{name: "maxwidth too small", query: "url=" + url.QueryEscape(post) + "&maxwidth=10", status: 200, width: 250},
		{name: "maxwidth junk", query: "url=" + url.QueryEscape(post) + "&maxwidth=abc", status: 400},
		{name: "xml", query: "url=" + url.QueryEscape(post) + "&format=xml", status: 501},
		{name: "deleted", query: "url=" + url.QueryEscape(s.url+"/@news/"+id(r.deleted)), status: 410},
		{name: "unknown post", query: "url=" + url.QueryEscape(s.url+"/@news/99999"), status: 404},
		{name: "another site", query: "url=" + url.QueryEscape("https://elsewhere.example/@news/1"), status: 404},
		{name: "unknown account", query: "url=" + url.QueryEscape(s.url+"/@nobody/1"), status: 404},
		{name: "no url", query: "", status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := get(t, s.url+"/api/oembed?"+tt.query)
			if resp.StatusCode != tt.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("%d %q: %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if tt.status != 200 {
				return
			}
			var o map[string]any
			if err := json.Unmarshal([]byte(body), &o); err != nil {
				t.Fatal(err)
			}
			if o["type"] != "rich" || o["version"] != "1.0" || o["author_name"] != "Ville de Test" || o["author_url"] != s.url+"/@news" ||
				o["provider_url"] != s.url+"/" || o["width"] != tt.width || o["height"] != nil {
				t.Errorf("oEmbed = %s", body)
			}
			h, _ := o["html"].(string)
			if !strings.HasPrefix(h, `<iframe src="`+post+`/embed" class="mastodon-embed"`) || strings.Contains(h, "<script") {
				t.Errorf("oEmbed html = %q", h)
			}
		})
	}
}

func mustGet(t *testing.T, u string) *http.Response {
	t.Helper()
	resp, _ := get(t, u)
	return resp
}
