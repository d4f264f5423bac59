package atproto

import (
	"strings"
	"unicode"
	"unicode/utf8"

	// uniseg implements Unicode's text segmentation (UAX #29 grapheme
	// clusters, words and sentences; UAX #14 line breaks). Bluesky counts
	// a post's length in grapheme clusters, and threads are cut at sentence,
	// then line-break (word), boundaries. Already used by package render.
	"github.com/rivo/uniseg"

	"github.com/passerelle/passerelle/render"
)

// Bluesky's limits (app.bsky.feed.post and app.bsky.richtext.facet).
const (
	MaxGraphemes    = 300
	MaxBytes        = 3000
	MaxTagGraphemes = 64
	MaxTagBytes     = 640
	MaxImages       = 4 // per record (app.bsky.embed.images)
	MaxLangs        = 3
)

// FacetKind is what a facet links.
type FacetKind int

// Kinds of facet.
const (
	FacetLink FacetKind = iota
	FacetTag
	FacetMention
)

// Facet is a span of a post's text with its feature, before it is turned
// into an app.bsky.richtext.facet. Start and End are UTF-8 byte offsets
// into the text of the record it belongs to (End exclusive).
type Facet struct {
	Kind       FacetKind
	Start, End int
	// Value is the full URI (link), the tag without '#' (tag) or the
	// Bluesky handle (mention; the record needs its DID, resolved later).
	Value string
}

// Text is the text of one record and its facets.
type Text struct {
	Text   string
	Facets []Facet
}

// Graphemes counts the grapheme clusters of s (user-perceived
// characters), as Bluesky does.
func Graphemes(s string) int { return uniseg.GraphemeClusterCount(s) }

// fits reports whether s is within Bluesky's post limits.
func fits(s string, maxGraphemes, maxBytes int) bool {
	return len(s) <= maxBytes && Graphemes(s) <= maxGraphemes
}

// ComposeOptions say how a post's source text becomes Bluesky text.
type ComposeOptions struct {
	// Handles maps lower-cased fediverse handles (user@domain) to Bluesky
	// handles: mentions of those become Bluesky mentions.
	Handles map[string]string
	// LocalDomain is the domain of our own handles: "@user" means
	// "@user@LocalDomain".
	LocalDomain string
}

// Compose turns a post's source text (as written, the way the fediverse
// rendering reads it) and its content warning into one plain text with its
// facets:
//
//   - the content warning, when there is one, leads the text ("CW: ..."
//     and a blank line): Bluesky has no free-text warning;
//   - links show Mastodon's shortened text (no scheme, at most 30
//     characters and "…") and link the full URL;
//   - hashtags keep their text and get a tag facet (without '#') unless
//     longer than Bluesky's tag limit;
//   - a mention of an account in opts.Handles becomes "@bluesky.handle"
//     with a mention facet, and so does a Bluesky handle written as one
//     ("@alice.bsky.social": a name with a dot and no domain, which none
//     of our usernames is); other mentions stay text, written in full
//     ("@user@domain").
//
// URLs, hashtags and mentions are found by package render's extractor, so
// Bluesky links exactly what the fediverse rendering links.
func Compose(text, warning string, opts ComposeOptions) Text {
	var b strings.Builder
	var facets []Facet
	if w := strings.TrimSpace(render.Sanitize(warning)); w != "" {
		b.WriteString("CW: ")
		b.WriteString(w)
		b.WriteString("\n\n")
	}
	s := strings.TrimSpace(render.Sanitize(text))
	last := 0
	for _, e := range render.Entities(s) {
		b.WriteString(s[last:e.Start])
		last = e.End
		switch e.Kind {
		case render.EntityURL:
			start := b.Len()
			b.WriteString(render.ShortURL(e.Name))
			facets = append(facets, Facet{Kind: FacetLink, Start: start, End: b.Len(), Value: e.Name})
		case render.EntityTag:
			start := b.Len()
			b.WriteString(s[e.Start:e.End])
			if Graphemes(e.Name) <= MaxTagGraphemes && len(e.Name) <= MaxTagBytes {
				facets = append(facets, Facet{Kind: FacetTag, Start: start, End: b.Len(), Value: e.Name})
			}
		case render.EntityMention:
			domain := e.Domain
			if domain == "" {
				domain = opts.LocalDomain
			}
			key := strings.ToLower(e.Name + "@" + domain)
			if h, ok := opts.Handles[key]; ok && h != "" {
				start := b.Len()
				b.WriteString("@" + h)
				facets = append(facets, Facet{Kind: FacetMention, Start: start, End: b.Len(), Value: h})
			} else if e.Domain == "" && strings.Contains(e.Name, ".") {
				// Our usernames have no dot: "@alice.bsky.social" is a
				// Bluesky handle (what a Mastodon app writes when
				// answering a Bluesky account, whose acct it is).
				start := b.Len()
				b.WriteString(s[e.Start:e.End])
				facets = append(facets, Facet{Kind: FacetMention, Start: start, End: b.Len(), Value: strings.ToLower(e.Name)})
			} else if e.Domain == "" && opts.LocalDomain != "" {
				b.WriteString("@" + e.Name + "@" + opts.LocalDomain)
			} else {
				b.WriteString(s[e.Start:e.End])
			}
		}
	}
	b.WriteString(s[last:])
	return Text{Text: b.String(), Facets: facets}
}

