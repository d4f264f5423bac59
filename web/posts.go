package web

import (
	"context"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/passerelle/passerelle/storage"
)

// Post is a status as the pages show it.
type Post struct {
	ID          int64
	URL         string // permalink
	NoteID      string // AS2 id
	Account     string
	Text        string        // source text, plain
	ContentHTML template.HTML // rendered by us from escaped text
	SpoilerText string
	Language    string
	CreatedAt   time.Time
	EditedAt    time.Time
	Media       []PostMedia
	Tags        []string
	Poll        *PostPoll // nil: none
}

// PostPoll is a post's poll, shown read-only (votes come from the
// fediverse).
type PostPoll struct {
	Options    []PostPollOption
	EndsAt     time.Time
	Ended      bool
	ShowTotals bool // false while a hide_totals poll runs
	Voters     int64
}

// PostPollOption is one option and its share of the votes.
type PostPollOption struct {
	Title   string
	Votes   int64
	Percent int64
}

// VotersText is the number of voters, for the template.
func (p PostPoll) VotersText() string { return strconv.FormatInt(p.Voters, 10) }

// toPoll reads the poll of status id; nil when it has none.
func (p *Pages) toPoll(ctx context.Context, id int64) (*PostPoll, error) {
	sp, err := p.store.GetPoll(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := &PostPoll{EndsAt: sp.ExpiresAt, Ended: !sp.ClosedAt.IsZero() || !time.Now().Before(sp.ExpiresAt), Voters: sp.VotersCount}
	out.ShowTotals = out.Ended || !sp.HideTotals
	total := sp.VotesCount()
	for _, o := range sp.Options {
		po := PostPollOption{Title: o.Title}
		if out.ShowTotals {
			po.Votes = o.Votes
			if total > 0 {
				po.Percent = o.Votes * 100 / total
			}
		}
		out.Options = append(out.Options, po)
	}
	return out, nil
}

// PostMedia is an image or a video of a post.
type PostMedia struct {
	URL           string
	Alt           string
	MediaType     string
	Size          int64
	Width, Height int
	Poster        string // a video's poster frame (JPEG), "" for an image
	Loop          bool   // a GIF made a video: plays muted, in a loop
}

// Video reports whether the media is a video.
func (m PostMedia) Video() bool { return strings.HasPrefix(m.MediaType, "video/") }

// Updated is the last change of the post.
func (p Post) Updated() time.Time {
	if p.EditedAt.After(p.CreatedAt) {
		return p.EditedAt
	}
	return p.CreatedAt
}

// pagePosts is how many posts a profile or tag page lists.
const pagePosts = 20

var pageVisibilities = []string{storage.VisibilityPublic}

func (p *Pages) toPost(ctx context.Context, st storage.Status) (Post, error) {
	post := Post{
		ID: st.ID, URL: p.links.NoteURL(st.Account, st.ID), NoteID: p.links.Note(st.Account, st.ID),
		Account: st.Account, Text: st.Text, ContentHTML: template.HTML(st.ContentHTML), SpoilerText: st.SpoilerText,
		Language: st.Language, CreatedAt: st.CreatedAt, EditedAt: st.EditedAt,
	}
	for _, t := range st.Tags {
		post.Tags = append(post.Tags, t.Name)
	}
	poll, err := p.toPoll(ctx, st.ID)
	if err != nil {
		return Post{}, err
	}
	post.Poll = poll
	if len(st.MediaIDs) == 0 {
		return post, nil
	}
	media, err := p.store.ListStatusMedia(ctx, st.ID)
	if err != nil {
		return Post{}, err
	}
	for _, m := range media {
		pm := PostMedia{
			URL: p.links.Media(m.ID, m.MediaType), Alt: m.Description, MediaType: m.MediaType, Size: m.Size,
			Width: m.Width, Height: m.Height,
		}
		if pm.Video() {
			pm.Poster, pm.Loop = p.links.MediaPoster(m.ID), m.Loop
		}
		post.Media = append(post.Media, pm)
	}
	return post, nil
}

func (p *Pages) toPosts(ctx context.Context, rows []storage.Status) ([]Post, error) {
	posts := make([]Post, 0, len(rows))
	for _, st := range rows {
		post, err := p.toPost(ctx, st)
		if err != nil {
			return nil, err
		}
		posts = append(posts, post)
	}
	return posts, nil
}

// recent returns an account's latest public posts, below maxID when not 0.
func (p *Pages) recent(ctx context.Context, account string, limit int, maxID ...int64) ([]Post, error) {
	page := storage.StatusPage{Account: strings.ToLower(account), Limit: limit, Visibilities: pageVisibilities}
	if len(maxID) > 0 {
		page.MaxID = maxID[0]
	}
	rows, err := p.store.ListStatuses(ctx, page)
	if err != nil {
		return nil, err
	}
	return p.toPosts(ctx, rows)
}

// parseMaxID reads ?max_id=: 0 when absent; false when it is not a
// positive 64-bit number.
func parseMaxID(r *http.Request) (int64, bool) {
	s := r.URL.Query().Get("max_id")
	if s == "" {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// account serves /@name (the profile) and /@name.rss, /@name.atom.
func (p *Pages) account(w http.ResponseWriter, r *http.Request) {
	at := r.PathValue("at")
	for _, f := range []string{"rss", "atom"} {
		if base, ok := strings.CutSuffix(at, "."+f); ok {
			if pr, ap, ok := p.lookupAccount(base); ok {
				p.accountFeed(w, r, pr, ap, f)
				return
			}
		}
	}
	pr, ap, ok := p.lookupAccount(at)
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	if p.redirectMoved(w, r, pr.Username) { // moves.go: the account lives elsewhere now
		return
	}
	maxID, ok := parseMaxID(r)
	if !ok {
		p.badRequest(w, r, ap)
		return
	}
	lang := langOf(r, ap.locale)
	if maxID != 0 { // older posts: not cached, limited per client
		if !p.allow(w, r, ap, p.pagingLimit) {
			return
		}
		page, err := p.profilePage(r.Context(), pr, ap, lang, maxID, nil)
		if err != nil {
			p.fail(w, r, err)
			return
		}
		page.header.Set("Cache-Control", "no-cache")
		page.write(w, r)
		return
	}
	key := "profile|" + strings.ToLower(pr.Username) + "|" + lang
	page, err := p.cache.get(key, strings.ToLower(pr.Username), func() (*rendered, error) {
		return p.profilePage(context.WithoutCancel(r.Context()), pr, ap, lang, 0, nil)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

// profilePage renders a profile: counts, the remote-follow form, pinned
// posts (first page), the latest public posts (below maxID when set).
func (p *Pages) profilePage(ctx context.Context, pr Profile, ap *accountPages, lang string, maxID int64, form *followForm) (*rendered, error) {
	name := strings.ToLower(pr.Username)
	var err error
	if pr.Followers, err = p.store.CountFollowers(ctx, name, storage.FollowerAccepted); err != nil {
		return nil, fmt.Errorf("count followers: %w", err)
	}
	if pr.Posts, err = p.store.CountStatuses(ctx, name, []string{storage.VisibilityPublic, storage.VisibilityUnlisted}); err != nil {
		return nil, fmt.Errorf("count posts: %w", err)
	}
	v := p.baseView(ap, lang, pr.ProfileURL)
	v.Profile = &pr
	if form == nil {
		form = &followForm{}
	}
	form.Action = "/follow/" + name
	v.Follow = form
	if maxID == 0 {
		pinned, err := p.store.ListPinned(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("list pinned: %w", err)
		}
		pinned = publicOnly(pinned)
		if v.Pinned, err = p.toPosts(ctx, pinned); err != nil {
			return nil, err
		}
	}
	if v.Posts, err = p.recent(ctx, name, pagePosts+1, maxID); err != nil {
		return nil, fmt.Errorf("list posts: %w", err)
	}
	if len(v.Posts) > pagePosts {
		v.Posts = v.Posts[:pagePosts]
		v.Older = pr.ProfileURL + "?max_id=" + strconv.FormatInt(v.Posts[pagePosts-1].ID, 10)
		if lang != ap.locale.langs[0] {
			v.Older += "&lang=" + lang
		}
	}
	v.Title = pr.Name() + " (@" + pr.Handle + ")"
	v.Description = plainText(string(pr.SummaryHTML))
	if v.Description == "" {
		v.Description = "@" + pr.Handle
	}
	v.Creator = pr.Handle
	v.Alternates = p.accountAlternates(pr)
	v.Feeds = v.Alternates[1:]
	v.OG = &ogMeta{
		Type: "profile", Title: v.Title, Description: v.Description, URL: pr.ProfileURL, Locale: v.OGLocale(),
		Image: pr.ProfileURL + "/card.png", ImageType: "image/png", ImageWidth: 1200, ImageHeight: 630,
		ImageAlt: pr.Name() + ": @" + pr.Handle, Card: "summary_large_image",
	}
	h := http.Header{}
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language")
	h.Set("Link", linkHeader(v.Alternates))
	if form.Error != "" {
		return p.page(http.StatusUnprocessableEntity, "profile.html", v, h)
	}
	return p.page(http.StatusOK, "profile.html", v, h)
}

func publicOnly(ss []storage.Status) []storage.Status {
	out := ss[:0:0]
	for _, st := range ss {
		if st.Visibility == storage.VisibilityPublic || st.Visibility == storage.VisibilityUnlisted {
			out = append(out, st)
		}
	}
	return out
}

// accountAlternates are the AS2 actor and the feeds of an account.
func (p *Pages) accountAlternates(pr Profile) []alternate {
	return []alternate{
		{Type: "application/activity+json", Href: pr.ActorURL},
		{Type: "application/rss+xml", Href: pr.ProfileURL + ".rss", Title: "RSS"},
		{Type: "application/atom+xml", Href: pr.ProfileURL + ".atom", Title: "Atom"},
	}
}

func linkHeader(alts []alternate) string {
	parts := make([]string, 0, len(alts))
	for _, a := range alts {
		parts = append(parts, `<`+a.Href+`>; rel="alternate"; type="`+a.Type+`"`)
	}
	return strings.Join(parts, ", ")
}

// accountItem serves /@name/ID (a post), /@name/card.png and
// /@name/accessibility.
func (p *Pages) accountItem(w http.ResponseWriter, r *http.Request) {
	pr, ap, ok := p.lookupAccount(r.PathValue("at"))
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	switch r.PathValue("id") {
	case "card.png":
		p.profileCard(w, r, pr, ap)
		return
	case "accessibility":
		p.statement(w, r, pr, ap)
		return
	}
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		p.notFound(w, r, ap)
		return
	}
	lang := langOf(r, ap.locale)
	key := "post|" + strings.ToLower(pr.Username) + "|" + strconv.FormatInt(id, 10) + "|" + lang
	page, err := p.cache.get(key, strings.ToLower(pr.Username), func() (*rendered, error) {
		return p.postPage(context.WithoutCancel(r.Context()), r, pr, ap, id, lang)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

// parseID reads a status id: digits only, positive, at most 64 bits.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 19 || strings.Trim(s, "0123456789") != "" {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

// liveStatus loads a status of account that the pages may show: 404 for
// none (or another account's, or a followers-only or direct one), 410
// with its deletion date for a deleted one.
func (p *Pages) liveStatus(ctx context.Context, account string, id int64) (storage.Status, int, error) {
	st, err := p.store.GetStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (st.Account != strings.ToLower(account) ||
		(st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted))) {
		return storage.Status{}, http.StatusNotFound, nil
	}
	if err != nil {
		return storage.Status{}, 0, err
	}
	if !st.DeletedAt.IsZero() {
		return st, http.StatusGone, nil
	}
	return st, http.StatusOK, nil
}

// shownStatus is liveStatus for a page of the status: the styled 404 or
// 410 (with the deletion date) as the page when it may not be shown.
func (p *Pages) shownStatus(ctx context.Context, r *http.Request, pr Profile, ap *accountPages, id int64, lang string) (storage.Status, *rendered, error) {
	st, status, err := p.liveStatus(ctx, pr.Username, id)
	var page *rendered
	switch {
	case err != nil:
	case status == http.StatusNotFound:
		page, err = p.errorPage(r, ap, http.StatusNotFound)
	case status == http.StatusGone:
		page, err = p.errorPage(r, ap, http.StatusGone, "date", ap.locale.in(lang).Date(st.DeletedAt))
	}
	return st, page, err
}

func (p *Pages) postPage(ctx context.Context, r *http.Request, pr Profile, ap *accountPages, id int64, lang string) (*rendered, error) {
	st, errPage, err := p.shownStatus(ctx, r, pr, ap, id, lang)
	if err != nil || errPage != nil {
		return errPage, err
	}
	post, err := p.toPost(ctx, st)
	if err != nil {
		return nil, err
	}
	v := p.baseView(ap, lang, post.URL)
	v.Profile, v.Post = &pr, &post
	v.Moved = p.movedTo(ctx, pr.Username)
	v.Follow = &followForm{Action: "/follow/" + strings.ToLower(pr.Username)}
	excerpt := truncate(post.Text, 60)
	if post.SpoilerText != "" {
		excerpt = truncate(post.SpoilerText, 60)
	}
	v.Title = v.T("post_title", "name", pr.Name(), "text", excerpt)
	v.Description = truncate(post.Text, 200)
	if post.SpoilerText != "" {
		v.Description = v.T("content_warning", "text", post.SpoilerText) // the warning, never what it hides
	}
	v.Creator = pr.Handle
	v.Alternates = append([]alternate{{Type: "application/activity+json", Href: post.NoteID}}, p.accountAlternates(pr)[1:]...)
	v.Alternates = append(v.Alternates, alternate{Type: "application/json+oembed", Href: p.baseURL + "/api/oembed?url=" + url.QueryEscape(post.URL), Title: "oEmbed"})
	v.Feeds = p.accountAlternates(pr)[1:]
	v.OG = &ogMeta{
		Type: "article", Title: pr.Name() + " (@" + pr.Handle + ")", Description: v.Description, URL: post.URL, Locale: v.OGLocale(),
		Image: pr.ProfileURL + "/card.png", ImageType: "image/png", ImageWidth: 1200, ImageHeight: 630,
		ImageAlt: pr.Name() + ": @" + pr.Handle, Card: "summary_large_image",
		Published: post.CreatedAt.UTC().Format(time.RFC3339),
	}
	if len(post.Media) > 0 && post.SpoilerText == "" {
		m := post.Media[0]
		v.OG.Image, v.OG.ImageType, v.OG.ImageWidth, v.OG.ImageHeight, v.OG.ImageAlt = m.URL, m.MediaType, m.Width, m.Height, m.Alt
		if m.Video() { // its poster frame
			v.OG.Image, v.OG.ImageType = m.Poster, "image/jpeg"
		}
	}
	h := http.Header{}
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language")
	h.Set("Link", linkHeader(v.Alternates[:1]))
	return p.page(http.StatusOK, "post.html", v, h)
}

// tagName checks a hashtag taken from a URL: letters, digits, marks and
// underscores, at most 100 characters.
func tagName(s string) (string, bool) {
	if s == "" || utf8.RuneCountInString(s) > 100 || !utf8.ValidString(s) {
		return "", false
	}
	for _, r := range s {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r) || r == '_') {
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// tagScan is how many latest public posts of each account a tag page
// looks through.
const tagScan = 200

// tagged lists the public posts carrying a hashtag, newest first (the
// latest tagScan of each account looked through), at most limit.
func (p *Pages) tagged(ctx context.Context, tag string, limit int) ([]Post, error) {
	var rows []storage.Status
	for _, name := range p.order {
		page, err := p.store.ListStatuses(ctx, storage.StatusPage{Account: name, Limit: tagScan, Visibilities: pageVisibilities})
		if err != nil {
			return nil, err
		}
		for _, st := range page {
			for _, t := range st.Tags {
				if strings.ToLower(t.Name) == tag {
					rows = append(rows, st)
					break
				}
			}
		}
	}
	// Newest first across accounts (ids are time-ordered).
	for i := 1; i < len(rows); i++ {
		for j := i; j > 0 && rows[j].CreatedAt.After(rows[j-1].CreatedAt); j-- {
			rows[j], rows[j-1] = rows[j-1], rows[j]
		}
	}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	return p.toPosts(ctx, rows)
}

// tag serves /tags/NAME and its feeds /tags/NAME.rss, /tags/NAME.atom.
func (p *Pages) tag(w http.ResponseWriter, r *http.Request) {
	raw := r.PathValue("tag")
	for _, f := range []string{"rss", "atom"} {
		if base, ok := strings.CutSuffix(raw, "."+f); ok {
			if tag, ok := tagName(base); ok {
				p.tagFeed(w, r, tag, f)
				return
			}
		}
	}
	tag, ok := tagName(raw)
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	lang := langOf(r, p.site)
	page, err := p.cache.get("tag|"+tag+"|"+lang, "*", func() (*rendered, error) {
		posts, err := p.tagged(context.WithoutCancel(r.Context()), tag, pagePosts)
		if err != nil {
			return nil, err
		}
		if len(posts) == 0 {
			return p.errorPage(r, nil, http.StatusNotFound)
		}
		v := p.baseView(nil, lang, p.links.Tag(tag))
		v.Tag, v.Posts = tag, posts
		v.Title = v.T("tag_title", "tag", tag)
		v.Description = v.T("tag_description", "tag", tag, "site", v.SiteName)
		v.Feeds = []alternate{
			{Type: "application/rss+xml", Href: p.links.Tag(tag) + ".rss", Title: "RSS"},
			{Type: "application/atom+xml", Href: p.links.Tag(tag) + ".atom", Title: "Atom"},
		}
		v.Alternates = v.Feeds
		h := http.Header{}
		h.Set("Content-Language", lang)
		h.Set("Vary", "Accept-Language")
		return p.page(http.StatusOK, "tag.html", v, h)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

func (p *Pages) home(w http.ResponseWriter, r *http.Request) {
	if p.homeNotice != "" {
		p.serveNotice(w, r, p.homeNotice)
		return
	}
	lang := langOf(r, p.site)
	page, err := p.cache.get("home|"+lang, "*", func() (*rendered, error) {
		v := p.baseView(nil, lang, p.baseURL+"/")
		for _, k := range p.order {
			v.Profiles = append(v.Profiles, p.profiles[k])
		}
		v.Title = v.T("home_title")
		v.Description = v.T("home_intro")
		h := http.Header{}
		h.Set("Content-Language", lang)
		h.Set("Vary", "Accept-Language")
		return p.page(http.StatusOK, "home.html", v, h)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

var tagsRE = regexp.MustCompile(`(?s)<[^>]*>`)

// plainText is an HTML fragment's text.
func plainText(s string) string {
	s = strings.ReplaceAll(s, "</p>", "</p> ")
	s = strings.ReplaceAll(s, "<br>", " ")
	return strings.Join(strings.Fields(html.UnescapeString(tagsRE.ReplaceAllString(s, ""))), " ")
}

// truncate cuts s to at most n characters on a word, with an ellipsis.
func truncate(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)[:n]
	cut := string(r)
	if i := strings.LastIndexByte(cut, ' '); i > n/2 {
		cut = cut[:i]
	}
	return strings.TrimRight(cut, " ,.;:") + "…"
}

func (p *Pages) profileFollow(w http.ResponseWriter, r *http.Request) {
	pr, ap, ok := p.lookupAccount("@" + r.PathValue("username"))
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	p.remoteFollow(w, r, pr, ap.locale, func(lang, input, msg string, status int) {
		page, err := p.profilePage(r.Context(), pr, ap, lang, 0, &followForm{Input: input, Error: msg})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		page.status = status
		page.header.Set("Cache-Control", "no-store")
		page.write(w, r)
	}, ap)
}
