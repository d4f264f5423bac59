package render

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file finds the three kinds of entity in a post: URLs, hashtags and
// mentions. It follows Mastodon's Extractor (app/lib/extractor.rb), which
// is twitter-text with the URL regexes overridden in
// config/initializers/twitter_regex.rb, the hashtag regex from
// Tag::HASHTAG_RE and the mention regex from Account::MENTION_RE. The
// scanners are hand-written rather than regexps because Go's RE2 has no
// look-behind, and a scanner is easier to keep linear on hostile input.
//
// All positions are byte offsets into the (valid UTF-8) text.

type entityKind int

const (
	kindURL entityKind = iota
	kindTag
	kindMention
)

type entity struct {
	kind       entityKind
	start, end int    // s[start:end] is the whole entity, sigil included
	name       string // URL, tag name without '#', or mention username
	domain     string // mention domain as written ("" for a bare @user)
}

// extractEntities returns the URLs, hashtags (when tags is set) and
// mentions of s, sorted by position, with overlaps removed the way
// twitter-text's remove_overlapping_entities does: the entity that starts
// first wins. This is what keeps "#" inside a URL from becoming a hashtag.
func extractEntities(s string, tags bool) []entity {
	var es []entity
	es = appendURLs(es, s)
	if tags {
		es = appendHashtags(es, s)
	}
	es = appendMentions(es, s)
	sort.SliceStable(es, func(i, j int) bool { return es[i].start < es[j].start })
	kept := es[:0]
	end := -1
	for _, e := range es {
		if e.start < end {
			continue
		}
		kept = append(kept, e)
		end = e.end
	}
	return kept
}

// --- character classes ---

// isAlpha approximates Onigmo's [[:alpha:]] (Unicode Alphabetic).
func isAlpha(r rune) bool {
	return unicode.IsLetter(r) || unicode.Is(unicode.Nl, r) || unicode.Is(unicode.Other_Alphabetic, r)
}

// isWord approximates Onigmo's [[:word:]] and \w in Unicode mode:
// Alphabetic, marks, decimal digits, connector punctuation, join controls.
func isWord(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return isAlpha(r) || unicode.IsMark(r) || unicode.Is(unicode.Nd, r) ||
		unicode.Is(unicode.Pc, r) || unicode.Is(unicode.Join_Control, r)
}

func isASCIIAlnum(r rune) bool {
	return '0' <= r && r <= '9' || 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
}

func isSpace(r rune) bool { return unicode.Is(unicode.White_Space, r) }

// prevRune is the rune before s[i], or -1 at the start of the text.
func prevRune(s string, i int) rune {
	if i == 0 {
		return -1
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return r
}

// --- URLs ---

// appendURLs finds http and https URLs. Like Mastodon (which calls
// twitter-text with extract_url_without_protocol: false) a URL needs its
// scheme; other schemes are never linked, so "javascript:" cannot be.
//
// Deviation: twitter-text only accepts hosts whose last label is on its
// list of TLDs. We accept any last label of two or more letters (or an
// "xn--" label), so new TLDs and .example test domains link too. Hosts that
// are IP addresses are not linked, as in Mastodon.
func appendURLs(es []entity, s string) []entity {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "://")
		if j < 0 {
			break
		}
		colon := i + j
		i = colon + 3
		var start int
		switch {
		case colon >= 5 && strings.EqualFold(s[colon-5:colon], "https"):
			start = colon - 5
		case colon >= 4 && strings.EqualFold(s[colon-4:colon], "http"):
			start = colon - 4
		default:
			continue
		}
		// twitter-text's valid_url_preceding_chars.
		switch p := prevRune(s, start); {
		case isASCIIAlnum(p), p == '@', p == '＠', p == '$', p == '#', p == '＃':
			continue
		}
		end := scanHost(s, colon+3)
		if end < 0 {
			continue
		}
		end = scanPort(s, end)
		if end < len(s) && s[end] == '/' {
			end = scanPath(s, end)
		}
		if end < len(s) && s[end] == '?' {
			end = scanQuery(s, end)
		}
		es = append(es, entity{kind: kindURL, start: start, end: end, name: s[start:end]})
		i = end
	}
	return es
}

// isLabelChar is a character of a host name label other than '-' and '_'.
func isLabelChar(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIAlnum(r)
	}
	return unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsDigit(r)
}

