package render

import (
	"strings"

	// uniseg segments text into extended grapheme clusters (UAX #29), which
	// is how Mastodon counts; the standard library has no segmenter. Small,
	// dependency-free and widely used (it underlies most Go terminal UIs).
	"github.com/rivo/uniseg"
)

// URLLength is what every URL counts for, whatever its real length.
const URLLength = 23

// CountCharacters counts text the way Mastodon's StatusLengthValidator
// does before comparing with the 500-character limit: every URL counts as
// URLLength characters, a mention "@user@domain" counts as "@user", and the
// result is measured in extended grapheme clusters (user-perceived
// characters), so "é" written as e + U+0301, a flag or a family emoji
// each count as one.
//
// Grapheme clusters, not code points: Mastodon's countable_length is
// str.each_grapheme_cluster.size (mb_chars.grapheme_length before 4.0), and
// its web composer counts with stringz, which also treats an emoji sequence
// as one. Counting code points (Ruby's String#length) would reject posts
// the Mastodon apps show as fitting.
//
// Mastodon counts the content warning and the text together: add
// CountCharacters(spoilerText). Hashtags count in full.
func CountCharacters(text string) int {
	var b strings.Builder
	last := 0
	for _, e := range extractEntities(text, false) {
		b.WriteString(text[last:e.start])
		switch e.kind {
		case kindURL:
			b.WriteString(strings.Repeat("x", URLLength))
		case kindMention:
			b.WriteString("@")
			b.WriteString(e.name)
		}
		last = e.end
	}
	if last == 0 {
		return uniseg.GraphemeClusterCount(text)
	}
	b.WriteString(text[last:])
	return uniseg.GraphemeClusterCount(b.String())
}
