package web

// RSS 2.0 and Atom feeds of an account's public posts (/@NAME.rss,
// /@NAME.atom) and of a hashtag's (/tags/NAME.rss, /tags/NAME.atom), with
// the images as enclosures (and Media RSS, which Mastodon's feeds use):
// what newsletters, website widgets and other platforms' page tools read.

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// feedPosts is how many posts a feed carries.
const feedPosts = 20

type feedMeta struct {
	Title, Description, Link, Self, Lang string
	Author, AuthorURL, Image             string
}

type rss struct {
	XMLName xml.Name   `xml:"rss"`
	Version string     `xml:"version,attr"`
	Atom    string     `xml:"xmlns:atom,attr"`
	Media   string     `xml:"xmlns:media,attr"`
	Channel rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Language      string    `xml:"language,omitempty"`
	LastBuildDate string    `xml:"lastBuildDate,omitempty"`
	Generator     string    `xml:"generator"`
	Self          atomLink  `xml:"atom:link"`
	Image         *rssImage `xml:"image,omitempty"`
	Items         []rssItem `xml:"item"`
}

type rssImage struct {
	URL   string `xml:"url"`
	Title string `xml:"title"`
	Link  string `xml:"link"`
}

type rssItem struct {
	Title       string         `xml:"title,omitempty"`
	Link        string         `xml:"link"`
	GUID        rssGUID        `xml:"guid"`
	PubDate     string         `xml:"pubDate"`
	Description string         `xml:"description"`
	Enclosure   *rssEnclosure  `xml:"enclosure,omitempty"`
	Media       []mediaContent `xml:"media:content"`
	Categories  []string       `xml:"category"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type rssEnclosure struct {
	URL    string `xml:"url,attr"`
	Length int64  `xml:"length,attr"`
	Type   string `xml:"type,attr"`
}

type mediaContent struct {
	URL         string            `xml:"url,attr"`
	Type        string            `xml:"type,attr"`
	FileSize    int64             `xml:"fileSize,attr,omitempty"`
	Medium      string            `xml:"medium,attr"`
	Width       int               `xml:"width,attr,omitempty"`
	Height      int               `xml:"height,attr,omitempty"`
	Description *mediaDescription `xml:"media:description,omitempty"`
}

type mediaDescription struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

type atomLink struct {
	Href   string `xml:"href,attr"`
	Rel    string `xml:"rel,attr,omitempty"`
	Type   string `xml:"type,attr,omitempty"`
	Length int64  `xml:"length,attr,omitempty"`
	Title  string `xml:"title,attr,omitempty"`
}

type atomFeed struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang      string      `xml:"xml:lang,attr,omitempty"`
	ID        string      `xml:"id"`
	Title     string      `xml:"title"`
	Subtitle  string      `xml:"subtitle,omitempty"`
	Updated   string      `xml:"updated"`
	Links     []atomLink  `xml:"link"`
	Author    *atomPerson `xml:"author,omitempty"`
	Icon      string      `xml:"icon,omitempty"`
	Generator string      `xml:"generator"`
	Entries   []atomEntry `xml:"entry"`
}

type atomPerson struct {
	Name string `xml:"name"`
	URI  string `xml:"uri,omitempty"`
}

type atomEntry struct {
	Lang       string         `xml:"xml:lang,attr,omitempty"`
	ID         string         `xml:"id"`
	Title      string         `xml:"title"`
	Published  string         `xml:"published"`
	Updated    string         `xml:"updated"`
	Author     *atomPerson    `xml:"author,omitempty"`
	Links      []atomLink     `xml:"link"`
	Summary    *atomText      `xml:"summary,omitempty"`
	Content    atomText       `xml:"content"`
	Categories []atomCategory `xml:"category"`
}

type atomText struct {
	Type  string `xml:"type,attr"`
	Value string `xml:",chardata"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

// feedHTML is a post's content as a feed carries it: its warning first,
// then its text and its images with their alt texts.
func feedHTML(p Post) string {
	var b strings.Builder
	if p.SpoilerText != "" {
		b.WriteString("<p><strong>")
		xml.EscapeText(&b, []byte(p.SpoilerText))
		b.WriteString("</strong></p>")
	}
	b.WriteString(string(p.ContentHTML))
	for _, m := range p.Media {
		if m.Video() {
			b.WriteString(`<p><video controls src="`)
			xml.EscapeText(&b, []byte(m.URL))
			b.WriteString(`" poster="`)
			xml.EscapeText(&b, []byte(m.Poster))
			b.WriteString(`" title="`)
			xml.EscapeText(&b, []byte(m.Alt))
			b.WriteString(`"></video></p>`)
			continue
		}
		b.WriteString(`<p><img src="`)
		xml.EscapeText(&b, []byte(m.URL))
		b.WriteString(`" alt="`)
		xml.EscapeText(&b, []byte(m.Alt))
		b.WriteString(`"></p>`)
	}
	return b.String()
}

func (p *Pages) renderRSS(meta feedMeta, posts []Post, authorOf func(Post) string) (*rendered, error) {
	ch := rssChannel{
		Title: meta.Title, Link: meta.Link, Description: meta.Description, Language: meta.Lang,
		Generator: "Passerelle", Self: atomLink{Href: meta.Self, Rel: "self", Type: "application/rss+xml"},
	}
	if meta.Image != "" {
		ch.Image = &rssImage{URL: meta.Image, Title: meta.Title, Link: meta.Link}
	}
	if len(posts) > 0 {
		ch.LastBuildDate = posts[0].Updated().UTC().Format(time.RFC1123Z)
	}
	for _, post := range posts {
		it := rssItem{
			Link: post.URL, GUID: rssGUID{IsPermaLink: true, Value: post.URL},
			PubDate: post.CreatedAt.UTC().Format(time.RFC1123Z), Description: feedHTML(post),
			Categories: post.Tags,
		}
		if authorOf != nil {
			it.Title = authorOf(post)
		}
		for i, m := range post.Media {
			if i == 0 {
				it.Enclosure = &rssEnclosure{URL: m.URL, Length: m.Size, Type: m.MediaType}
			}
			medium := "image"
			if m.Video() {
				medium = "video"
			}
			mc := mediaContent{URL: m.URL, Type: m.MediaType, FileSize: m.Size, Medium: medium, Width: m.Width, Height: m.Height}
			if m.Alt != "" {
				mc.Description = &mediaDescription{Type: "plain", Value: m.Alt}
			}
			it.Media = append(it.Media, mc)
		}
		ch.Items = append(ch.Items, it)
	}
	doc := rss{Version: "2.0", Atom: "http://www.w3.org/2005/Atom", Media: "http://search.yahoo.com/mrss/", Channel: ch}
	return feedBody(doc, "application/rss+xml; charset=utf-8", meta.Self)
}

func (p *Pages) renderAtom(meta feedMeta, posts []Post, authorOf func(Post) (string, string)) (*rendered, error) {
	f := atomFeed{
		Lang: meta.Lang, ID: meta.Self, Title: meta.Title, Subtitle: meta.Description, Icon: meta.Image, Generator: "Passerelle",
		Links: []atomLink{
			{Href: meta.Link, Rel: "alternate", Type: "text/html"},
			{Href: meta.Self, Rel: "self", Type: "application/atom+xml"},
		},
		Updated: p.started.UTC().Format(time.RFC3339),
	}
	if meta.Author != "" {
		f.Author = &atomPerson{Name: meta.Author, URI: meta.AuthorURL}
	}
	if len(posts) > 0 {
		f.Updated = posts[0].Updated().UTC().Format(time.RFC3339)
	}
	for _, post := range posts {
		e := atomEntry{
			Lang: post.Language, ID: post.NoteID, Title: truncate(post.Text, 80),
			Published: post.CreatedAt.UTC().Format(time.RFC3339), Updated: post.Updated().UTC().Format(time.RFC3339),
			Links:   []atomLink{{Href: post.URL, Rel: "alternate", Type: "text/html"}},
			Content: atomText{Type: "html", Value: feedHTML(post)},
		}
		if post.SpoilerText != "" {
			e.Title = post.SpoilerText
			e.Summary = &atomText{Type: "text", Value: post.SpoilerText}
		}
		if e.Title == "" {
			e.Title = post.URL
		}
		if authorOf != nil {
			name, uri := authorOf(post)
			e.Author = &atomPerson{Name: name, URI: uri}
		}
		for _, m := range post.Media {
			e.Links = append(e.Links, atomLink{Href: m.URL, Rel: "enclosure", Type: m.MediaType, Length: m.Size, Title: m.Alt})
		}
		for _, t := range post.Tags {
			e.Categories = append(e.Categories, atomCategory{Term: t})
		}
		f.Entries = append(f.Entries, e)
	}
	return feedBody(f, "application/atom+xml; charset=utf-8", meta.Self)
}

func feedBody(doc any, contentType, self string) (*rendered, error) {
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", " ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteByte('\n')
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*") // website widgets read feeds from the browser
	h.Set("Link", `<`+self+`>; rel="self"`)
	return &rendered{status: http.StatusOK, body: buf.Bytes(), header: h}, nil
}

// accountFeed serves /@NAME.rss and /@NAME.atom.
func (p *Pages) accountFeed(w http.ResponseWriter, r *http.Request, pr Profile, ap *accountPages, format string) {
	name := strings.ToLower(pr.Username)
	page, err := p.cache.get(format+"|"+name, name, func() (*rendered, error) {
		posts, err := p.recent(context.WithoutCancel(r.Context()), name, feedPosts)
		if err != nil {
			return nil, err
		}
		meta := feedMeta{
			Title: pr.Name() + " (@" + pr.Handle + ")", Link: pr.ProfileURL, Self: pr.ProfileURL + "." + format,
			Description: plainText(string(pr.SummaryHTML)), Lang: ap.locale.langs[0],
			Author: pr.Name(), AuthorURL: pr.ProfileURL, Image: pr.AvatarURL,
		}
		if meta.Description == "" {
			meta.Description = "@" + pr.Handle
		}
		if format == "rss" {
			return p.renderRSS(meta, posts, nil)
		}
		return p.renderAtom(meta, posts, nil)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

// tagFeed serves /tags/NAME.rss and /tags/NAME.atom (404 for a tag no
// post carries).
func (p *Pages) tagFeed(w http.ResponseWriter, r *http.Request, tag, format string) {
	page, err := p.cache.get("tag"+format+"|"+tag, "*", func() (*rendered, error) {
		posts, err := p.tagged(context.WithoutCancel(r.Context()), tag, feedPosts)
		if err != nil {
			return nil, err
		}
		if len(posts) == 0 {
			return p.errorPage(r, nil, http.StatusNotFound)
		}
		t := p.site.in(p.site.langs[0])
		meta := feedMeta{
			Title: "#" + tag, Link: p.links.Tag(tag), Self: p.links.Tag(tag) + "." + format,
			Description: t.T("tag_description", "tag", tag, "site", p.siteName()),
		}
		if format == "rss" {
			return p.renderRSS(meta, posts, func(post Post) string {
				return p.profiles[post.Account].Name() + " (@" + p.profiles[post.Account].Handle + ")"
			})
		}
		return p.renderAtom(meta, posts, func(post Post) (string, string) {
			pr := p.profiles[post.Account]
			return pr.Name(), pr.ProfileURL
		})
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}
