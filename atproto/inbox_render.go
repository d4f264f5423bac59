package atproto

import (
	"encoding/json"
	"html"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/passerelle/passerelle/sanitize"
)

// What Bluesky says to our accounts is shown in the comms team's Mastodon
// apps: a post's record (app.bsky.feed.post) becomes HTML from its text
// and its facets (links, mentions, tags), then goes through package
// sanitize as every remote post does. Facets index the text's UTF-8
// bytes; one that is out of range, overlaps another, cuts a character or
// names a link that is not http(s) is ignored and its text kept.

// Bounds of what is read from a record.
const (
	// maxRecordText bounds a post's text (Bluesky's own limit is 3,000
	// bytes; a record from another PDS may be anything).
	maxRecordText = 12 << 10
	// maxFacets bounds the facets looked at.
	maxFacets = 256
)

// feedPost is the part of an app.bsky.feed.post we read.
type feedPost struct {
	Text      string          `json:"text"`
	Facets    []facet         `json:"facets"`
	Reply     *replyRef       `json:"reply"`
	Embed     json.RawMessage `json:"embed"`
	Langs     []string        `json:"langs"`
	CreatedAt string          `json:"createdAt"`
}

type refJSON struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

type replyRef struct {
	Root   refJSON `json:"root"`
	Parent refJSON `json:"parent"`
}

type facet struct {
	Index struct {
		ByteStart int `json:"byteStart"`
		ByteEnd   int `json:"byteEnd"`
	} `json:"index"`
	Features []facetFeature `json:"features"`
}

type facetFeature struct {
	Type string `json:"$type"`
	URI  string `json:"uri"`
	DID  string `json:"did"`
	Tag  string `json:"tag"`
}

// quotedURI is the URI of the post a record quotes (embed.record, or
// embed.recordWithMedia's record), "" if none.
func (p feedPost) quotedURI() string {
	if len(p.Embed) == 0 {
		return ""
	}
	var e struct {
		Type   string          `json:"$type"`
		Record json.RawMessage `json:"record"`
	}
	if json.Unmarshal(p.Embed, &e) != nil || len(e.Record) == 0 {
		return ""
	}
	var ref struct {
		URI    string          `json:"uri"`
		Record json.RawMessage `json:"record"`
	}
	if json.Unmarshal(e.Record, &ref) != nil {
		return ""
	}
	if e.Type == "app.bsky.embed.recordWithMedia" && len(ref.Record) > 0 {
		var inner refJSON
		if json.Unmarshal(ref.Record, &inner) == nil {
			return inner.URI
		}
		return ""
	}
	return ref.URI
}

// profileURL is a Bluesky profile's page in Bluesky's web app.
func profileURL(actor string) string { return "https://bsky.app/profile/" + url.PathEscape(actor) }

// postURL is a post's page in Bluesky's web app, from its at:// URI
// (at://DID/app.bsky.feed.post/RKEY); "" for another URI.
func postURL(uri string) string {
	rest, ok := strings.CutPrefix(uri, "at://")
	if !ok {
		return ""
	}
	parts := strings.Split(rest, "/")
	if len(parts) != 3 || parts[1] != "app.bsky.feed.post" || parts[0] == "" || parts[2] == "" {
		return ""
	}
	return profileURL(parts[0]) + "/post/" + url.PathEscape(parts[2])
}

// facetSpan is a valid facet's range and what it becomes.
type facetSpan struct {
	start, end int
	feature    facetFeature
}

// validSpans keeps the facets that can be rendered, in order: in range,
// on character boundaries, not overlapping, with a feature we know.
func validSpans(text string, facets []facet) []facetSpan {
	var out []facetSpan
	for i, f := range facets {
		if i >= maxFacets {
			break
		}
		s, e := f.Index.ByteStart, f.Index.ByteEnd
		if s < 0 || e <= s || e > len(text) || !utf8.RuneStart(text[s]) || (e < len(text) && !utf8.RuneStart(text[e])) {
			continue
		}
		var feat facetFeature
		for _, ft := range f.Features {
			switch ft.Type {
			case "app.bsky.richtext.facet#link":
				if u, err := url.Parse(ft.URI); err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" {
					feat = ft
				}
			case "app.bsky.richtext.facet#mention":
				if strings.HasPrefix(ft.DID, "did:") {
					feat = ft
				}
			case "app.bsky.richtext.facet#tag":
				if t := strings.TrimPrefix(ft.Tag, "#"); t != "" && len(t) <= 640 {
					feat = ft
				}
			}
			if feat.Type != "" {
				break
			}
		}
		if feat.Type != "" {
			out = append(out, facetSpan{start: s, end: e, feature: feat})
		}
	}
	slices.SortStableFunc(out, func(a, b facetSpan) int { return a.start - b.start })
	kept := out[:0]
	last := 0
	for _, sp := range out {
		if sp.start < last {
			continue // overlaps the one before
		}
		kept = append(kept, sp)
		last = sp.end
	}
	return kept
}

// boundText cuts text to maxRecordText bytes on a character boundary,
// with an ellipsis.
func boundText(text string) string {
	if len(text) <= maxRecordText {
		return text
	}
	cut := maxRecordText
	for cut > 0 && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut] + "…"
}

// renderPost is a post's text and facets as sanitised HTML: paragraphs
// at blank lines, line breaks, links, mentions and tags.
func renderPost(text string, facets []facet) string {
	text = boundText(strings.ToValidUTF8(text, "\uFFFD"))
	var b strings.Builder
	b.WriteString("<p>")
	plain := func(s string) {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		paras := strings.Split(s, "\n\n")
		for i, p := range paras {
			if i > 0 {
				b.WriteString("</p><p>")
			}
			b.WriteString(strings.ReplaceAll(html.EscapeString(p), "\n", "<br>"))
		}
	}
	pos := 0
	for _, sp := range validSpans(text, facets) {
		plain(text[pos:sp.start])
		label := html.EscapeString(text[sp.start:sp.end])
		switch f := sp.feature; f.Type {
		case "app.bsky.richtext.facet#link":
			b.WriteString(`<a href="` + html.EscapeString(f.URI) + `">` + label + `</a>`)
		case "app.bsky.richtext.facet#mention":
			b.WriteString(`<span class="h-card"><a href="` + html.EscapeString(profileURL(f.DID)) + `" class="u-url mention">` + label + `</a></span>`)
		case "app.bsky.richtext.facet#tag":
			tag := strings.TrimPrefix(f.Tag, "#")
			b.WriteString(`<a href="https://bsky.app/hashtag/` + html.EscapeString(url.PathEscape(tag)) + `" class="mention hashtag">` + label + `</a>`)
		}
		pos = sp.end
	}
	plain(text[pos:])
	b.WriteString("</p>")
	return sanitize.HTML(b.String())
}
