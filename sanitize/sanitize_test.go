package sanitize

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestHTML(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      string   // exact, when set
		contains  []string // substrings that must stay
		forbidden []string // substrings that must go
	}{
		{name: "mastodon mention and hashtag kept",
			in:       `<p><span class="h-card" translate="no"><a href="https://city.example/@news" class="u-url mention">@<span>news</span></a></span> hello <a href="https://social.example/tags/x" class="mention hashtag" rel="tag">#<span>x</span></a></p>`,
			contains: []string{`<p>`, `class="h-card"`, `class="u-url mention"`, `href="https://city.example/@news"`, `class="mention hashtag"`, `#<span>x</span>`},
		},
		{name: "script removed with its content",
			in: `<p>hi</p><script>alert(document.cookie)</script>`, want: `<p>hi</p>`},
		{name: "style removed with its content",
			in: `<style>p{display:none}</style><p>x</p>`, want: `<p>x</p>`},
		{name: "event handlers removed",
			in: `<p onclick="steal()" onmouseover="x()">click</p><img src=x onerror=alert(1)>`, want: `<p>click</p>`},
		{name: "javascript link removed",
			in: `<a href="javascript:alert(1)">x</a><a href="JaVaScRiPt:alert(1)">y</a>`, want: `xy`},
		{name: "data and relative links removed",
			in: `<a href="data:text/html;base64,PHNjcmlwdD4=">d</a> <a href="/local">r</a>`, want: `d r`},
		{name: "links get nofollow noopener and a new tab",
			in:       `<a href="https://example.org/">e</a>`,
			contains: []string{`href="https://example.org/"`, `nofollow`, `noopener`, `target="_blank"`}},
		{name: "inline CSS removed",
			in: `<p style="position:fixed;top:0;left:0;width:100%;height:100%">overlay</p>`, want: `<p>overlay</p>`},
		{name: "unknown classes removed",
			in: `<span class="sr-only evil">a</span>`, want: `<span>a</span>`},
		{name: "iframes, forms, images removed",
			in: `<iframe src="https://evil.example"></iframe><form action="x"><input name=p></form><img src="https://t.example/p.gif">ok`, want: `ok`},
		{name: "svg and math removed",
			in:        `<svg><script>alert(1)</script></svg><math><mi xlink:href="javascript:alert(1)">m</mi></math>t`,
			forbidden: []string{"<svg", "<math", "script", "javascript"}},
		{name: "right-to-left override removed",
			in: "<p>invoice\u202egpj.exe</p>", want: "<p>invoicegpj.exe</p>"},
		{name: "zero-width flood reduced",
			in: "<p>a" + strings.Repeat("\u200b", 500) + "b</p>", want: "<p>a\u200bb</p>"},
		{name: "combining mark flood reduced",
			in: "<p>Z" + strings.Repeat("\u0336", 80) + "</p>", want: "<p>Z" + strings.Repeat("\u0336", 4) + "</p>"},
		{name: "formatting kept",
			in:   `<p><strong>b</strong> <em>i</em> <code>c</code></p><ul><li>one</li></ul><blockquote>q</blockquote>`,
			want: `<p><strong>b</strong> <em>i</em> <code>c</code></p><ul><li>one</li></ul><blockquote>q</blockquote>`},
		{name: "entities stay escaped",
			in: `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`, want: `<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := HTML(tt.in)
			if tt.want != "" && got != tt.want {
				t.Errorf("HTML() = %q, want %q", got, tt.want)
			}
			for _, c := range tt.contains {
				if !strings.Contains(got, c) {
					t.Errorf("HTML() = %q, lost %q", got, c)
				}
			}
			for _, f := range append(tt.forbidden, "<script", "onerror", "onclick", "javascript:", "style=") {
				if strings.Contains(strings.ToLower(got), strings.ToLower(f)) {
					t.Errorf("HTML() = %q, kept %q", got, f)
				}
			}
		})
	}
}

func TestHTMLBoundsInput(t *testing.T) {
	got := HTML("<p>" + strings.Repeat("a", 2*MaxHTMLBytes) + "</p>")
	if len(got) > MaxHTMLBytes+16 {
		t.Errorf("len = %d, want about %d", len(got), MaxHTMLBytes)
	}
}

func TestPlain(t *testing.T) {
	got := Plain(`<p>Hello <a href="https://x.example">@<span>bob</span></a></p><p>second&amp;line<br>third</p><script>x()</script>`)
	want := "Hello @bob second&line third"
	if got != want {
		t.Errorf("Plain() = %q, want %q", got, want)
	}
}

func TestName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain", "Ville de Test", 0, "Ville de Test"},
		{"NFC normalised", "Cafe\u0301", 0, "Café"},
		{"right-to-left override removed", "admin\u202eelpmaxe.moc", 0, "adminelpmaxe.moc"},
		{"isolates and marks removed", "\u2067evil\u2069\u200f", 0, "evil"},
		{"control characters removed", "a\x00b\x1bc\u0085d", 0, "abcd"},
		{"newlines become spaces", "line one\nline\ttwo", 0, "line one line two"},
		{"zero-width joiner flood reduced", "x" + strings.Repeat("\u200d", 1000) + "y", 0, "x\u200dy"},
		{"zero-width only is empty", strings.Repeat("\u200b", 20), 0, ""},
		{"hangul filler blank name is empty", "\u3164\u3164", 0, ""},
		{"emoji sequence kept", "👩\u200d🚒 fire", 0, "👩\u200d🚒 fire"},
		{"flag tag sequence kept", "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F", 0, "🏴\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"},
		{"smuggled tag characters removed", "hi\U000E0041\U000E0042", 0, "hi"},
		{"capped in graphemes", "abcdefghij", 5, "abcd…"},
		{"cap counts emoji as one", "👩\u200d🚒👩\u200d🚒👩\u200d🚒", 2, "👩\u200d🚒…"},
		{"zalgo reduced", "Z" + strings.Repeat("\u0336", 50) + "a", 0, "Z" + strings.Repeat("\u0336", 4) + "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Name(tt.in, tt.max); got != tt.want {
				t.Errorf("Name(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	got := Text("  first line\r\n\n\n\nsecond\u202e line \x07\n", 0)
	if want := "first line\n\nsecond line"; got != want {
		t.Errorf("Text() = %q, want %q", got, want)
	}
	if got := Text(strings.Repeat("é", 3000), 1000); utf8.RuneCountInString(got) != 1000 {
		t.Errorf("capped text has %d runes, want 1000", utf8.RuneCountInString(got))
	}
}

func TestUnsafe(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"clean", `<p>hello <a href="https://x.example">x</a></p>`, nil},
		{"script", `<p>x</p><script>alert(1)</script>`, []string{"active element"}},
		{"handler and javascript", `<a href="javascript:x()" onclick="y()">z</a>`, []string{"event handler", "script or data URL"}},
		{"style", `<p style="display:none">x</p>`, []string{"inline style"}},
		{"override", "admin\u202eexe.txt", []string{"bidirectional override"}},
		{"flood", strings.Repeat("\u200b", 50), []string{"invisible character flood"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Unsafe(tt.in)
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("Unsafe = %v, want %v", got, tt.want)
			}
		})
	}
}
