package render

import (
	"context"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxMentions is how many distinct accounts one post may mention. Further
// distinct mentions are left as text and never reach the Resolver, which
// bounds the lookups (often WebFinger requests) one post can cause.
const MaxMentions = 20

// Mention is a resolved mention.
type Mention struct {
	Username   string // as first written in the post
	Domain     string // lower case; Options.LocalDomain for local accounts
	ActorID    string // ActivityPub actor IRI, for the Mention tag's href
	ProfileURL string // HTML profile, the link in the content
}

// Tag is a hashtag of the post.
type Tag struct {
	Name string // without '#', as first written (case kept)
	URL  string // Options.TagURLPrefix + the lower-cased, path-escaped name
}

// Resolver looks accounts up. It is called at most once per distinct
// (lower-cased username, domain) pair in a post, one call at a time. An
// error leaves the mention as plain text.
type Resolver interface {
	ResolveMention(ctx context.Context, username, domain string) (actorID, profileURL string, err error)
}

// Options configures Text.
type Options struct {
	// TagURLPrefix is prepended to the tag name, for example
	// "https://social.city.example/tags/".
	TagURLPrefix string
	// LocalDomain is the domain of our handles. "@user" and
	// "@user@LocalDomain" are passed to the Resolver with this domain.
	LocalDomain string
	// Resolver resolves mentions; nil leaves every mention as text.
	Resolver Resolver
}

// Result is the rendered post.
type Result struct {
	HTML     string
	Mentions []Mention // distinct resolved mentions, in order of appearance
	Tags     []Tag     // distinct (case-insensitively) hashtags, in order
	Links    []string  // distinct URLs, in order of appearance
}

// Text renders plain text as Mastodon-style HTML.
//
// It links http and https URLs, #hashtags and @mentions (Resolver
// permitting) by Mastodon's rules; where two overlap, the one that starts
// first wins, so a '#' or '@' inside a URL stays part of the URL. All other
// text is escaped as Rails does (&amp; &lt; &gt; &quot; &#39;).
//
// Lines are split on "\n" (after turning "\r\n" and "\r" into "\n"). Runs of
// non-blank lines become <p> paragraphs whose lines are joined with <br>;
// blank lines, including ones holding only white space, separate
// paragraphs. (Mastodon's simple_format splits only on "\n\n" and keeps
// white-space-only lines as "<br> <br>"; it also emits an empty <p></p> for
// leading blank lines. Both are dropped here.) Text that is only white space
// renders as "".
//
// Invalid UTF-8 becomes U+FFFD; NUL and other control characters (except
// tab and newline) and Unicode noncharacters are removed, since HTML does
// not allow them.
func Text(ctx context.Context, text string, opts Options) Result {
	if ctx == nil {
		ctx = context.Background()
	}
	s := sanitize(text)
	r := renderer{ctx: ctx, opts: opts, resolved: map[string]*Mention{}, tags: map[string]bool{}, links: map[string]bool{}}
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	last := 0
	for _, e := range extractEntities(s, true) {
		escapeTo(&b, s[last:e.start])
		switch e.kind {
		case kindURL:
			r.link(&b, e)
		case kindTag:
			r.tag(&b, e)
		case kindMention:
			r.mention(&b, s, e)
		}
		last = e.end
	}
	escapeTo(&b, s[last:])
	r.res.HTML = paragraphs(b.String())
	return r.res
}

type renderer struct {
	ctx      context.Context
	opts     Options
	res      Result
	resolved map[string]*Mention // key: lower(user)@domain; nil value: unresolved
	attempts int
	tags     map[string]bool
	links    map[string]bool
}

// link writes Mastodon's shortened link (TextFormatter.shortened_link): the
// scheme and a leading "www." are invisible, the next 30 characters are
// shown, and the rest is invisible with an ellipsis added by CSS.
func (r *renderer) link(b *strings.Builder, e entity) {
	u := e.name
	if !r.links[u] {
		r.links[u] = true
		r.res.Links = append(r.res.Links, u)
	}
	prefix := urlPrefix(u)
	rest := u[len(prefix):]
	display, suffix := splitRunes(rest, 30)
	class := ""
	if suffix != "" {
		class = "ellipsis"
	}
	b.WriteString(`<a href="`)
	escapeTo(b, u)
	b.WriteString(`" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">`)
	escapeTo(b, prefix)
	b.WriteString(`</span><span class="`)
	b.WriteString(class)
	b.WriteString(`">`)
	escapeTo(b, display)
	b.WriteString(`</span><span class="invisible">`)
	escapeTo(b, suffix)
	b.WriteString(`</span></a>`)
}

// urlPrefix is the match of Mastodon's URL_PREFIX_REGEX,
// \A(https?://(www\.)?), which is case-sensitive.
func urlPrefix(u string) string {
	var p string
	switch {
	case strings.HasPrefix(u, "https://"):
		p = "https://"
	case strings.HasPrefix(u, "http://"):
		p = "http://"
	default:
		return ""
	}
	if strings.HasPrefix(u[len(p):], "www.") {
		p += "www."
	}
	return p
}

// splitRunes splits s after n characters (code points, as Ruby's
// String#[] counts).
func splitRunes(s string, n int) (head, tail string) {
	i := 0
	for k := 0; k < n && i < len(s); k++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i], s[i:]
}

