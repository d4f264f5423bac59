package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// A presence, not a megaphone: the comms team finds remote posts and
// accounts (search), answers, boosts and favourites them, and sees who
// boosted or favourited its posts, their edit history and the threads
// around them, with the blocks and mutes of its account applied.

func (s *Server) presenceRoutes(handle func(string, http.HandlerFunc)) {
	handle("GET /api/v2/search", s.user("read:search", s.search))
	handle("POST /api/v1/statuses/{id}/reblog", s.user("write:statuses", s.editorOnly(s.audited("status.reblog", s.reaction(storage.NotificationReblog, true)))))
	handle("POST /api/v1/statuses/{id}/unreblog", s.user("write:statuses", s.editorOnly(s.audited("status.unreblog", s.reaction(storage.NotificationReblog, false)))))
	handle("POST /api/v1/statuses/{id}/favourite", s.user("write:favourites", s.editorOnly(s.audited("status.favourite", s.reaction(storage.NotificationFavourite, true)))))
	handle("POST /api/v1/statuses/{id}/unfavourite", s.user("write:favourites", s.editorOnly(s.audited("status.unfavourite", s.reaction(storage.NotificationFavourite, false)))))
	handle("GET /api/v1/statuses/{id}/favourited_by", s.optional("read:accounts", s.reactors(storage.NotificationFavourite)))
	handle("GET /api/v1/statuses/{id}/reblogged_by", s.optional("read:accounts", s.reactors(storage.NotificationReblog)))
	handle("GET /api/v1/statuses/{id}/history", s.optional("read:statuses", s.history))
}

var errRefusedSearch = &apiError{http.StatusUnprocessableEntity,
	"Validation failed: this address cannot be searched (IP addresses, local and private names are refused)"}

// SearchResults is Mastodon's Search entity.
type SearchResults struct {
	Accounts []Account `json:"accounts"`
	Statuses []Status  `json:"statuses"`
	Hashtags []any     `json:"hashtags"`
}

