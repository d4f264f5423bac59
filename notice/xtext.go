package notice

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/rivo/uniseg"
	"golang.org/x/text/unicode/norm"
)

// X counts a post's length with weights (twitter-text, configuration v3):
// the text is NFC-normalised; code points in the ranges below weigh 100,
// every other one 200 (CJK, most symbols); an emoji, even a sequence of
// several code points, weighs 200; a URL weighs 23×100 whatever its
// length. The limit is 28,000, shown to people as 280 characters.
const (
	MaxXWeightedLength = 280
	xScale             = 100
	xDefaultWeight     = 200
	xURLLength         = 23
)

var xLightRanges = [][2]rune{{0, 4351}, {8192, 8205}, {8208, 8223}, {8242, 8247}}

// XLength returns text's length as X counts it, in characters (weight
// divided by 100, rounded up). Where twitter-text's rules are hard to
// reproduce exactly (which bare domain names it links), it errs on the
// long side: a word that may be a link counts at least 23.
func XLength(text string) int {
	text = norm.NFC.String(text)
	weight := 0
	for _, word := range splitKeepingSpaces(text) {
		w := weighWord(word)
		if isURL(word) {
			w = xURLLength * xScale
		} else if mayBeLink(word) {
			w = max(w, xURLLength*xScale)
		}
		weight += w
	}
	return (weight + xScale - 1) / xScale
}

// splitKeepingSpaces cuts text into words and the runs of space between
// them, so that the pieces add up to the whole.
func splitKeepingSpaces(s string) []string {
	var out []string
	start := 0
	inSpace := false
	for i, r := range s {
		sp := unicode.IsSpace(r)
		if i > start && sp != inSpace {
			out = append(out, s[start:i])
			start = i
		}
		inSpace = sp
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

func isURL(word string) bool {
	w := strings.ToLower(word)
	return strings.HasPrefix(w, "https://") || strings.HasPrefix(w, "http://")
}

// mayBeLink reports whether X could link a word without a scheme
// ("city.example/news"): one that has a dot between letters and does not
// start with "@" (a mention's or a handle's domain is not linked) or "#".
func mayBeLink(word string) bool {
	if strings.HasPrefix(word, "@") || strings.HasPrefix(word, "#") {
		return false
	}
	i := strings.IndexByte(word, '.')
	return i > 0 && i < len(word)-1 && unicode.IsLetter(rune(word[i+1]))
}

// weighWord adds the weights of a word's grapheme clusters.
func weighWord(s string) int {
	w := 0
	g := uniseg.NewGraphemes(s)
	for g.Next() {
		runes := g.Runes()
		if isEmoji(runes) {
			w += xDefaultWeight
			continue
		}
		for _, r := range runes {
			w += runeWeight(r)
		}
	}
	return w
}

func runeWeight(r rune) int {
	for _, rg := range xLightRanges {
		if rg[0] <= r && r <= rg[1] {
			return xScale
		}
	}
	return xDefaultWeight
}

// isEmoji reports whether a grapheme cluster is an emoji (pictographs,
// flags, keycaps, presentation selectors). © and ® count as emoji too:
// the safe side.
func isEmoji(runes []rune) bool {
	for _, r := range runes {
		switch {
		case r == 0xFE0F, r == 0x20E3,
			r >= 0x1F000 && r <= 0x1FAFF, // pictographs, emoticons, flags' regional indicators
			r >= 0x2600 && r <= 0x27BF,   // miscellaneous symbols, dingbats
			r >= 0x2B00 && r <= 0x2BFF,
			r == 0x00A9, r == 0x00AE:
			return true
		}
	}
	return false
}

// PostText is the last post on X in lang: the text "post" (or
// "post_no_bluesky" when there is no Bluesky handle) with its placeholders
// replaced. Empty lines left by an empty {hashtag} are removed. It fails
// when the result is longer than X allows.
func (t *Texts) PostText(lang string, v Vars) (string, error) {
	key := "post"
	if v.BlueskyHandle == "" {
		key = "post_no_bluesky"
	}
	text := t.Get(lang, key, v)
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimRightFunc(l, unicode.IsSpace); l != "" {
			lines = append(lines, l)
		}
	}
	text = strings.Join(lines, "\n")
	if n := XLength(text); n > MaxXWeightedLength {
		return text, fmt.Errorf("notice: the post is %d characters as X counts them, more than %d: shorten notice.texts.%s.%s", n, MaxXWeightedLength, lang, key)
	}
	return text, nil
}
