package render

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"golang.org/x/net/html"
)

// resolveAll resolves every mention, to exercise the h-card markup.
type resolveAll struct{}

func (resolveAll) ResolveMention(_ context.Context, username, domain string) (string, string, error) {
	return "https://" + domain + "/users/" + username, "https://" + domain + "/@" + username + `"<&>'`, nil
}

var fuzzSeeds = []string{
	"",
	"Hello\n\nworld\r\n",
	"<script>alert('x')</script> & \"q\" &amp;",
	"https://en.wikipedia.org/wiki/Bonn_(city)). https://example.com/a?b=c&d=e#f!",
	"(https://a.example/a_(b_(c)_d)) https://a.example/((( https://a.example/a_(b",
	"#tag #Tag ＃東京 #2024 #1_2 #a·b· foo#bar #newshttps://example.com",
	"@news @alice@remote.example, a@b.example @x@ @é @news://x =@y /@z",
	"\u202eRTL\u202c \u200f שלום 👩\u200d👩\u200d👧 🇫🇷 e\u0301 Z\u0351\u0336",
	"a\xffb\x00c\u0085\ufdd0\uffff",
	"https://" + strings.Repeat("a.", 50) + "com/" + strings.Repeat("(x)", 20),
	"HTTPS://WWW.EXAMPLE.COM/ https://user@example.com/ http://192.0.2.1 https://xn--80ak6aa92e.xn--p1ai",
	strings.Repeat("@u", 30) + strings.Repeat(" @a@b.example", 25),
}

func FuzzText(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	if files, _ := filepath.Glob("testdata/*.txt"); files != nil {
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(string(b))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		opts := Options{TagURLPrefix: tagPrefix, LocalDomain: local}

		// Without a resolver every character of the input is still there,
		// in order, once the markup is taken away.
		res := Text(context.Background(), in, opts)
		if err := validHTML(res.HTML); err != nil {
			t.Fatalf("Text(%q): %v\n%s", in, err, res.HTML)
		}
		want := stripSpace(strings.ReplaceAll(sanitize(in), "＃", "#"))
		if got := stripSpace(strings.ReplaceAll(visibleText(res.HTML), "＃", "#")); got != want {
			t.Fatalf("Text(%q) lost or changed text:\n got %q\nwant %q\n%s", in, got, want, res.HTML)
		}
		for _, l := range res.Links {
			if !strings.HasPrefix(strings.ToLower(l), "http") {
				t.Fatalf("link %q", l)
			}
		}

		opts.Resolver = resolveAll{}
		res = Text(context.Background(), in, opts)
		if err := validHTML(res.HTML); err != nil {
			t.Fatalf("Text(%q) with mentions: %v\n%s", in, err, res.HTML)
		}
		if len(res.Mentions) > MaxMentions {
			t.Fatalf("%d mentions", len(res.Mentions))
		}

		urls := 0
		for _, e := range extractEntities(in, false) {
			if e.kind == kindURL {
				urls++
			}
		}
		if n := CountCharacters(in); n < 0 || n > len(in)+URLLength*urls {
			t.Fatalf("CountCharacters(%q) = %d", in, n)
		}
	})
}

func visibleText(h string) string {
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(h))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			b.Write(z.Text())
		}
	}
}

func stripSpace(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, s)
}
