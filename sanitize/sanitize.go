package sanitize

import (
	"html"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/microcosm-cc/bluemonday"
	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"
)

// Limits.
const (
	// MaxHTMLBytes bounds the HTML that is sanitised: longer input is cut
	// first (the sanitiser drops the tag the cut leaves open).
	MaxHTMLBytes = 64 << 10
	// MaxNameGraphemes is the default cap of display names.
	MaxNameGraphemes = 100
	// maxCombining is how many combining marks one character keeps.
	maxCombining = 4
)

// classRE is the class values Mastodon keeps on links and spans:
// microformats (h-card, u-url...), mention, hashtag and the link
// shortening classes.
var classRE = regexp.MustCompile(`^((h|p|u|dt|e)-[a-z-]+|mention|hashtag|ellipsis|invisible)( ((h|p|u|dt|e)-[a-z-]+|mention|hashtag|ellipsis|invisible))*$`)

// mastodon is Mastodon's own policy for remote HTML (Sanitize::Config::
// MASTODON_STRICT): a handful of text elements, links to http(s) only,
// which get rel="nofollow noopener noreferrer" and target="_blank".
var mastodon = func() *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "span", "del", "s", "pre", "blockquote", "code",
		"b", "strong", "u", "i", "em", "ul", "ol", "li")
	p.AllowAttrs("href").OnElements("a")
	p.AllowAttrs("class").Matching(classRE).OnElements("a", "span")
	p.AllowAttrs("translate").Matching(regexp.MustCompile(`^no$`)).OnElements("a", "span")
	p.AllowAttrs("start").Matching(regexp.MustCompile(`^[0-9]{1,6}$`)).OnElements("ol")
	p.AllowAttrs("reversed").Matching(regexp.MustCompile(`^(reversed)?$`)).OnElements("ol")
	p.AllowAttrs("value").Matching(regexp.MustCompile(`^[0-9]{1,6}$`)).OnElements("li")
	p.AllowURLSchemes("http", "https")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(false)
	p.RequireNoFollowOnLinks(true)
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return p
}()

// strict keeps no element at all (text only).
var strict = bluemonday.StrictPolicy()

// HTML returns remote HTML (a post's content) reduced to what Mastodon
// shows: scripts, styles, event handlers, forms, images, iframes and
// javascript: or data: links are removed, and the text is cleaned as
// Text cleans it.
func HTML(s string) string {
	if len(s) > MaxHTMLBytes {
		s = s[:MaxHTMLBytes]
	}
	return strings.TrimSpace(cleanRunes(norm.NFC.String(mastodon.Sanitize(s)), true))
}

// Plain returns the text of remote HTML: tags removed, entities decoded,
// cleaned as Text is (for keyword matching and plain-text displays).
func Plain(s string) string {
	if len(s) > MaxHTMLBytes {
		s = s[:MaxHTMLBytes]
	}
	// Block boundaries become spaces, so that words do not run together.
	s = blockRE.ReplaceAllString(s, " ")
	return Text(html.UnescapeString(strict.Sanitize(s)), 0)
}

var blockRE = regexp.MustCompile(`(?i)<(br|/p|/li|/blockquote|/pre)\b[^>]*>`)

// Name returns a display name or similar one-line label: NFC-normalised,
// without control, bidirectional or filler characters, floods of
// zero-width characters or combining marks reduced, whitespace collapsed,
// at most max graphemes (max <= 0: MaxNameGraphemes), "…" marking a cut.
// It may return "" (a name made of nothing visible): callers then fall
// back to the username.
func Name(s string, max int) string {
	if max <= 0 {
		max = MaxNameGraphemes
	}
	s = cleanRunes(norm.NFC.String(s), false)
	s = strings.Join(strings.Fields(s), " ")
	s = strings.Trim(s, zeroWidth)
	return capGraphemes(s, max)
}

