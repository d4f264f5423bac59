package render

// Entities exposes the extractor that Text uses, so that other renderings
// of a post (the Bluesky mirror's rich-text facets) link exactly what the
// fediverse rendering links.

// EntityKind is what an Entity is.
type EntityKind int

// Kinds of entity.
const (
	EntityURL EntityKind = iota
	EntityTag
	EntityMention
)

// Entity is a URL, hashtag or mention in a post's text.
type Entity struct {
	Kind EntityKind
	// Start and End are byte offsets: text[Start:End] is the whole entity,
	// with its '#' or '@' sign.
	Start, End int
	// Name is the URL, the tag without '#', or the mention's username.
	Name string
	// Domain is the mention's domain as written, "" for a bare @user.
	Domain string
}

// Sanitize returns text as Text reads it: valid UTF-8, "\n" line ends,
// without control characters (other than tab and newline) and
// noncharacters. Entities' offsets refer to this form of the text.
func Sanitize(text string) string { return sanitize(text) }

// Entities returns the URLs, hashtags and mentions of text (which should
// be Sanitize's result), in order and without overlaps, by the rules of
// Text: the entity that starts first wins, so a '#' inside a URL is part of
// the URL.
func Entities(text string) []Entity {
	es := extractEntities(text, true)
	out := make([]Entity, len(es))
	for i, e := range es {
		k := EntityURL
		switch e.kind {
		case kindTag:
			k = EntityTag
		case kindMention:
			k = EntityMention
		}
		out[i] = Entity{Kind: k, Start: e.start, End: e.end, Name: e.name, Domain: e.domain}
	}
	return out
}

// ShortURL is the visible part of a link as Text shows it (Mastodon's
// shortened link): without the scheme and a leading "www.", at most 30
// characters, with "…" when cut.
func ShortURL(u string) string {
	display, suffix := splitRunes(u[len(urlPrefix(u)):], 30)
	if suffix != "" {
		display += "…"
	}
	return display
}
