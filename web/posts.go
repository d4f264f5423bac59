package web

import (
	"cmp"
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Post is a status as the pages show it.
type Post struct {
	ID          int64
	URL         string // permalink
	NoteID      string // AS2 id
	Account     string
	ContentHTML template.HTML // rendered by us from escaped text
	SpoilerText string
	Language    string
	CreatedAt   time.Time
	EditedAt    time.Time
	Media       []PostMedia
	// BoostOf is the author of the post when the account boosted it (nil:
	// the account's own post).
	BoostOf *Booster
}

// Booster names the author of a boosted post.
type Booster struct {
	Acct string // user@domain, or one of our usernames
	URL  string // the author's profile
}

// PostMedia is an image of a post.
type PostMedia struct {
	URL           string
	Alt           string
	Width, Height int
}

var pageVisibilities = []string{storage.VisibilityPublic}

func (p *Pages) toPost(ctx context.Context, st storage.Status) (Post, error) {
	post := Post{
		ID: st.ID, URL: p.links.NoteURL(st.Account, st.ID), NoteID: p.links.Note(st.Account, st.ID),
		Account: st.Account, ContentHTML: template.HTML(st.ContentHTML), SpoilerText: st.SpoilerText,
		Language: st.Language, CreatedAt: st.CreatedAt, EditedAt: st.EditedAt,
	}
	if len(st.MediaIDs) == 0 {
		return post, nil
	}
	media, err := p.store.ListStatusMedia(ctx, st.ID)
	if err != nil {
		return Post{}, err
	}
	for _, m := range media {
		post.Media = append(post.Media, PostMedia{URL: p.links.Media(m.ID, m.MediaType), Alt: m.Description, Width: m.Width, Height: m.Height})
	}
	return post, nil
}

// recent returns an account's latest public posts.
func (p *Pages) recent(ctx context.Context, account string, limit int) ([]Post, error) {
	rows, err := p.store.ListStatuses(ctx, storage.StatusPage{Account: strings.ToLower(account), Limit: limit, Visibilities: pageVisibilities})
	if err != nil {
		return nil, err
	}
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

// recentWithBoosts returns an account's latest public posts and boosts
// of public posts, newest first (the profile page).
func (p *Pages) recentWithBoosts(ctx context.Context, account string, limit int) ([]Post, error) {
	posts, err := p.recent(ctx, account, limit)
	if err != nil {
		return nil, err
	}
	boosts, err := p.store.ListOwnReblogs(ctx, storage.StatusPage{Account: strings.ToLower(account), Limit: limit})
	if err != nil {
		return nil, err
	}
	for _, b := range boosts {
		post, ok, err := p.boosted(ctx, b)
		if err != nil {
			return nil, err
		}
		if ok {
			post.ID = b.ID // where it goes among the posts
			posts = append(posts, post)
		}
	}
	slices.SortFunc(posts, func(a, b Post) int { return cmp.Compare(b.ID, a.ID) })
	return posts[:min(len(posts), limit)], nil
}

// boosted is the post a boost names, if it is live and public.
func (p *Pages) boosted(ctx context.Context, b storage.OwnReaction) (Post, bool, error) {
	if b.StatusID != 0 {
		st, err := p.store.GetStatus(ctx, b.StatusID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && (!st.DeletedAt.IsZero() || st.Visibility != storage.VisibilityPublic)) {
			return Post{}, false, nil
		}
		if err != nil {
			return Post{}, false, err
		}
		post, err := p.toPost(ctx, st)
		post.BoostOf = &Booster{Acct: st.Account, URL: p.links.Profile(st.Account)}
		return post, err == nil, err
	}
	rs, err := p.store.GetRemoteStatus(ctx, b.RemoteStatusID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (!rs.DeletedAt.IsZero() || rs.Visibility != storage.VisibilityPublic)) {
		return Post{}, false, nil
	}
	if err != nil {
		return Post{}, false, err
	}
	author := Booster{Acct: rs.ActorID, URL: rs.ActorID}
	if prof, err := p.store.GetRemoteProfile(ctx, rs.ActorID); err == nil {
		author.Acct = prof.Acct
		if prof.URL != "" {
			author.URL = prof.URL
		}
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Post{}, false, err
	}
	// The content was sanitised when it was received (package sanitize).
	return Post{URL: rs.URL, NoteID: rs.NoteID, ContentHTML: template.HTML(rs.ContentHTML), SpoilerText: rs.SpoilerText,
		Language: rs.Language, CreatedAt: rs.CreatedAt, EditedAt: rs.EditedAt, BoostOf: &author}, true, nil
}

// post serves a status's permalink (/@news/42).
func (p *Pages) post(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.PathValue("at"), "@")
	pr, known := p.profiles[strings.ToLower(name)]
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if !ok || !known || err != nil {
		http.NotFound(w, r)
		return
	}
	st, err := p.store.GetStatus(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (st.Account != strings.ToLower(pr.Username) || (st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted))) {
		http.NotFound(w, r)
		return
	}
	if err != nil {
		p.fail(w, r, err)
		return
	}
	if !st.DeletedAt.IsZero() {
		http.Error(w, "This post was deleted.", http.StatusGone)
		return
	}
	post, err := p.toPost(r.Context(), st)
	if err != nil {
		p.fail(w, r, err)
		return
	}
	w.Header().Set("Link", `<`+post.NoteID+`>; rel="alternate"; type="application/activity+json"`)
	p.render(w, r, "post.html", map[string]any{"Profile": pr, "Post": post, "Moved": p.moved(r, pr.Username)})
}

// tag lists the public posts carrying a hashtag (the latest 200 scanned).
func (p *Pages) tag(w http.ResponseWriter, r *http.Request) {
	tag := strings.ToLower(r.PathValue("tag"))
	var posts []Post
	for _, name := range p.order {
		rows, err := p.store.ListStatuses(r.Context(), storage.StatusPage{Account: name, Limit: 200, Visibilities: pageVisibilities})
		if err != nil {
			p.fail(w, r, err)
			return
		}
		for _, st := range rows {
			for _, t := range st.Tags {
				if strings.ToLower(t.Name) == tag {
					post, err := p.toPost(r.Context(), st)
					if err != nil {
						p.fail(w, r, err)
						return
					}
					posts = append(posts, post)
					break
				}
			}
		}
	}
	p.render(w, r, "tag.html", map[string]any{"Tag": r.PathValue("tag"), "Posts": posts})
}

func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	reqlog.Logger(r.Context(), p.log).Error().Err(err).Msg("page")
	http.Error(w, "internal error", http.StatusInternalServerError)
}