// scanHost reads a dotted host name starting at i and returns where it
// ends, or -1 if there is no acceptable host.
func scanHost(s string, i int) int {
	var labels []int // end offset of each label
	pos := i
	for {
		// One label: label chars, with '-' and '_' allowed inside.
		j := pos
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if !isLabelChar(r) && r != '-' && r != '_' {
				break
			}
			j += n
		}
		if j == pos {
			break
		}
		labels = append(labels, j)
		pos = j
		if pos+1 < len(s) && s[pos] == '.' {
			if r, _ := utf8.DecodeRuneInString(s[pos+1:]); isLabelChar(r) {
				pos++
				continue
			}
		}
		break
	}
	// Every label must start and end with a letter or digit; a bad label
	// ends the host before it.
	from := i
	for k, end := range labels {
		if !validLabel(s[from:end]) {
			labels = labels[:k]
			break
		}
		from = end + 1
	}
	// Like twitter-text, back off to a shorter host when the last label
	// is not a TLD ("https://example.com.x1" links "https://example.com").
	for ; len(labels) >= 2; labels = labels[:len(labels)-1] {
		end := labels[len(labels)-1]
		if !isTLD(s[labels[len(labels)-2]+1 : end]) {
			continue
		}
		if end < len(s) {
			// A host followed by '@' is user info ("https://a.example@b"),
			// which Mastodon does not link either.
			if c := s[end]; c == '@' || c == '+' {
				return -1
			}
		}
		return end
	}
	return -1
}

func validLabel(l string) bool {
	first, _ := utf8.DecodeRuneInString(l)
	last, _ := utf8.DecodeLastRuneInString(l)
	return isLabelChar(first) && isLabelChar(last)
}

func isTLD(l string) bool {
	if len(l) > 4 && strings.EqualFold(l[:4], "xn--") {
		for _, r := range l[4:] {
			if !isASCIIAlnum(r) {
				return false
			}
		}
		return true
	}
	if utf8.RuneCountInString(l) < 2 {
		return false
	}
	for _, r := range l {
		if !unicode.IsLetter(r) && !unicode.IsMark(r) {
			return false
		}
	}
	return true
}

func scanPort(s string, i int) int {
	if i >= len(s) || s[i] != ':' {
		return i
	}
	j := i + 1
	for j < len(s) && '0' <= s[j] && s[j] <= '9' {
		j++
	}
	if j == i+1 {
		return i
	}
	return j
}

// isPathChar is Mastodon's valid_general_url_path_chars:
// [^\p{White_Space}<>()?].
func isPathChar(r rune) bool {
	switch r {
	case '<', '>', '(', ')', '?':
		return false
	}
	return !isSpace(r) && r != utf8.RuneError
}

// isPathEnding is Mastodon's valid_url_path_ending_chars (without the
// balanced-parentheses alternative, handled by scanPath): a URL does not
// end on sentence punctuation.
func isPathEnding(r rune) bool {
	if !isPathChar(r) {
		return false
	}
	switch r {
	case '!', '*', '"', '\'', '「', '」', ';', ':', '=', ',', '.', '$', '%', '[', ']', '~', '&', '|', '@':
		return false
	}
	return true
}

// scanPath reads a path starting at the '/' at s[i] and returns its end: the
// longest run of path characters and balanced parentheses (one level of
// nesting, for Wikipedia-style links) that ends on an ending character, a
// closing parenthesis of a balanced group or a slash.
func scanPath(s string, i int) int {
	pos := i + 1
	good := pos
	for pos < len(s) {
		r, n := utf8.DecodeRuneInString(s[pos:])
		if r == '(' {
			end := scanBalanced(s, pos)
			if end < 0 {
				break
			}
			pos = end
			good = pos
			continue
		}
		if !isPathChar(r) {
			break
		}
		pos += n
		if isPathEnding(r) {
			good = pos
		}
	}
	return good
}