// search answers GET /api/v2/search: a URL (one of our posts or
// accounts, or with resolve=true a remote post or actor, fetched), an
// acct (user@domain, looked up with WebFinger when resolve=true), or
// words matched against our accounts. What the account blocked or muted
// is left out; IP addresses and local names are refused before any
// request.
func (s *Server) search(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	q := r.URL.Query()
	text := strings.TrimSpace(q.Get("q"))
	resolve := boolParam(q.Get("resolve"))
	typ := q.Get("type")
	limit := defaultPage
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		limit = min(n, maxPage)
	}
	out := SearchResults{Accounts: []Account{}, Statuses: []Status{}, Hashtags: []any{}}
	var profiles []storage.RemoteProfile
	var statuses []publish.Target
	var ours []string
	switch {
	case text == "" || typ == "hashtags" || (q.Get("offset") != "" && q.Get("offset") != "0"):
	case strings.HasPrefix(text, "https://") || strings.HasPrefix(text, "http://"):
		t, p, name, err := s.searchURL(ctx, c, text, resolve)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if t != nil {
			statuses = append(statuses, *t)
		}
		if p != nil {
			profiles = append(profiles, *p)
		}
		if name != "" {
			ours = append(ours, name)
		}
	case isAcct(text):
		name, p, err := s.searchAcct(ctx, c, text, resolve)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if p != nil {
			profiles = append(profiles, *p)
		}
		if name != "" {
			ours = append(ours, name)
		}
	default:
		needle := strings.ToLower(strings.TrimPrefix(text, "@"))
		for _, name := range s.order {
			acc := s.accounts[name]
			if strings.Contains(name, needle) || strings.Contains(strings.ToLower(acc.DisplayName), needle) {
				ours = append(ours, name)
			}
		}
	}
	if typ == "" || typ == "accounts" {
		for _, name := range ours[:min(len(ours), limit)] {
			a, err := s.accountEntity(ctx, s.accounts[name], false)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			out.Accounts = append(out.Accounts, a)
		}
		for _, p := range profiles {
			if hidden, err := s.hiddenActor(ctx, c, p.ActorID); err != nil {
				s.fail(w, r, err)
				return
			} else if !hidden {
				out.Accounts = append(out.Accounts, s.remoteAccount(p))
			}
		}
	}
	if typ == "" || typ == "statuses" {
		for _, t := range statuses {
			e, ok, err := s.targetEntity(ctx, c, t)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if ok {
				out.Statuses = append(out.Statuses, e)
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// isAcct reports whether text looks like user@domain (with or without
// a leading @).
func isAcct(text string) bool {
	user, domain, ok := strings.Cut(strings.TrimPrefix(text, "@"), "@")
	return ok && user != "" && domain != "" && !strings.ContainsAny(text, " /")
}

// hiddenActor reports whether the caller blocked or muted the actor, or
// its domain.
func (s *Server) hiddenActor(ctx context.Context, c *caller, actorID string) (bool, error) {
	if s.mod != nil && s.mod.BlockedFor(c.name, hostport.FromURL(actorID)) {
		return true, nil
	}
	kinds, err := s.store.AccountBlockKinds(ctx, c.name, actorID)
	return len(kinds) > 0, err
}

// searchURL finds what a URL names: one of our posts or accounts (name),
// or a remote post or actor (held, or fetched with resolve).
func (s *Server) searchURL(ctx context.Context, c *caller, raw string, resolve bool) (*publish.Target, *storage.RemoteProfile, string, error) {
	if name, id, ok := s.links.ParseNote(raw); ok {
		if t, err := s.pub.Target(ctx, s.store, c.name, id); err == nil && t.Status != nil && strings.EqualFold(t.Status.Account, name) {
			return &t, nil, "", nil
		}
		return nil, nil, "", nil
	}
	if name, ok := s.links.ParseActor(raw); ok {
		if _, ours := s.account(name); ours {
			return nil, nil, strings.ToLower(name), nil
		}
		return nil, nil, "", nil
	}
	if u, err := url.Parse(raw); err == nil && strings.EqualFold(u.Host, hostport.FromURL(s.set.BaseURL)) {
		// Our pages: a profile (/@name) or a post's permalink (/@name/ID).
		name, rest, _ := strings.Cut(strings.TrimPrefix(u.Path, "/@"), "/")
		if _, ours := s.account(name); !ours {
			return nil, nil, "", nil
		}
		if rest == "" {
			return nil, nil, strings.ToLower(name), nil
		}
		if id, ok := parseID(rest); ok {
			if t, err := s.pub.Target(ctx, s.store, c.name, id); err == nil && t.Status != nil && strings.EqualFold(t.Status.Account, name) {
				return &t, nil, "", nil
			}
		}
		return nil, nil, "", nil
	}
	var res federation.Resolved
	if resolve {
		if _, err := s.fed.CheckRemoteTarget(raw); err != nil {
			return nil, nil, "", errRefusedSearch
		}
		if s.mod != nil && s.mod.BlockedFor(c.name, hostport.FromURL(raw)) {
			return nil, nil, "", nil // the account blocked that server: nothing is fetched
		}
		var err error
		res, err = s.fed.Resolve(ctx, raw)
		if errors.Is(err, federation.ErrRefusedTarget) {
			return nil, nil, "", errRefusedSearch
		}
		if errors.Is(err, storage.ErrUnavailable) {
			return nil, nil, "", err
		}
		if err != nil {
			s.log.Debug().Err(err).Str("url", raw).Msg("search: not resolved")
			return nil, nil, "", nil
		}
	} else {
		if rs, err := s.store.GetRemoteStatusByNoteID(ctx, raw); err == nil {
			res.Status = &rs
		} else if p, err := s.store.GetRemoteProfile(ctx, raw); err == nil {
			res.Profile = &p
		}
	}
	if res.Status != nil {
		t, err := s.pub.Target(ctx, s.store, c.name, res.Status.ID)
		if errors.Is(err, publish.ErrNotFound) {
			return nil, nil, "", nil
		}
		if err != nil {
			return nil, nil, "", err
		}
		return &t, nil, "", nil
	}
	return nil, res.Profile, "", nil
}

// searchAcct finds user@domain: one of our accounts (name), or a remote
// one (held, or looked up with resolve).
func (s *Server) searchAcct(ctx context.Context, c *caller, text string, resolve bool) (string, *storage.RemoteProfile, error) {
	acct := strings.TrimPrefix(text, "@")
	user, domain, _ := strings.Cut(acct, "@")
	if s.ownDomain(domain) {
		if _, ok := s.account(user); ok {
			return strings.ToLower(user), nil, nil
		}
		return "", nil, nil
	}
	if p, err := s.store.GetRemoteProfileByAcct(ctx, acct); err == nil {
		return "", &p, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return "", nil, err
	}
	if !resolve {
		return "", nil, nil
	}
	if _, err := s.fed.CheckRemoteTarget("https://" + domain + "/"); err != nil {
		return "", nil, errRefusedSearch
	}
	if s.mod != nil && s.mod.BlockedFor(c.name, hostport.Key(domain)) {
		return "", nil, nil
	}
	p, err := s.fed.LookupRemote(ctx, acct)
	if errors.Is(err, storage.ErrUnavailable) {
		return "", nil, err
	}
	if err != nil {
		s.log.Debug().Err(err).Str("acct", acct).Msg("search: not resolved")
		return "", nil, nil
	}
	return "", &p, nil
}

// targetEntity renders a post for the caller (ok false: the caller
// muted or blocked its author).
func (s *Server) targetEntity(ctx context.Context, c *caller, t publish.Target) (Status, bool, error) {
	if t.Status != nil {
		v, err := s.newStatusView(ctx, t.Status.Account, c)
		if err != nil {
			return Status{}, false, err
		}
		media, err := s.store.ListStatusMedia(ctx, t.Status.ID)
		if err != nil {
			return Status{}, false, err
		}
		e, err := v.status(ctx, *t.Status, media)
		return e, err == nil, err
	}
	if hidden, err := s.hiddenActor(ctx, c, t.Remote.ActorID); err != nil || hidden {
		return Status{}, false, err
	}
	e, err := s.remoteStatus(ctx, s.newProfiles(), *t.Remote)
	if err != nil {
		return Status{}, false, err
	}
	if err := s.decorate(ctx, c, []*Status{&e}); err != nil {
		return Status{}, false, err
	}
	return e, true, nil
}

// decorate sets the caller's favourited and reblogged flags on entities
// (and, for remote posts, counts at least the caller's own).
func (s *Server) decorate(ctx context.Context, c *caller, es []*Status) error {
	if c == nil || c.name == "" || len(es) == 0 {
		return nil
	}
	uris := make([]string, 0, len(es))
	for _, e := range es {
		uris = append(uris, e.URI)
	}
	kinds, err := s.store.OwnReactionKinds(ctx, c.name, uris)
	if err != nil {
		return err
	}
	for _, e := range es {
		k := kinds[e.URI]
		e.Favourited = slices.Contains(k, storage.NotificationFavourite)
		e.Reblogged = slices.Contains(k, storage.NotificationReblog)
		if !strings.HasPrefix(e.URI, s.set.BaseURL+"/") {
			if e.Favourited {
				e.FavouritesCount = max(e.FavouritesCount, 1)
			}
			if e.Reblogged {
				e.ReblogsCount = max(e.ReblogsCount, 1)
			}
		}
	}
	return nil
}

// reaction boosts, unboosts, favourites or unfavourites a post and
// answers it as the caller now sees it (a boost: the boost itself, with
// the post in reblog, as Mastodon).
func (s *Server) reaction(kind string, on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		ctx := r.Context()
		id, ok := parseID(r.PathValue("id"))
		if !ok {
			s.fail(w, r, errNotFound)
			return
		}
		if rb, err := s.store.GetOwnReaction(ctx, id); err == nil && rb.Kind == storage.NotificationReblog {
			// Apps act on a boost shown in a timeline by its own id.
			if id = rb.StatusID; id == 0 {
				id = rb.RemoteStatusID
			}
		}
		var t publish.Target
		var err error
		if kind == storage.NotificationReblog {
			t, err = s.pub.Reblog(ctx, c.name, id, on)
		} else {
			t, err = s.pub.Favourite(ctx, c.name, id, on)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		e, _, err := s.targetEntity(ctx, c, t)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if t.Status != nil {
			if err := s.decorate(ctx, c, []*Status{&e}); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		if kind == storage.NotificationReblog && on && t.Reaction.ID != 0 {
			acc, err := s.accountEntity(ctx, c.account, false)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			writeJSON(w, http.StatusOK, s.reblogWrapper(t.Reaction, acc, e))
			return
		}
		writeJSON(w, http.StatusOK, e)
	}
}

// reblogWrapper is the Status of one of our boosts: the boosted post in
// reblog.
func (s *Server) reblogWrapper(rb storage.OwnReaction, acc Account, inner Status) Status {
	return Status{
		ID: idString(rb.ID), CreatedAt: timeString(rb.CreatedAt), Visibility: storage.VisibilityPublic,
		URI: rb.ActivityID, URL: inner.URL, Content: new(string), Reblog: &inner, Account: acc,
		Reblogged: true, Favourited: inner.Favourited,
		MediaAttachments: []MediaAttachment{}, Mentions: []Mention{}, Tags: []Tag{}, Emojis: []any{},
	}
}

// reactors answers favourited_by and reblogged_by of one of our posts:
// the accounts, newest first, paged by max_id (Link header).
func (s *Server) reactors(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		ctx := r.Context()
		st, _, err := s.loadStatus(ctx, r.PathValue("id"), c)
		if errors.Is(err, errNotFound) && c != nil {
			if _, rerr := s.remoteStatusByID(ctx, r.PathValue("id"), c); rerr == nil {
				writeJSON(w, http.StatusOK, []Account{}) // we do not know who reacted to a remote post
				return
			}
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		p := pageParams(r)
		rows, err := s.store.ListReactors(ctx, st.ID, kind, p.MaxID, p.Limit)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ps := s.newProfiles()
		out := []Account{}
		for _, rr := range rows {
			a, err := ps.account(ctx, rr.ActorID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			out = append(out, a)
		}
		if len(rows) == p.Limit {
			q := r.URL.Query()
			q.Set("max_id", idString(rows[len(rows)-1].ID))
			w.Header().Set("Link", "<"+s.set.BaseURL+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// StatusEdit is Mastodon's StatusEdit entity.
type StatusEdit struct {
	Content          string            `json:"content"`
	SpoilerText      string            `json:"spoiler_text"`
	Sensitive        bool              `json:"sensitive"`
	CreatedAt        string            `json:"created_at"`
	Account          Account           `json:"account"`
	Poll             any               `json:"poll"`
	MediaAttachments []MediaAttachment `json:"media_attachments"`
	Emojis           []any             `json:"emojis"`
}

// history answers the versions of a post, oldest first, the current one
// last (one version for a post never edited; a remote post shows its
// current version only).
func (s *Server) history(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	st, media, err := s.loadStatus(ctx, r.PathValue("id"), c)
	if errors.Is(err, errNotFound) && c != nil {
		rs, rerr := s.remoteStatusByID(ctx, r.PathValue("id"), c)
		if rerr != nil {
			s.fail(w, r, rerr)
			return
		}
		e, err := s.remoteStatus(ctx, s.newProfiles(), rs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, []StatusEdit{{Content: *e.Content, SpoilerText: e.SpoilerText, Sensitive: e.Sensitive,
			CreatedAt: timeString(rs.CreatedAt), Account: e.Account, MediaAttachments: []MediaAttachment{}, Emojis: []any{}}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.newStatusView(ctx, st.Account, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	edits, err := s.store.ListStatusEdits(ctx, st.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]StatusEdit, 0, len(edits)+1)
	for _, e := range edits {
		version := StatusEdit{Content: e.ContentHTML, SpoilerText: e.SpoilerText, Sensitive: e.Sensitive,
			CreatedAt: timeString(e.CreatedAt), Account: v.account, MediaAttachments: []MediaAttachment{}, Emojis: []any{}}
		for _, id := range e.MediaIDs {
			if m, err := s.store.GetMedia(ctx, id); err == nil {
				version.MediaAttachments = append(version.MediaAttachments, s.mediaEntity(m))
			}
		}
		out = append(out, version)
	}
	current := st.EditedAt
	if current.IsZero() {
		current = st.CreatedAt
	}
	last := StatusEdit{Content: st.ContentHTML, SpoilerText: st.SpoilerText, Sensitive: st.Sensitive || st.SpoilerText != "",
		CreatedAt: timeString(current), Account: v.account, MediaAttachments: []MediaAttachment{}, Emojis: []any{}}
	for _, m := range media {
		last.MediaAttachments = append(last.MediaAttachments, s.mediaEntity(m))
	}
	writeJSON(w, http.StatusOK, append(out, last))
}

// remoteAccountStatuses answers GET /api/v1/accounts/:id/statuses for a
// remote account we know: its public and unlisted posts we hold, newest
// first (nothing is fetched).
func (s *Server) remoteAccountStatuses(w http.ResponseWriter, r *http.Request, c *caller, id string) {
	ctx := r.Context()
	if c == nil || !strings.Contains(id, "@") {
		s.fail(w, r, errNotFound)
		return
	}
	p, err := s.store.GetRemoteProfileByAcct(ctx, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []Status{}
	if hidden, err := s.hiddenActor(ctx, c, p.ActorID); err != nil {
		s.fail(w, r, err)
		return
	} else if hidden {
		writeJSON(w, http.StatusOK, out)
		return
	}
	page := pageParams(r)
	page.Visibilities = []string{storage.VisibilityPublic, storage.VisibilityUnlisted}
	rows, err := s.store.ListRemoteStatusesByActor(ctx, p.ActorID, page)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ps := s.newProfiles()
	var ptrs []*Status
	for _, rs := range rows {
		e, err := s.remoteStatus(ctx, ps, rs)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, e)
	}
	for i := range out {
		ptrs = append(ptrs, &out[i])
	}
	if err := s.decorate(ctx, c, ptrs); err != nil {
		s.fail(w, r, err)
		return
	}
	s.setLink(w, r, out)
	writeJSON(w, http.StatusOK, out)
}

// reblogEntity renders one of our accounts' boosts for c (ok false: the
// boosted post is gone, or hidden from c).
func (s *Server) reblogEntity(ctx context.Context, c *caller, rb storage.OwnReaction) (Status, bool, error) {
	acc, ok := s.account(rb.Account)
	if !ok {
		return Status{}, false, nil
	}
	var t publish.Target
	if rb.StatusID != 0 {
		st, err := s.store.GetStatus(ctx, rb.StatusID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !st.DeletedAt.IsZero()) {
			return Status{}, false, nil
		}
		if err != nil {
			return Status{}, false, err
		}
		t.Status = &st
	} else {
		rs, err := s.store.GetRemoteStatus(ctx, rb.RemoteStatusID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !rs.DeletedAt.IsZero()) {
			return Status{}, false, nil
		}
		if err != nil {
			return Status{}, false, err
		}
		t.Remote = &rs
	}
	var inner Status
	if c == nil {
		// Unauthenticated: the boosted post as anyone sees it.
		var err error
		if t.Status != nil {
			inner, _, err = s.targetEntity(ctx, c, t)
		} else {
			inner, err = s.remoteStatus(ctx, s.newProfiles(), *t.Remote)
		}
		if err != nil {
			return Status{}, false, err
		}
	} else {
		e, ok, err := s.targetEntity(ctx, c, t)
		if err != nil || !ok {
			return Status{}, false, err
		}
		inner = e
	}
	a, err := s.accountEntity(ctx, acc, false)
	if err != nil {
		return Status{}, false, err
	}
	out := s.reblogWrapper(rb, a, inner)
	out.Reblogged = c.owns(rb.Account) || inner.Reblogged
	return out, true, nil
}