// minSentenceFill is the share of a record a sentence must fill for a
// thread to be cut after it: a cut at a sentence boundary very early in
// the record would make a needlessly long thread of short posts.
const minSentenceFill = 3 // a third

// Split cuts t into records of at most maxGraphemes grapheme clusters and
// maxBytes bytes each: after the last sentence that ends in the record's
// second or third third (UAX #29 sentence boundaries, which include
// paragraph ends), else at the last line-break opportunity (UAX #14: after
// a word and its spaces, between ideographs), else between two grapheme
// clusters. It never cuts inside a link, hashtag or mention unless one is
// longer than a whole record. White space around cuts is dropped. Each
// record's facets are t's, shifted to the record's own bytes, so they are
// computed on the final text. A text that fits is returned as is.
func Split(t Text, maxGraphemes, maxBytes int) []Text {
	if fits(t.Text, maxGraphemes, maxBytes) {
		return []Text{t}
	}
	var out []Text
	s := t.Text
	start := skipSpace(s, 0)
	for start < len(s) {
		if fits(s[start:], maxGraphemes, maxBytes) {
			out = append(out, slice(t, start, trimEnd(s, len(s))))
			break
		}
		cut := findCut(s, start, maxGraphemes, maxBytes, t.Facets, true)
		out = append(out, slice(t, start, trimEnd(s, cut)))
		start = skipSpace(s, cut)
	}
	return out
}

// Truncate shortens t to at most maxGraphemes and maxBytes once suffix is
// appended: cut at the last line-break opportunity (a word boundary) that
// leaves room, with white space dropped, then suffix (for example "…" and
// a link) with its facets, whose offsets are relative to the suffix. A text
// that fits is returned unchanged and truncated is false.
func Truncate(t Text, suffix Text, maxGraphemes, maxBytes int) (out Text, truncated bool) {
	if fits(t.Text, maxGraphemes, maxBytes) {
		return t, false
	}
	g := maxGraphemes - Graphemes(suffix.Text)
	n := maxBytes - len(suffix.Text)
	start := skipSpace(t.Text, 0)
	cut := start
	if g > 0 && n > 0 {
		cut = findCut(t.Text, start, g, n, t.Facets, false)
	}
	out = slice(t, start, trimEnd(t.Text, cut))
	base := len(out.Text)
	out.Text += suffix.Text
	for _, f := range suffix.Facets {
		f.Start += base
		f.End += base
		out.Facets = append(out.Facets, f)
	}
	return out, true
}

// findCut returns the byte offset, after start, where a record starting at
// start should end. s[start:] does not fit in the limits.
func findCut(s string, start, maxGraphemes, maxBytes int, facets []Facet, sentences bool) int {
	var (
		sentence, line, cluster = -1, -1, -1 // best cuts found so far
		count                   int
		state                   = -1
		rest                    = s[start:]
		pos                     = start
	)
	for len(rest) > 0 {
		c, r, boundaries, st := uniseg.StepString(rest, state)
		if count+1 > maxGraphemes || pos+len(c)-start > maxBytes {
			break
		}
		count++
		pos += len(c)
		rest, state = r, st
		if insideFacet(facets, pos) {
			continue
		}
		cluster = pos
		if boundaries&uniseg.MaskLine != uniseg.LineDontBreak {
			line = pos
		}
		if sentences && boundaries&uniseg.MaskSentence != 0 && count*minSentenceFill >= maxGraphemes {
			sentence = pos
		}
	}
	switch {
	case sentence > start && trimEnd(s, sentence) > start:
		return sentence
	case line > start && trimEnd(s, line) > start:
		return line
	case cluster > start:
		return cluster
	}
	// A facet longer than a whole record: cut inside it, between grapheme
	// clusters (the facet is dropped).
	return hardCut(s, start, maxGraphemes, maxBytes)
}

// hardCut is the end of the longest run of whole grapheme clusters from
// start that fits, at least one cluster.
func hardCut(s string, start, maxGraphemes, maxBytes int) int {
	pos, count, state := start, 0, -1
	rest := s[start:]
	for len(rest) > 0 && count < maxGraphemes {
		c, r, _, st := uniseg.StepString(rest, state)
		if pos+len(c)-start > maxBytes && count > 0 {
			break
		}
		pos += len(c)
		count++
		rest, state = r, st
	}
	return pos
}

// insideFacet reports whether byte offset pos falls strictly inside a
// facet.
func insideFacet(facets []Facet, pos int) bool {
	for _, f := range facets {
		if f.Start < pos && pos < f.End {
			return true
		}
	}
	return false
}

// slice is t.Text[start:end] with the facets that lie inside it, shifted.
func slice(t Text, start, end int) Text {
	out := Text{Text: t.Text[start:end]}
	for _, f := range t.Facets {
		if f.Start >= start && f.End <= end {
			f.Start -= start
			f.End -= start
			out.Facets = append(out.Facets, f)
		}
	}
	return out
}

// skipSpace returns the offset of the first non-space at or after i.
func skipSpace(s string, i int) int {
	for i < len(s) {
		r, n := utf8.DecodeRuneInString(s[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += n
	}
	return i
}

// trimEnd returns end moved back over white space.
func trimEnd(s string, end int) int {
	for end > 0 {
		r, n := utf8.DecodeLastRuneInString(s[:end])
		if !unicode.IsSpace(r) {
			break
		}
		end -= n
	}
	return end
}
