package sanitize

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rivo/uniseg"
	"golang.org/x/net/html"
)

// allowed is what HTML may return: Mastodon's elements and attributes.
var allowed = map[string][]string{
	"p": nil, "br": nil, "del": nil, "s": nil, "pre": nil, "blockquote": nil, "code": nil,
	"b": nil, "strong": nil, "u": nil, "i": nil, "em": nil, "ul": nil, "li": {"value"},
	"ol":   {"start", "reversed"},
	"span": {"class", "translate"},
	"a":    {"href", "class", "translate", "rel", "target"},
}

// FuzzHTML: whatever a remote server sends, the sanitised HTML holds only
// Mastodon's elements and attributes, links only to http(s), and valid
// UTF-8 without direction overrides.
func FuzzHTML(f *testing.F) {
	for _, s := range []string{
		`<p>Hello <a href="https://x.example/@a" class="u-url mention">@<span>a</span></a></p>`,
		`<script>alert(1)</script><img src=x onerror=alert(1)>`,
		`<a href="javascript:alert(1)">x</a><a href="data:text/html,x">y</a>`,
		`<p style="color:red" onclick="x()">a<br>b</p><iframe src="https://e.example"></iframe>`,
		"\u202eevil\u202c <b>bold</b> <ol start=\"3\" reversed><li value=\"2\">x</li></ol>",
		`<svg><a xlink:href="javascript:x">y</a></svg><math><mi>x</mi></math>`,
		"<p>\xff\xfe</p><a href=\"HTTPS://E.EXAMPLE\">z</a>",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out := HTML(in)
		if !utf8.ValidString(out) {
			t.Fatalf("invalid UTF-8 out of %q", in)
		}
		z := html.NewTokenizer(strings.NewReader(out))
		for {
			tt := z.Next()
			if tt == html.ErrorToken {
				break
			}
			if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
				continue
			}
			tok := z.Token()
			attrs, ok := allowed[tok.Data]
			if !ok {
				t.Fatalf("element <%s> kept, from %q: %q", tok.Data, in, out)
			}
			for _, a := range tok.Attr {
				if !contains(attrs, a.Key) {
					t.Fatalf("attribute %s on <%s> kept, from %q: %q", a.Key, tok.Data, in, out)
				}
				if u, err := url.Parse(a.Val); a.Key == "href" && (err != nil || u.Scheme != "http" && u.Scheme != "https") {
					t.Fatalf("link to %q kept, from %q", a.Val, in)
				}
			}
		}
		for _, r := range out {
			if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
				t.Fatalf("direction override %U kept, from %q", r, in)
			}
		}
	})
}

// FuzzName: a name is valid UTF-8, one line, capped, without direction
// overrides.
func FuzzName(f *testing.F) {
	for _, s := range []string{"Ville de Test", "\u202eevil", "a\u200b\u200b\u200b\u200bb", "e\u0301\u0301\u0301\u0301\u0301\u0301", "a\nb\tc", "\xff"} {
		f.Add(s, 10)
	}
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max > 1000 {
			max = 1000
		}
		out := Name(in, max)
		if !utf8.ValidString(out) || strings.ContainsAny(out, "\n\r\t") {
			t.Fatalf("Name(%q) = %q", in, out)
		}
		limit := max
		if limit <= 0 {
			limit = MaxNameGraphemes
		}
		if n := uniseg.GraphemeClusterCount(out); n > limit+1 { // +1: a cut name ends with "…"
			t.Fatalf("Name(%q, %d) has %d graphemes", in, max, n)
		}
		for _, r := range out {
			if r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 {
				t.Fatalf("direction override %U kept in %q", r, out)
			}
		}
		_ = Text(in, max)
		_ = Plain(in)
	})
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
