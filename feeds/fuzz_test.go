package feeds_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/feeds"
	"github.com/passerelle/passerelle/render"
)

// FuzzParse feeds the parser what a website may serve: every entry it
// keeps has an id to be recognised by, at most MaxEntryID bytes of valid
// UTF-8, absolute http(s) links only, and a post text that fits whenever
// the template's fixed parts do. Seeded with testdata/*.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"version":"https://jsonfeed.org/version/1.1","title":"J","items":[{"id":"1","url":"/a","title":"<b>T</b>","content_html":"<p>x</p>"}]}`))
	f.Add([]byte(`<rss version="2.0"><channel><item><guid></guid><title>only a title</title></item></channel></rss>`))
	f.Add([]byte(`<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>x</id><link href="javascript:alert(1)"/></entry></feed>`))
	base, _ := url.Parse("https://www.city.example/news/feed.xml")
	f.Fuzz(func(t *testing.T, body []byte) {
		feed, err := feeds.Parse(body, base)
		if err != nil {
			return
		}
		for _, e := range feed.Entries {
			if e.ID == "" || len(e.ID) > feeds.MaxEntryID+len("sha256:") || !utf8.ValidString(e.ID) {
				t.Fatalf("entry id %q", e.ID)
			}
			if e.Link != "" && !strings.HasPrefix(e.Link, "http://") && !strings.HasPrefix(e.Link, "https://") {
				t.Fatalf("link %q is not http(s)", e.Link)
			}
			text := feeds.PostText("{title}\n\n{summary}", e, "", 500)
			if n := render.CountCharacters(text); n > 500 {
				t.Fatalf("post text of %d characters: %q", n, text)
			}
			feeds.PostText(config.DefaultFeedTemplate, e, "#CityNews", 500)
		}
	})
}
