package push

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Payload is what a push carries, as Mastodon's Web::NotificationSerializer
// makes it.
type Payload struct {
	// AccessToken is Mastodon's way of letting a web client act from the
	// notification. Tokens are stored hashed here, so it is always empty.
	AccessToken      string `json:"access_token"`
	PreferredLocale  string `json:"preferred_locale"`
	NotificationID   int64  `json:"notification_id"`
	NotificationType string `json:"notification_type"`
	Icon             string `json:"icon"`
	Title            string `json:"title"`
	Body             string `json:"body"`
}

// MaxPayload is the longest plaintext that fits in the one record of an
// RFC 8291 push message of 4096 bytes: 86 bytes of header (salt, record
// size, key id length, the 65-byte key id), 16 of authentication tag and
// the padding delimiter.
const MaxPayload = 4096 - 86 - 16 - 1

// bodyChars is how much of a post a push shows (Mastodon's 140).
const bodyChars = 140

// Encode marshals p within max bytes: the body, then the title, then the
// icon are shortened (on character boundaries, "…" marking a cut) until
// it fits.
func (p Payload) Encode(max int) ([]byte, error) {
	for {
		b, err := json.Marshal(p)
		if err != nil || len(b) <= max {
			return b, err
		}
		over := len(b) - max
		switch {
		case p.Body != "":
			p.Body = cut(p.Body, over)
		case p.Title != "":
			p.Title = cut(p.Title, over)
		case p.Icon != "":
			p.Icon = ""
		default:
			return b, nil // cannot be shorter: webpush-go refuses it
		}
	}
}

// cut shortens s by at least over bytes of its JSON form (an escaped
// character takes up to 6), keeping whole characters and ending with
// "…" unless nothing is left.
func cut(s string, over int) string {
	s = strings.TrimSuffix(s, "…")
	drop := 0
	for drop < over+len("…") && len(s) > 0 {
		r, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
		enc, _ := json.Marshal(string(r))
		drop += len(enc) - 2
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	return s + "…"
}
