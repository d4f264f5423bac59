package web

// The X exit notice pages: /x/USERNAME (and / when an account's notice is
// the home page), the remote-follow form, the QR codes and the
// link-preview card.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/reqlog"
)

// NoticeSettings enables the notice pages of the accounts that configure
// one.
type NoticeSettings struct {
	// BaseURL is the public URL, without a trailing slash.
	BaseURL string
	// Accounts give each account's notice settings and local avatar.
	Accounts []config.Account
	// Client is the SSRF-safe client, for the remote-follow lookups.
	Client *http.Client
	// AllowPrivateNetworks mirrors federation.allow_private_networks: the
	// remote-follow form then accepts IP addresses and http (local tests).
	AllowPrivateNetworks bool
}

// Remote-follow lookups in flight at once; more wait (up to their
// timeout), so the form cannot be used to flood other servers.
const maxLookups = 16

// QR codes are drawn with this many pixels per module.
const qrScale = 8

// WithNotices serves the notice pages of the accounts that configure one.
func WithNotices(set NoticeSettings) Option {
	return func(p *Pages) error {
		p.notices = map[string]*noticeAccount{}
		p.baseURL = strings.TrimRight(set.BaseURL, "/")
		p.allowPrivate = set.AllowPrivateNetworks
		p.follower = notice.Follower{Client: set.Client, AllowPrivate: set.AllowPrivateNetworks, Timeout: 5 * time.Second}
		for _, acc := range set.Accounts {
			if !acc.Notice.Enabled() {
				continue
			}
			key := strings.ToLower(acc.Username)
			if _, ok := p.profiles[key]; !ok {
				return fmt.Errorf("web: notice of unknown account %q", acc.Username)
			}
			na := &noticeAccount{cfg: acc.Notice, texts: notice.NewTexts(acc.Notice), bluesky: acc.NoticeBlueskyHandle()}
			if acc.Avatar != "" && !strings.Contains(acc.Avatar, "://") {
				na.avatarFile = acc.Avatar
			}
			p.notices[key] = na
			if acc.Notice.Home {
				p.homeNotice = key
			}
		}
		return nil
	}
}

// noticeAccount is one account's notice, with its images drawn once, on
// first use, and kept in memory.
type noticeAccount struct {
	cfg        config.Notice
	texts      *notice.Texts
	avatarFile string // local avatar for the card; remote ones are never fetched
	bluesky    string // Bluesky handle, or ""

	once   sync.Once
	images map[string]*rendered // by file name: card.png, fediverse.png, fediverse.svg, ...
	qrSize int                  // QR PNG side in pixels
	err    error
}

// noticeView is what notice.html shows.
type noticeView struct {
	Lang, Dir, OGLocale string
	T                   map[string]string
	Name                string
	Profile             Profile
	XHandle             string
	Description         string
	PageURL, CardURL    string
	CardAlt             string
	Languages           []langLink
	FollowAction        string
	FollowInput         string
	FollowError         string
	FediverseQR         string
	FediverseQRSVG      string
	FediverseQRAlt      string
	Bluesky, BlueskyURL string
	BlueskyQR           string
	BlueskyQRSVG        string
	BlueskyQRAlt        string
	QRSize              int
	Posts               []Post
	Footer              footerLinks
	Skip                string
	T2                  tr // the pages' texts (dates of the posts)
}

type langLink struct {
	Tag, Name, URL, AbsURL string
	Current                bool
}

func (p *Pages) noticeOf(name string) (Profile, *noticeAccount, bool) {
	key := strings.ToLower(name)
	na, ok := p.notices[key]
	if !ok {
		return Profile{}, nil, false
	}
	return p.profiles[key], na, true
}

func (p *Pages) noticePage(w http.ResponseWriter, r *http.Request) {
	p.serveNotice(w, r, r.PathValue("username"))
}

