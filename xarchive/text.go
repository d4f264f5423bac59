package xarchive

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	tcoRE          = regexp.MustCompile(`https?://t\.co/[A-Za-z0-9]+`)
	leadingMention = regexp.MustCompile(`^\.?@[A-Za-z0-9_]{1,15}[\s\x{00a0}]+`)
	unescape       = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	spaceRunsRE    = regexp.MustCompile(`[ \t]{2,}`)
)

// PostText returns the tweet's text as it is posted here:
//
//   - t.co links are replaced by the links they stand for;
//   - the links of its photos are removed (the photos become attachments);
//     a video or GIF, which is not imported, stays as a link to it on X;
//   - the "@name @other " prefix X puts before a reply is removed;
//   - &amp;, &lt; and &gt;, which the archive escapes, are unescaped.
//
// Other @mentions stay as written: they name X accounts, and are posted as
// plain text, never as fediverse mentions.
func (t Tweet) PostText() string {
	links := make(map[string]string, len(t.URLs)+len(t.Media))
	for _, u := range t.URLs {
		if u.Short != "" && u.Expanded != "" {
			links[u.Short] = u.Expanded
		}
	}
	for _, m := range t.Media {
		if m.Short == "" {
			continue
		}
		if m.Type == MediaPhoto {
			links[m.Short] = ""
		} else if m.Expanded != "" {
			links[m.Short] = m.Expanded
		}
	}
	s := tcoRE.ReplaceAllStringFunc(t.FullText, func(short string) string {
		if long, ok := links[short]; ok {
			return long
		}
		return short
	})
	if t.DisplayStart > 0 || (t.DisplayStart < 0 && t.InReplyToStatusID != "") {
		s = s[replyPrefix(s, t.DisplayStart):]
	}
	s = unescape.Replace(s)
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSpace(spaceRunsRE.ReplaceAllString(l, " "))
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// Language returns the tweet's language as a BCP 47 code, or "" for X's
// pseudo-codes (und: undetermined, zxx: no text, qme: media only, qht:
// hashtags only...).
func (t Tweet) Language() string {
	l := strings.ToLower(t.Lang)
	switch {
	case l == "" || l == "und" || l == "zxx" || l == "art" || strings.HasPrefix(l, "q"):
		return ""
	case l == "in":
		return "id" // X still writes Indonesian with the withdrawn code
	case l == "iw":
		return "he"
	}
	if len(l) < 2 || len(l) > 3 || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz") != "" {
		return ""
	}
	return l
}

// replyPrefix returns the length in bytes of the "@name @other " prefix of
// a reply: the leading mentions, up to display (in characters) when it is
// known (>= 0), all of them otherwise; never the whole text.
func replyPrefix(s string, display int) int {
	n, chars := 0, 0
	for {
		m := leadingMention.FindString(s[n:])
		if m == "" || n+len(m) >= len(s) {
			return n
		}
		if c := utf8.RuneCountInString(m); display < 0 || chars+c <= display {
			n, chars = n+len(m), chars+c
			continue
		}
		return n
	}
}
