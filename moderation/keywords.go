package moderation

import (
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/passerelle/passerelle/storage"
)

// KeywordFilter is an account's live keyword filters (Mastodon's v2
// filters) of one context: what matches is hidden there. The client API
// applies them to timelines, threads and notifications, and push does not
// send a notification the notifications context hides.
type KeywordFilter struct {
	keywords []storage.FilterKeyword // lower case
}

// NewKeywordFilter keeps the keywords of the filters fs that apply to
// context and have not expired at now.
func NewKeywordFilter(fs []storage.Filter, context string, now time.Time) *KeywordFilter {
	kf := &KeywordFilter{}
	for _, f := range fs {
		if !slices.Contains(f.Context, context) || (!f.ExpiresAt.IsZero() && !now.Before(f.ExpiresAt)) {
			continue
		}
		for _, k := range f.Keywords {
			k.Keyword = strings.ToLower(k.Keyword)
			kf.keywords = append(kf.keywords, k)
		}
	}
	return kf
}

// Empty reports whether no keyword applies: nothing is hidden.
func (kf *KeywordFilter) Empty() bool { return kf == nil || len(kf.keywords) == 0 }

// Hides reports whether any of texts (plain text) matches a keyword.
func (kf *KeywordFilter) Hides(texts ...string) bool {
	if kf == nil || len(kf.keywords) == 0 {
		return false
	}
	for _, t := range texts {
		t = strings.ToLower(t)
		for _, k := range kf.keywords {
			if matchKeyword(t, k.Keyword, k.WholeWord) {
				return true
			}
		}
	}
	return false
}

// matchKeyword finds kw in text; whole words must not touch a letter or
// digit on either side.
func matchKeyword(text, kw string, whole bool) bool {
	for from := 0; from <= len(text); {
		i := strings.Index(text[from:], kw)
		if i < 0 {
			return false
		}
		start, end := from+i, from+i+len(kw)
		if !whole || (!wordRuneBefore(text, start) && !wordRuneAt(text, end)) {
			return true
		}
		from = start + 1
	}
	return false
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

func wordRuneBefore(s string, i int) bool {
	if i == 0 {
		return false
	}
	r, _ := utf8.DecodeLastRuneInString(s[:i])
	return isWordRune(r)
}

func wordRuneAt(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}