// Text returns plain text (a report's comment): like Name, but line breaks
// are kept (at most two in a row) and max <= 0 means no cap.
func Text(s string, max int) string {
	s = cleanRunes(norm.NFC.String(strings.ReplaceAll(s, "\r\n", "\n")), true)
	lines := strings.Split(s, "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.Join(strings.Fields(l), " ")
		if l == "" {
			blank++
			if blank > 1 || len(out) == 0 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	s = strings.TrimSpace(strings.Join(out, "\n"))
	if max > 0 {
		s = capGraphemes(s, max)
	}
	return s
}

// zeroWidth are the invisible characters whose runs are reduced to one:
// joiners and non-joiners are needed by emoji sequences and some scripts,
// never many in a row.
const zeroWidth = "\u200b\u200c\u200d\u2060\ufeff"

// isBidiControl reports the characters that change the direction of the
// text around them: embeddings, overrides, isolates and marks. Spoofed
// names ("moc.elpmaxe") and runaway right-to-left text come from these.
func isBidiControl(r rune) bool {
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) ||
		r == 0x200e || r == 0x200f || r == 0x061c
}

// isFiller reports blank "letters" used to make names look empty.
func isFiller(r rune) bool {
	return r == 0x3164 || r == 0xffa0 || r == 0x115f || r == 0x1160
}

func isVariationSelector(r rune) bool {
	return (r >= 0xfe00 && r <= 0xfe0f) || (r >= 0xe0100 && r <= 0xe01ef)
}

// isTag reports the Unicode tag characters, which only belong in flag
// emoji sequences (after U+1F3F4) and are otherwise used to smuggle
// invisible text.
func isTag(r rune) bool { return r >= 0xe0000 && r <= 0xe007f }

// cleanRunes removes control characters (newlines and tabs kept when
// multiline, else turned into spaces), bidirectional controls, fillers,
// misplaced tag characters, and reduces runs of zero-width characters and
// variation selectors to one and of combining marks to maxCombining.
func cleanRunes(s string, multiline bool) string {
	var b strings.Builder
	b.Grow(len(s))
	var (
		prev      rune = -1
		combining int
		inFlag    bool
	)
	for len(s) > 0 {
		r, size := utf8.DecodeRuneInString(s)
		s = s[size:]
		if r == utf8.RuneError && size == 1 {
			continue
		}
		switch {
		case r == '\n' || r == '\t':
			if !multiline {
				r = ' '
			} else if r == '\t' {
				r = ' '
			}
		case unicode.IsControl(r), isBidiControl(r), isFiller(r), r == 0xfffc, r == 0xfffd:
			continue
		case isTag(r):
			if !inFlag {
				continue
			}
		case strings.ContainsRune(zeroWidth, r) || isVariationSelector(r):
			if prev >= 0 && (strings.ContainsRune(zeroWidth, prev) || isVariationSelector(prev)) {
				continue
			}
		case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
			combining++
			if combining > maxCombining {
				continue
			}
		}
		if !(unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r)) {
			combining = 0
		}
		inFlag = r == 0x1f3f4 || (inFlag && isTag(r))
		b.WriteRune(r)
		prev = r
	}
	return b.String()
}

// capGraphemes cuts s to max grapheme clusters, ending it with "…" when
// cut.
func capGraphemes(s string, max int) string {
	if uniseg.GraphemeClusterCount(s) <= max {
		return s
	}
	g := uniseg.NewGraphemes(s)
	var b strings.Builder
	for n := 0; n < max-1 && g.Next(); n++ {
		b.WriteString(g.Str())
	}
	return strings.TrimSpace(b.String()) + "…"
}

// unsafeHTML are the constructs HTML loses, named for logs.
var unsafeHTML = []struct {
	re   *regexp.Regexp
	name string
}{
	{regexp.MustCompile(`(?i)<\s*(script|style|iframe|object|embed|form|svg|math|meta|link|base)\b`), "active element"},
	{regexp.MustCompile(`(?i)\son[a-z]+\s*=`), "event handler"},
	{regexp.MustCompile(`(?i)(javascript|vbscript|data)\s*:`), "script or data URL"},
	{regexp.MustCompile(`(?i)\sstyle\s*=`), "inline style"},
}

// Unsafe names what HTML or a name would lose to sanitising that could
// harm or deceive (scripts, event handlers, script URLs, inline styles,
// direction overrides, invisible-character floods), for the log line of
// the activity that carried it; nil when there is none.
func Unsafe(s string) []string {
	if len(s) > MaxHTMLBytes {
		s = s[:MaxHTMLBytes]
	}
	var out []string
	for _, u := range unsafeHTML {
		if u.re.MatchString(s) {
			out = append(out, u.name)
		}
	}
	bidi, zw := false, 0
	for _, r := range s {
		switch {
		case isBidiControl(r) && r != 0x200e && r != 0x200f:
			bidi = true
		case strings.ContainsRune(zeroWidth, r):
			zw++
		}
	}
	if bidi {
		out = append(out, "bidirectional override")
	}
	if zw > 16 {
		out = append(out, "invisible character flood")
	}
	return out
}