// scanBalanced matches valid_url_balanced_parens at s[i] == '(' and returns
// the offset after the closing parenthesis, or -1.
func scanBalanced(s string, i int) int {
	pos := i + 1
	content := 0
	nested := false
	for pos < len(s) {
		r, n := utf8.DecodeRuneInString(s[pos:])
		switch {
		case r == ')':
			if content == 0 {
				return -1
			}
			return pos + n
		case r == '(':
			if nested {
				return -1
			}
			nested = true
			pos += n
			inner := 0
			for pos < len(s) {
				r, n = utf8.DecodeRuneInString(s[pos:])
				if !isPathChar(r) {
					break
				}
				pos += n
				inner++
			}
			if inner == 0 || pos >= len(s) || s[pos] != ')' {
				return -1
			}
			pos++
			content++
		case isPathChar(r):
			pos += n
			content++
		default:
			return -1
		}
	}
	return -1
}

// isQueryUChar is Mastodon's UCHARS range list, minus white space (which
// the list includes by accident: U+00A0 and U+3000 would otherwise be
// swallowed into links).
func isQueryUChar(r rune) bool {
	if isSpace(r) || r == utf8.RuneError {
		return false
	}
	switch {
	case 0xA0 <= r && r <= 0xD7FF, 0xF900 <= r && r <= 0xFDCF, 0xFDF0 <= r && r <= 0xFFEF,
		0xE000 <= r && r <= 0xF8FF:
		return true
	case 0x10000 <= r && r <= 0x10FFFD:
		// Planes 1 to 16 minus each plane's last two code points and the
		// start of plane 14.
		if r&0xFFFF >= 0xFFFE {
			return false
		}
		return !(0xE0000 <= r && r < 0xE1000)
	}
	return false
}

func isQueryChar(r rune) bool {
	if isASCIIAlnum(r) {
		return true
	}
	switch r {
	case '!', '?', '*', '\'', '(', ')', ';', ':', '&', '=', '+', '$', '/', '%', '#',
		'[', ']', '-', '_', '.', ',', '~', '|', '@', '^':
		return true
	}
	return isQueryUChar(r)
}

func isQueryEnding(r rune) bool {
	if isASCIIAlnum(r) {
		return true
	}
	switch r {
	case '_', '&', '=', '#', '/', '-':
		return true
	}
	return isQueryUChar(r)
}

// scanQuery reads a query string at s[i] == '?'. Without an ending
// character the '?' is left out of the URL.
func scanQuery(s string, i int) int {
	pos := i + 1
	good := i
	for pos < len(s) {
		r, n := utf8.DecodeRuneInString(s[pos:])
		if !isQueryChar(r) {
			break
		}
		pos += n
		if isQueryEnding(r) {
			good = pos
		}
	}
	return good
}

// --- hashtags ---

// MaxTagLength is the longest hashtag name, in characters, that is linked.
const MaxTagLength = 100

// isTagSeparator is Mastodon's HASHTAG_SEPARATORS minus what is already a
// word character: middle dot and katakana middle dot.
func isTagSeparator(r rune) bool { return r == '·' || r == '・' || r == '\u200c' }

// appendHashtags finds #tags and ＃tags at the start of the text or after a
// character that is not a word character, '/' or ')' (the rule of
// Mastodon's older HASHTAG_RE; its current one accepts only white space
// before the sign). The name follows Tag::HASHTAG_NAME_PAT: word characters and
// separators, starting and ending with a word character, and needing a
// letter or separator, so "#2024" is not a tag but "#2024年" is.
func appendHashtags(es []entity, s string) []entity {
	for i := 0; i < len(s); {
		var n int
		switch {
		case s[i] == '#':
			n = 1
		case strings.HasPrefix(s[i:], "＃"):
			n = len("＃")
		default:
			i++
			continue
		}
		start := i
		i += n
		if p := prevRune(s, start); p != -1 && (isWord(p) || p == '/' || p == ')') {
			continue
		}
		name := hashtagName(s[i:])
		if name == "" {
			continue
		}
		end := i + len(name)
		// Extractor.extract_hashtags_with_indices: "#foohttps://…" is the
		// tag #foo followed by a URL.
		if strings.HasPrefix(s[end:], "://") {
			for _, scheme := range []string{"https", "http"} {
				if len(name) > len(scheme) && strings.HasSuffix(name, scheme) {
					name = name[:len(name)-len(scheme)]
					break
				}
			}
			if !validTagName(name) {
				continue
			}
			end = i + len(name)
		}
		if utf8.RuneCountInString(name) > MaxTagLength {
			i = end
			continue
		}
		es = append(es, entity{kind: kindTag, start: start, end: end, name: name})
		i = end
	}
	return es
}