func (r *renderer) tag(b *strings.Builder, e entity) {
	lower := strings.ToLower(e.name)
	href := r.opts.TagURLPrefix + url.PathEscape(lower)
	if !r.tags[lower] {
		r.tags[lower] = true
		r.res.Tags = append(r.res.Tags, Tag{Name: e.name, URL: href})
	}
	b.WriteString(`<a href="`)
	escapeTo(b, href)
	b.WriteString(`" class="mention hashtag" rel="tag">#<span>`)
	escapeTo(b, e.name)
	b.WriteString(`</span></a>`)
}

func (r *renderer) mention(b *strings.Builder, s string, e entity) {
	m := r.resolve(e)
	if m == nil {
		escapeTo(b, s[e.start:e.end])
		return
	}
	b.WriteString(`<span class="h-card" translate="no"><a href="`)
	escapeTo(b, m.ProfileURL)
	b.WriteString(`" class="u-url mention">@<span>`)
	escapeTo(b, e.name)
	b.WriteString(`</span></a></span>`)
}

// resolve returns the resolved mention for e, or nil.
func (r *renderer) resolve(e entity) *Mention {
	domain := strings.ToLower(e.domain)
	local := strings.ToLower(r.opts.LocalDomain)
	if domain == "" {
		domain = local
	}
	key := strings.ToLower(e.name) + "@" + domain
	if m, ok := r.resolved[key]; ok {
		return m
	}
	if r.opts.Resolver == nil || r.attempts >= MaxMentions || r.ctx.Err() != nil {
		return nil // not cached: a later identical mention is not "extra"
	}
	r.attempts++
	actorID, profileURL, err := r.opts.Resolver.ResolveMention(r.ctx, e.name, domain)
	if err == nil && !isWebURL(profileURL) {
		// The profile URL comes from a remote actor document: never put a
		// javascript: or data: URL in an href. Fall back to the actor id.
		profileURL = actorID
	}
	if err != nil || !isWebURL(profileURL) {
		r.resolved[key] = nil
		return nil
	}
	m := &Mention{Username: e.name, Domain: domain, ActorID: actorID, ProfileURL: profileURL}
	r.resolved[key] = m
	r.res.Mentions = append(r.res.Mentions, *m)
	return m
}

// isWebURL reports whether s is an absolute http or https URL.
func isWebURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}

// paragraphs wraps the inline HTML h (whose only newlines come from the
// text) in <p> and <br>.
func paragraphs(h string) string {
	var b strings.Builder
	b.Grow(len(h) + 16)
	open := false
	for line := range strings.Lines(h) {
		line = strings.TrimSuffix(line, "\n")
		if strings.TrimSpace(line) == "" {
			if open {
				b.WriteString("</p>")
				open = false
			}
			continue
		}
		if open {
			b.WriteString("<br>")
		} else {
			b.WriteString("<p>")
			open = true
		}
		b.WriteString(line)
	}
	if open {
		b.WriteString("</p>")
	}
	return b.String()
}

// escapeTo writes s HTML-escaped the way Rails' ERB::Util#html_escape does.
func escapeTo(b *strings.Builder, s string) {
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&quot;"
		case '\'':
			esc = "&#39;"
		default:
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(esc)
		last = i + 1
	}
	b.WriteString(s[last:])
}

// sanitize makes text valid UTF-8 with "\n" line ends and without the
// characters HTML forbids in text.
func sanitize(text string) string {
	clean := true
	for _, r := range text {
		if r == utf8.RuneError || r == '\r' || !allowedRune(r) {
			clean = false
			break
		}
	}
	if clean {
		return text
	}
	text = strings.ToValidUTF8(text, "\uFFFD")
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	return strings.Map(func(r rune) rune {
		if !allowedRune(r) {
			return -1
		}
		return r
	}, text)
}

func allowedRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return true
	case unicode.IsControl(r): // C0, DEL and C1
		return false
	case 0xFDD0 <= r && r <= 0xFDEF, r&0xFFFE == 0xFFFE:
		return false // noncharacters
	}
	return true
}