// serveNotice renders an account's notice in the visitor's language.
func (p *Pages) serveNotice(w http.ResponseWriter, r *http.Request, name string) {
	pr, na, ok := p.noticeOf(name)
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	explicit := r.URL.Query().Get("lang")
	if len(explicit) > maxLangParam {
		explicit = ""
	}
	lang := na.texts.Match(explicit, r.Header.Get("Accept-Language"))
	if !prefetch(r) {
		p.funnel.visit(strings.ToLower(pr.Username), visitSource(r.URL.Query()), p.now())
	}
	key := "notice|" + strings.ToLower(pr.Username) + "|" + lang
	page, err := p.cache.get(key, strings.ToLower(pr.Username), func() (*rendered, error) {
		return p.buildNotice(r, http.StatusOK, pr, na, lang, "", "")
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

func (p *Pages) noticeURL(username string) string {
	return p.baseURL + "/x/" + strings.ToLower(username)
}

func blueskyURL(handle string) string { return "https://bsky.app/profile/" + handle }

func (p *Pages) vars(pr Profile, na *noticeAccount) notice.Vars {
	name := pr.DisplayName
	if name == "" {
		name = pr.Username
	}
	return notice.Vars{
		Name: name, XHandle: na.cfg.XHandle, Handle: pr.Handle, BlueskyHandle: na.bluesky,
		URL: p.noticeURL(pr.Username), Hashtag: na.cfg.Hashtag, LeftXOn: na.cfg.LeftXDate(),
	}
}

func (p *Pages) renderNotice(w http.ResponseWriter, r *http.Request, status int, pr Profile, na *noticeAccount, lang, input, followErr string) {
	page, err := p.buildNotice(r, status, pr, na, lang, input, followErr)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.header.Set("Cache-Control", "no-store")
	page.write(w, r)
}

// buildNotice renders an account's notice page.
func (p *Pages) buildNotice(r *http.Request, status int, pr Profile, na *noticeAccount, lang, input, followErr string) (*rendered, error) {
	if err := na.draw(r.Context(), p, pr); err != nil {
		return nil, err
	}
	v := p.vars(pr, na)
	texts := make(map[string]string, len(config.NoticeTextKeys))
	for _, k := range config.NoticeTextKeys {
		texts[k] = na.texts.Get(lang, k, v)
	}
	page := p.noticeURL(pr.Username)
	view := noticeView{
		Lang: lang, Dir: notice.Direction(lang), OGLocale: notice.OGLocale(lang),
		T: texts, Name: v.Name, Profile: pr, XHandle: na.cfg.XHandle,
		PageURL: page, CardURL: page + "/card.png",
		FollowAction: "/x/" + strings.ToLower(pr.Username) + "/follow",
		FollowInput:  input, FollowError: followErr,
		FediverseQR: page + "/qr/fediverse.png", FediverseQRSVG: page + "/qr/fediverse.svg",
		FediverseQRAlt: na.texts.Get(lang, "qr_fediverse_alt", notice.Vars{URL: pr.ProfileURL}),
		QRSize:         na.qrSize,
	}
	view.Description = texts["message"] + " @" + pr.Handle
	if b := na.bluesky; b != "" {
		view.Bluesky, view.BlueskyURL = b, blueskyURL(b)
		view.BlueskyQR, view.BlueskyQRSVG = page+"/qr/bluesky.png", page+"/qr/bluesky.svg"
		view.BlueskyQRAlt = na.texts.Get(lang, "qr_bluesky_alt", notice.Vars{URL: view.BlueskyURL})
		view.Description += " · @" + b
	}
	view.CardAlt = texts["title"] + ": @" + pr.Handle
	if view.Bluesky != "" {
		view.CardAlt += ", @" + view.Bluesky
	}
	for _, l := range na.texts.Languages() {
		view.Languages = append(view.Languages, langLink{
			Tag: l, Name: notice.LanguageName(l), Current: l == lang,
			URL: "?lang=" + url.QueryEscape(l), AbsURL: page + "?lang=" + url.QueryEscape(l),
		})
	}
	posts, err := p.recent(r.Context(), pr.Username, 5)
	if err != nil {
		return nil, fmt.Errorf("list posts: %w", err)
	}
	view.Posts = posts
	ap := p.accounts[strings.ToLower(pr.Username)]
	view.T2 = ap.locale.in(ap.locale.match(lang, ""))
	view.Footer = p.footer(view.T2, ap)
	view.Skip = view.T2.T("skip")
	h := http.Header{}
	h.Set("Vary", "Accept-Language")
	h.Set("Content-Language", lang)
	return p.page(status, "notice.html", view, h)
}

// follow answers the remote-follow form: a redirect (303) to the visitor's
// server, or the page again with a message.
func (p *Pages) follow(w http.ResponseWriter, r *http.Request) {
	pr, na, ok := p.noticeOf(r.PathValue("username"))
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	ap := p.accounts[strings.ToLower(pr.Username)]
	if !p.allow(w, r, ap, p.followLimit) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		p.badRequest(w, r, ap)
		return
	}
	lang := na.texts.Match(r.PostForm.Get("lang"), r.Header.Get("Accept-Language"))
	input := r.PostForm.Get("server")
	shown := input
	if len(shown) > notice.MaxRemoteInput {
		shown = shown[:notice.MaxRemoteInput]
	}
	v := p.vars(pr, na)
	rem, err := notice.ParseRemote(input, p.allowPrivate)
	if err != nil {
		key := "error_invalid"
		if errors.Is(err, notice.ErrPrivateRemote) {
			key = "error_private"
		}
		p.renderNotice(w, r, http.StatusUnprocessableEntity, pr, na, lang, shown, na.texts.Get(lang, key, v, "input", strings.TrimSpace(shown)))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 8*time.Second)
	defer cancel()
	target, err := p.lookup(ctx, rem, pr.ActorURL)
	switch {
	case errors.Is(err, notice.ErrPrivateRemote):
		p.renderNotice(w, r, http.StatusUnprocessableEntity, pr, na, lang, shown, na.texts.Get(lang, "error_private", v, "input", strings.TrimSpace(shown)))
		return
	case err != nil:
		reqlog.Logger(ctx, p.log).Info().Err(err).Str("server", rem.Host).Msg("remote follow: server unreachable")
		p.renderNotice(w, r, http.StatusBadGateway, pr, na, lang, shown, na.texts.Get(lang, "error_unreachable", v, "server", rem.Host))
		return
	}
	if err := p.followStart(ctx, strings.ToLower(pr.Username), target); err != nil {
		// Counting must not stand between the visitor and their server.
		reqlog.Logger(ctx, p.log).Warn().Err(err).Msg("notice funnel: follow start not counted")
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// draw makes the account's card and QR codes once.
func (na *noticeAccount) draw(ctx context.Context, p *Pages, pr Profile) error {
	na.once.Do(func() { na.err = na.drawImages(ctx, p, pr) })
	return na.err
}

func (na *noticeAccount) drawImages(ctx context.Context, p *Pages, pr Profile) error {
	na.images = map[string]*rendered{}
	// notice.png and .svg: the notice page itself, for posters and print,
	// counted as "qr" in the funnel (funnel.go).
	targets := map[string]string{"fediverse": pr.ProfileURL, "notice": p.noticeURL(pr.Username) + "?src=qr"}
	if b := na.bluesky; b != "" {
		targets["bluesky"] = blueskyURL(b)
	}
	for name, content := range targets {
		q, err := notice.NewQR(content)
		if err != nil {
			return err
		}
		png, err := q.PNG(qrScale)
		if err != nil {
			return err
		}
		na.images[name+".png"] = imageRendered(png, "image/png", p.now())
		na.images[name+".svg"] = imageRendered(q.SVG(), "image/svg+xml", p.now())
		if name != "notice" { // the page shows the other two
			na.qrSize = max(na.qrSize, (q.Size()+2*notice.QuietZone)*qrScale)
		}
	}
	v := p.vars(pr, na)
	in := notice.CardInput{
		Name: v.Name, Subtitle: na.texts.Get(na.texts.Default(), "title", v),
		Handle: pr.Handle, BlueskyHandle: v.BlueskyHandle,
	}
	if na.avatarFile != "" {
		img, err := notice.LoadAvatar(na.avatarFile)
		if err != nil {
			reqlog.Logger(ctx, p.log).Warn().Err(err).Str("account", pr.Username).Msg("notice card without avatar")
		} else {
			in.Avatar = img
		}
	}
	card, err := notice.Card(in)
	if err != nil {
		return err
	}
	na.images["card.png"] = imageRendered(card, "image/png", p.now())
	return nil
}

// noticeImage serves the card (/x/NAME/card.png) and the QR codes
// (/x/NAME/qr/fediverse.png, .svg; bluesky.png, .svg; notice.png, .svg:
// the notice page, for posters).
func (p *Pages) noticeImage(w http.ResponseWriter, r *http.Request) {
	pr, na, ok := p.noticeOf(r.PathValue("username"))
	if !ok {
		p.notFound(w, r, nil)
		return
	}
	if err := na.draw(r.Context(), p, pr); err != nil {
		p.fail(w, r, err)
		return
	}
	file := "card.png"
	if f := r.PathValue("file"); f != "" {
		file = f
		if file == "card.png" {
			file = "" // only at /x/NAME/card.png
		}
	}
	img, ok := na.images[file]
	if !ok {
		p.notFound(w, r, p.accounts[strings.ToLower(pr.Username)])
		return
	}
	img.write(w, r)
}
