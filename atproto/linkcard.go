package atproto

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/bluesky-social/indigo/api/bsky"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	"golang.org/x/net/html"

	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// Link cards (app.bsky.embed.external): Bluesky does not fetch previews
// itself, the post carries them. The page is fetched through the SSRF-safe
// client and its Open Graph tags (or <title> and the description meta tag)
// give the title, the description and the thumbnail, which is uploaded as
// a blob of at most 1,000,000 bytes. A page that cannot be fetched gives a
// card with its address only: the post never fails because of its card.

const (
	maxCardPage        = 512 << 10 // the <head> is near the start
	maxCardThumbBytes  = 1_000_000 // app.bsky.embed.external thumb
	maxCardThumbSide   = 1000
	maxCardThumbSource = 10 << 20
	maxCardTitle       = 300 // graphemes, kept short for display
	maxCardDescription = 1000
)

// pageMeta is what a page says about itself.
type pageMeta struct {
	title, description, image string
}

// fetchMeta GETs page and reads its meta tags.
func (mi *Mirror) fetchMeta(ctx context.Context, page string) (pageMeta, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, page, nil)
	if err != nil {
		return pageMeta{}, err
	}
	req.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.1")
	resp, err := mi.set.CardClient.Do(req)
	if err != nil {
		return pageMeta{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return pageMeta{}, fmt.Errorf("GET %s: status %d", page, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "html") {
		return pageMeta{}, fmt.Errorf("GET %s: not HTML (%s)", page, ct)
	}
	return parseMeta(io.LimitReader(resp.Body, maxCardPage), resp.Request.URL), nil
}

// parseMeta reads the Open Graph tags of an HTML document, falling back on
// <title> and <meta name="description">; relative image URLs are resolved
// against base.
func parseMeta(r io.Reader, base *url.URL) pageMeta {
	var (
		m               pageMeta
		title, descMeta string
		inTitle         bool
	)
	z := html.NewTokenizer(r)
loop:
	for {
		switch z.Next() {
		case html.ErrorToken:
			break loop
		case html.StartTagToken, html.SelfClosingTagToken:
			tok := z.Token()
			switch tok.Data {
			case "title":
				inTitle = true
			case "meta":
				var prop, name, content string
				for _, at := range tok.Attr {
					switch strings.ToLower(at.Key) {
					case "property":
						prop = strings.ToLower(at.Val)
					case "name":
						name = strings.ToLower(at.Val)
					case "content":
						content = strings.TrimSpace(at.Val)
					}
				}
				switch {
				case prop == "og:title" || name == "og:title":
					m.title = orKeep(m.title, content)
				case prop == "og:description" || name == "og:description":
					m.description = orKeep(m.description, content)
				case prop == "og:image" || prop == "og:image:url" || prop == "og:image:secure_url" || name == "og:image":
					m.image = orKeep(m.image, content)
				case name == "description":
					descMeta = orKeep(descMeta, content)
				case name == "twitter:image":
					m.image = orKeep(m.image, content)
				}
			case "body":
				break loop
			}
		case html.TextToken:
			if inTitle && title == "" {
				title = strings.TrimSpace(string(z.Text()))
			}
		case html.EndTagToken:
			if name, _ := z.TagName(); string(name) == "title" {
				inTitle = false
			}
		}
	}
	m.title = orKeep(m.title, title)
	m.description = orKeep(m.description, descMeta)
	if m.image != "" {
		if u, err := base.Parse(m.image); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			m.image = u.String()
		} else {
			m.image = ""
		}
	}
	return m
}

func orKeep(cur, v string) string {
	if cur != "" {
		return cur
	}
	return v
}

// cutGraphemes shortens s to n grapheme clusters, with "…" when cut.
func cutGraphemes(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if Graphemes(s) <= n {
		return s
	}
	t, _ := Truncate(Text{Text: s}, Text{Text: "…"}, n, 4*n)
	return t.Text
}

// linkCard builds the card of page. Fetch and thumbnail failures are
// logged and leave the card without them.
func (mi *Mirror) linkCard(ctx context.Context, a *account, page string) *bsky.EmbedExternal {
	ext := &bsky.EmbedExternal_External{Uri: page}
	log := mi.log.With().Str("account", a.Username).Str("url", page).Logger()
	meta, err := mi.fetchMeta(ctx, page)
	if err != nil {
		log.Info().Err(err).Msg("bluesky: link card: page not fetched")
	}
	ext.Title = cutGraphemes(meta.title, maxCardTitle)
	ext.Description = cutGraphemes(meta.description, maxCardDescription)
	if ext.Title == "" {
		if u, err := url.Parse(page); err == nil {
			ext.Title = u.Host
		}
	}
	if meta.image != "" {
		if thumb, err := mi.cardThumb(ctx, a, meta.image); err != nil {
			log.Info().Err(err).Str("image", meta.image).Msg("bluesky: link card: no thumbnail")
		} else {
			ext.Thumb = thumb
		}
	}
	return &bsky.EmbedExternal{External: ext}
}

// cardThumb fetches, fits and uploads a card's image.
func (mi *Mirror) cardThumb(ctx context.Context, a *account, src string) (*lexutil.LexBlob, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		return nil, err
	}
	resp, err := mi.set.CardClient.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	data, err := safehttp.LimitedBody(resp, maxCardThumbSource)
	if err != nil {
		return nil, err
	}
	img, err := media.Process(bytes.NewReader(data), media.Limits{MaxBytes: maxCardThumbSource})
	if err != nil {
		return nil, err
	}
	if img, err = media.Fit(img, maxCardThumbBytes, maxCardThumbSide); err != nil {
		return nil, err
	}
	return mi.uploadBlob(ctx, a, img.Data, img.MediaType)
}

// noteCard is the card of a truncated status: its own page, described
// from the status.
func (mi *Mirror) noteCard(a *account, st storage.Status, page string) *bsky.EmbedExternal {
	title := a.DisplayName
	if title == "" {
		title = "@" + a.Username
	}
	desc := Compose(st.Text, st.SpoilerText, ComposeOptions{Handles: mi.handles, LocalDomain: mi.set.HandleDomain}).Text
	return &bsky.EmbedExternal{External: &bsky.EmbedExternal_External{
		Uri:         page,
		Title:       cutGraphemes(title, maxCardTitle),
		Description: cutGraphemes(desc, maxCardDescription),
	}}
}