// hashtagName returns the hashtag name at the start of s, or "".
func hashtagName(s string) string {
	// The run of word characters and separators.
	end, wordEnd := 0, -1 // wordEnd: end of the leading word-only run
	lastWord := 0         // end of the last word character in the run
	for end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if isWord(r) {
			end += n
			lastWord = end
			continue
		}
		if isTagSeparator(r) && end > 0 {
			if wordEnd < 0 {
				wordEnd = end
			}
			end += n
			continue
		}
		break
	}
	if wordEnd < 0 {
		wordEnd = lastWord
	}
	if lastWord == 0 {
		return ""
	}
	// HASHTAG_FIRST_SEQUENCE: the whole run up to its last word character,
	// with a letter or a separator somewhere inside.
	if run := s[:lastWord]; hasInnerAlphaOrSep(run) {
		return run
	}
	// HASHTAG_LAST_SEQUENCE: word characters with at least one letter.
	if run := s[:wordEnd]; containsAlpha(run) {
		return run
	}
	return ""
}

func hasInnerAlphaOrSep(run string) bool {
	_, first := utf8.DecodeRuneInString(run)
	_, last := utf8.DecodeLastRuneInString(run)
	if first+last >= len(run) {
		return false // fewer than three characters
	}
	for _, r := range run[first : len(run)-last] {
		if isAlpha(r) || isTagSeparator(r) || r == '_' {
			return true
		}
	}
	return false
}

func containsAlpha(s string) bool {
	for _, r := range s {
		if isAlpha(r) {
			return true
		}
	}
	return false
}

func validTagName(name string) bool {
	return name != "" && hashtagName(name) == name
}

// --- mentions ---

// appendMentions finds @user and @user@domain following Account::MENTION_RE:
// not after '=', '/' or a word character (so e-mail addresses are not
// mentions), a username of ASCII letters, digits and '_' with inner '.' and
// '-', an optional domain of word characters with inner '.' and '-'. Like
// twitter-text's end_mention_match, a mention directly followed by '@', an
// accented Latin letter or "://" is dropped.
func appendMentions(es []entity, s string) []entity {
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '@')
		if j < 0 {
			break
		}
		start := i + j
		i = start + 1
		if p := prevRune(s, start); p != -1 && (isWord(p) || p == '=' || p == '/') {
			continue
		}
		user := scanDotted(s[start+1:], isUsernameChar)
		if user == "" {
			continue
		}
		end := start + 1 + len(user)
		domain := ""
		if end+1 < len(s) && s[end] == '@' {
			domain = scanDotted(s[end+1:], isWord)
			if domain != "" {
				end += 1 + len(domain)
			}
		}
		i = end
		if rejectAfterMention(s[end:]) {
			continue
		}
		es = append(es, entity{kind: kindMention, start: start, end: end, name: user, domain: domain})
	}
	return es
}

func isUsernameChar(r rune) bool { return r < utf8.RuneSelf && isWord(r) }

// scanDotted matches ok+([.-]+ok+)* at the start of s.
func scanDotted(s string, ok func(rune) bool) string {
	end, good := 0, 0
	for end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		switch {
		case ok(r):
			end += n
			good = end
		case (r == '.' || r == '-') && good > 0:
			end += n
		default:
			return s[:good]
		}
	}
	return s[:good]
}

func rejectAfterMention(after string) bool {
	if strings.HasPrefix(after, "://") {
		return true
	}
	r, _ := utf8.DecodeRuneInString(after)
	return r == '@' || r == '＠' || isLatinAccent(r)
}

// isLatinAccent is twitter-text's LATIN_ACCENTS.
func isLatinAccent(r rune) bool {
	switch {
	case 0xC0 <= r && r <= 0xD6, 0xD8 <= r && r <= 0xF6, 0xF8 <= r && r <= 0x24F,
		0x300 <= r && r <= 0x36F, 0x1E00 <= r && r <= 0x1EFF:
		return true
	}
	switch r {
	case 0x253, 0x254, 0x256, 0x257, 0x259, 0x25B, 0x263, 0x268, 0x26F, 0x272, 0x289, 0x28B, 0x2BB:
		return true
	}
	return false
}
