package feeds

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"html"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	// gofeed is the Go feed parser (RSS 0.9x/1.0/2.0, Atom 0.3/1.0 and
	// JSON Feed behind one type): it copes with what real feeds do (RFC
	// 822 dates in a dozen spellings, missing dates, xml:base, entities,
	// CDATA, non-UTF-8 charsets, sloppy XML). Since v1.4 it has no
	// dependencies beyond golang.org/x. We use its parser only: fetching
	// stays ours, through the SSRF-safe client.
	"github.com/mmcdole/gofeed"
	// bluemonday's StrictPolicy removes every tag and keeps the text; it
	// is the usual sanitizer in Go, and what Miniflux and GoToSocial use.
	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html/atom"

	nethtml "golang.org/x/net/html"
)

// Errors of a fetch or parse, wrapped with detail; match with errors.Is.
var (
	// ErrNotAFeed is a document that is neither RSS, Atom nor JSON Feed.
	ErrNotAFeed = errors.New("feeds: not an RSS or Atom feed")
	// ErrHTMLPage is an HTML page where a feed was expected (the URL of
	// the news page rather than of its feed).
	ErrHTMLPage = errors.New("feeds: an HTML page, not a feed")
	// ErrRedirectLoop is a chain of redirects that comes back to a URL
	// already visited, or is too long.
	ErrRedirectLoop = errors.New("feeds: redirect loop")
)

// Entry is one entry of a feed, normalised: plain text, absolute link.
type Entry struct {
	ID        string    // guid or id; else the link; else a hash of title and date
	Title     string    // plain text, HTML removed
	Link      string    // absolute http(s) URL; empty when the entry has none
	Summary   string    // plain text of the summary (else the content)
	Published time.Time // zero when the feed gives no date
}

// Feed is a parsed feed.
type Feed struct {
	Title   string
	Entries []Entry // in the feed's order (usually newest first)
}

// MaxEntryID is the longest entry id kept as is; longer ones are hashed.
const MaxEntryID = 512

// Parse reads an RSS, Atom or JSON feed. base is the URL the document was
// fetched from: relative links are resolved against it (and against
// xml:base in Atom). An HTML page is refused with ErrHTMLPage, naming the
// feed the page advertises when it does.
func Parse(body []byte, base *url.URL) (Feed, error) {
	if looksLikeHTML(body) {
		return Feed{}, htmlPageError(body, base)
	}
	parsed, err := gofeed.NewParser().Parse(bytes.NewReader(body))
	if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
		return Feed{}, fmt.Errorf("%w: the document is not RSS, Atom or JSON Feed", ErrNotAFeed)
	}
	if err != nil {
		return Feed{}, fmt.Errorf("%w: %v", ErrNotAFeed, err)
	}
	f := Feed{Title: plainText(parsed.Title)}
	for _, it := range parsed.Items {
		if it == nil {
			continue
		}
		e := Entry{Title: plainText(it.Title), Link: absoluteLink(base, it.Link)}
		if e.Link == "" {
			for _, l := range it.Links {
				if e.Link = absoluteLink(base, l); e.Link != "" {
					break
				}
			}
		}
		e.Summary = plainText(it.Description)
		if e.Summary == "" {
			e.Summary = plainText(it.Content)
		}
		if it.PublishedParsed != nil {
			e.Published = it.PublishedParsed.UTC()
		} else if it.UpdatedParsed != nil {
			e.Published = it.UpdatedParsed.UTC()
		}
		e.ID = entryID(it, e)
		if e.ID == "" || (e.Title == "" && e.Link == "" && e.Summary == "") {
			continue // nothing to post, nothing to recognise it by
		}
		f.Entries = append(f.Entries, e)
	}
	return f, nil
}

