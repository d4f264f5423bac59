package feeds

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/passerelle/passerelle/render"
)

var blankLinesRE = regexp.MustCompile(`\n{3,}`)

// fill replaces the template's placeholders.
func fill(tmpl, title, link, summary, hashtags string) string {
	s := strings.NewReplacer("{title}", title, "{link}", link, "{summary}", summary, "{hashtags}", hashtags).Replace(tmpl)
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRightFunc(l, unicode.IsSpace)
	}
	// A missing value leaves an empty line: no more than one blank line
	// in a row.
	return strings.TrimSpace(blankLinesRE.ReplaceAllString(strings.Join(lines, "\n"), "\n\n"))
}

// PostText fills tmpl for e, shortening the summary, then the title, with
// "…" so that the text counts at most maxChars characters as Mastodon
// counts them (links count 23). It may still be longer when the rest of
// the template is (publishing then refuses it).
func PostText(tmpl string, e Entry, hashtags string, maxChars int) string {
	title, summary := e.Title, e.Summary
	text := fill(tmpl, title, e.Link, summary, hashtags)
	if render.CountCharacters(text) <= maxChars {
		return text
	}
	if strings.Contains(tmpl, "{summary}") && summary != "" {
		summary = shortest(summary, func(s string) bool {
			return render.CountCharacters(fill(tmpl, title, e.Link, s, hashtags)) <= maxChars
		})
		text = fill(tmpl, title, e.Link, summary, hashtags)
		if render.CountCharacters(text) <= maxChars {
			return text
		}
	}
	if strings.Contains(tmpl, "{title}") && title != "" {
		title = shortest(title, func(s string) bool {
			return render.CountCharacters(fill(tmpl, s, e.Link, summary, hashtags)) <= maxChars
		})
		text = fill(tmpl, title, e.Link, summary, hashtags)
	}
	return text
}

// shortest returns the longest prefix of s, cut between words and ended
// with "…", for which fits holds; "" when none does.
func shortest(s string, fits func(string) bool) string {
	runes := []rune(s)
	cut := func(n int) string {
		if n >= len(runes) {
			return s
		}
		p := string(runes[:n])
		if i := strings.LastIndexFunc(p, unicode.IsSpace); i > len(p)/2 {
			p = p[:i] // end on a whole word when that keeps most of it
		}
		return strings.TrimRightFunc(p, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsPunct(r) }) + "…"
	}
	lo, hi := 0, len(runes) // fits(cut(lo)) is assumed for lo = 0 ("")
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if fits(cut(mid)) {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return ""
	}
	return cut(lo)
}
