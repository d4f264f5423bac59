package federation

import (
	"fmt"
	"html"
	"strings"

	"github.com/passerelle/passerelle/config"
)

// The account's handles elsewhere, as profile fields of its actor
// (attachment PropertyValues, which Mastodon shows as a table): follower
// matching tools and browser extensions read them to pair the account's
// fediverse, Bluesky and X identities. The links carry rel="me".

// MaxActorFields is the most profile fields an actor shows (Mastodon's
// limit); handle fields are added only below it.
const MaxActorFields = config.MaxFields

// WithHandleFields appends to fields a "Bluesky" field (the account's
// Bluesky handle: notice.bluesky_handle, else bluesky.identifier when it
// is a handle) and an "X" field (notice.x_handle), unless a configured
// field already names them, and only while there are fewer than
// MaxActorFields fields.
func WithHandleFields(acc config.Account, fields []FieldHTML) []FieldHTML {
	configured := fields
	mentions := func(s string) bool {
		for _, f := range configured {
			if containsWord(strings.ToLower(f.ValueHTML), strings.ToLower(s)) {
				return true
			}
		}
		return false
	}
	add := func(name, href, text string) {
		if len(fields) >= MaxActorFields || mentions(href) || mentions(text) {
			return
		}
		fields = append(fields, FieldHTML{Name: name, ValueHTML: fmt.Sprintf(
			`<a href="%s" target="_blank" rel="nofollow noopener me" translate="no">%s</a>`, html.EscapeString(href), html.EscapeString(text))})
	}
	if h := acc.NoticeBlueskyHandle(); h != "" {
		add("Bluesky", "https://bsky.app/profile/"+h, "@"+h)
	}
	if x := strings.TrimPrefix(strings.TrimSpace(acc.Notice.XHandle), "@"); x != "" {
		add("X", "https://x.com/"+x, "@"+x)
	}
	return fields
}

// containsWord reports whether s contains w where it ends a word: not
// followed by a character that would continue a handle or URL ("@city" is
// not in "@city.bsky.social", but is in "@city." at the end of a sentence).
func containsWord(s, w string) bool {
	continues := func(rest string) bool {
		if rest == "" {
			return false
		}
		if rest[0] == '.' {
			return len(rest) > 1 && rest[1] != ' ' && rest[1] != '<'
		}
		return strings.ContainsRune("abcdefghijklmnopqrstuvwxyz0123456789_-/", rune(rest[0]))
	}
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		if !continues(s[i+j+len(w):]) {
			return true
		}
		i += j + 1
	}
}