// entryID picks the entry's id: guid (RSS) or id (Atom), else the link,
// else a hash of what there is.
func entryID(it *gofeed.Item, e Entry) string {
	id := strings.TrimSpace(it.GUID)
	if id == "" {
		id = e.Link
	}
	if id == "" && (e.Title != "" || e.Summary != "") {
		sum := sha256.Sum256([]byte(e.Title + "\x00" + e.Summary + "\x00" + it.Published))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	if len(id) > MaxEntryID || !utf8.ValidString(id) {
		sum := sha256.Sum256([]byte(id))
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	return id
}

// absoluteLink resolves raw against base; only http and https links are
// kept (a javascript: or mailto: link is no link to post).
func absoluteLink(base *url.URL, raw string) string {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	return u.String()
}

var (
	strict = bluemonday.StrictPolicy()
	// blockTagRE finds tags that separate words when rendered, so that
	// removing them does not glue words together.
	blockTagRE = regexp.MustCompile(`(?i)<(/?(?:p|div|br|li|ul|ol|h[1-6]|tr|td|th|blockquote|section|article|figure|figcaption|hr)\b)`)
	spacesRE   = regexp.MustCompile(`\s+`)
)

// plainText turns a title or summary, which feeds fill with HTML (escaped
// or not, sometimes twice), into one line of plain text.
func plainText(s string) string {
	if s == "" {
		return ""
	}
	s = blockTagRE.ReplaceAllString(s, " <$1")
	s = html.UnescapeString(strict.Sanitize(s))
	if strings.ContainsAny(s, "<&") { // escaped HTML inside the HTML
		s = html.UnescapeString(strict.Sanitize(blockTagRE.ReplaceAllString(s, " <$1")))
	}
	return strings.TrimSpace(spacesRE.ReplaceAllString(s, " "))
}

// looksLikeHTML reports whether body is an HTML page rather than a feed.
func looksLikeHTML(body []byte) bool {
	head := bytes.TrimLeft(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")), " \t\r\n")
	if len(head) > 512 {
		head = head[:512]
	}
	lower := bytes.ToLower(head)
	for bytes.HasPrefix(lower, []byte("<!--")) { // comments before the root
		end := bytes.Index(lower, []byte("-->"))
		if end < 0 {
			return false
		}
		lower = bytes.TrimLeft(lower[end+3:], " \t\r\n")
	}
	return bytes.HasPrefix(lower, []byte("<!doctype html")) || bytes.HasPrefix(lower, []byte("<html"))
}

// htmlPageError is ErrHTMLPage with the feed the page advertises
// (<link rel="alternate" type="application/rss+xml" href="...">), if any.
func htmlPageError(body []byte, base *url.URL) error {
	if alt := advertisedFeed(body, base); alt != "" {
		return fmt.Errorf("%w: the URL answers a web page; its feed seems to be %s: configure that URL instead", ErrHTMLPage, alt)
	}
	return fmt.Errorf("%w: the URL answers a web page that advertises no feed; configure the URL of the site's RSS or Atom feed", ErrHTMLPage)
}

// advertisedFeed finds the first RSS or Atom <link rel="alternate"> of an
// HTML page.
func advertisedFeed(body []byte, base *url.URL) string {
	z := nethtml.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case nethtml.ErrorToken:
			return ""
		case nethtml.StartTagToken, nethtml.SelfClosingTagToken:
			tok := z.Token()
			if tok.DataAtom == atom.Body {
				return ""
			}
			if tok.DataAtom != atom.Link {
				continue
			}
			var rel, typ, href string
			for _, a := range tok.Attr {
				switch strings.ToLower(a.Key) {
				case "rel":
					rel = strings.ToLower(a.Val)
				case "type":
					typ = strings.ToLower(strings.TrimSpace(a.Val))
				case "href":
					href = a.Val
				}
			}
			if strings.Contains(rel, "alternate") && (typ == "application/rss+xml" || typ == "application/atom+xml" || typ == "application/feed+json") {
				if l := absoluteLink(base, href); l != "" {
					return l
				}
			}
		}
	}
}
