package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/storage"
)

// Following (issue 15): our accounts follow remote accounts we know (found
// by search), list their followers and whom they follow, answer follow
// requests, and read a home timeline with the posts and boosts of the
// accounts they follow. Remote accounts' followers and following are
// not fetched: they are answered empty.

func (s *Server) followRoutes(handle func(string, http.HandlerFunc)) {
	handle("POST /api/v1/accounts/{id}/follow", s.user("write:follows", s.editorOnly(s.audited("account.follow", s.follow))))
	handle("POST /api/v1/accounts/{id}/unfollow", s.user("write:follows", s.editorOnly(s.audited("account.unfollow", s.unfollow))))
	handle("GET /api/v1/accounts/{id}/followers", s.optional("read:accounts", s.accountFollowers))
	handle("GET /api/v1/accounts/{id}/following", s.optional("read:accounts", s.accountFollowing))
	handle("GET /api/v1/follow_requests", s.user("read:follows", s.followRequests))
	handle("POST /api/v1/follow_requests/{id}/authorize", s.user("write:follows", s.editorOnly(s.audited("follow_request.authorize", s.answerFollowRequest(true)))))
	handle("POST /api/v1/follow_requests/{id}/reject", s.user("write:follows", s.editorOnly(s.audited("follow_request.reject", s.answerFollowRequest(false)))))
}

var errFollowBlocked = &apiError{http.StatusForbidden, "This action is not allowed: the account's domain is blocked"}

// follow follows a remote account: requested until its server accepts.
func (s *Server) follow(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	id := r.PathValue("id")
	if _, ours := s.account(id); ours {
		s.fail(w, r, unprocessable("Validation failed: this server's own accounts cannot be followed"))
		return
	}
	p, err := s.remoteProfileByID(ctx, id)
	if err == nil && isBlueskyActor(p.ActorID) {
		err = unprocessable("Validation failed: Bluesky accounts cannot be followed from here")
	}
	if err == nil && (s.domainBlocked(c.name, p.Domain) || (s.mod != nil && s.mod.BlockedFor(c.name, hostport.FromURL(p.ActorID)))) {
		err = errFollowBlocked
	}
	if err == nil {
		_, err = s.fed.FollowActor(ctx, c.name, p.ActorID)
	}
	if errors.Is(err, federation.ErrFollowBlocked) {
		err = errFollowBlocked
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeRelationship(w, r, c, p)
}

func (s *Server) unfollow(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	p, err := s.remoteProfileByID(ctx, r.PathValue("id"))
	if err == nil {
		err = s.fed.UnfollowActor(ctx, c.name, p.ActorID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeRelationship(w, r, c, p)
}

func (s *Server) writeRelationship(w http.ResponseWriter, r *http.Request, c *caller, p storage.RemoteProfile) {
	rel, err := s.relationship(r.Context(), c, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rel)
}

// followRelationship fills following and requested.
func (s *Server) followRelationship(ctx context.Context, c *caller, actorID string, rel *Relationship) error {
	f, err := s.store.GetFollow(ctx, c.name, actorID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	rel.Following = f.State == storage.FollowAccepted
	rel.Requested = f.State == storage.FollowRequested
	rel.ShowingReblogs = true
	return nil
}

// accountFollowers lists one of our accounts' accepted followers, paged
// by max_id (an opaque cursor: followers are listed by actor id).
func (s *Server) accountFollowers(w http.ResponseWriter, r *http.Request, c *caller) {
	acc, ok := s.account(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusOK, []Account{}) // remote accounts' followers are not fetched
		return
	}
	s.listFollowers(w, r, acc.Username, storage.FollowerAccepted)
}

func (s *Server) listFollowers(w http.ResponseWriter, r *http.Request, account, state string) {
	ctx := r.Context()
	page := pageParams(r)
	after := r.URL.Query().Get("max_id")
	rows, err := s.store.ListFollowers(ctx, lower(account), state, after, page.Limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]string, len(rows))
	for i, f := range rows {
		ids[i] = f.ActorID
	}
	out, err := s.accountsOf(ctx, ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(rows) == page.Limit {
		q := r.URL.Query()
		q.Del("since_id")
		q.Del("min_id")
		q.Set("max_id", rows[len(rows)-1].ActorID)
		w.Header().Set("Link", "<"+s.set.BaseURL+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
	}
	writeJSON(w, http.StatusOK, out)
}

// accountFollowing lists whom one of our accounts follows (accepted),
// newest first, with max_id, since_id and min_id.
func (s *Server) accountFollowing(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	acc, ok := s.account(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusOK, []Account{}) // remote accounts' following are not fetched
		return
	}
	page := pageParams(r)
	page.Account = lower(acc.Username)
	rows, err := s.store.ListFollows(ctx, page, storage.FollowAccepted)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ids := make([]string, len(rows))
	for i, f := range rows {
		ids[i] = f.ActorID
	}
	out, err := s.accountsOf(ctx, ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(rows) > 0 {
		s.setPageLink(w, r, rows[0].ID, rows[len(rows)-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
}

// followRequests lists the caller's pending followers (accounts that
// approve followers by hand).
func (s *Server) followRequests(w http.ResponseWriter, r *http.Request, c *caller) {
	s.listFollowers(w, r, c.name, storage.FollowerPending)
}

// answerFollowRequest accepts or refuses a pending follower (id: its
// acct); answering again changes nothing.
func (s *Server) answerFollowRequest(accept bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		ctx := r.Context()
		p, err := s.store.GetRemoteProfileByAcct(ctx, r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if accept {
			err = s.fed.ApproveFollower(ctx, c.name, p.ActorID)
			if errors.Is(err, storage.ErrNotFound) {
				err = errNotFound
			}
		} else {
			err = s.fed.RejectFollower(ctx, c.name, p.ActorID)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeRelationship(w, r, c, p)
	}
}

// homeEntries reads the page of the caller's home entries (the posts
// and boosts of whom it follows) and renders them, leaving out the
// domains it blocked.
func (s *Server) homeEntries(ctx context.Context, c *caller, page storage.StatusPage) ([]Status, error) {
	page.Account = c.name
	rows, err := s.store.ListHome(ctx, page)
	if err != nil {
		return nil, err
	}
	ps := s.newProfiles()
	out := make([]Status, 0, len(rows))
	for _, e := range rows {
		rs, err := s.store.GetRemoteStatus(ctx, e.RemoteStatusID)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if s.domainBlocked(c.name, hostport.FromURL(rs.ActorID)) || s.domainBlocked(c.name, hostport.FromURL(e.ActorID)) {
			continue
		}
		st, err := s.remoteStatus(ctx, ps, rs)
		if err != nil {
			return nil, err
		}
		if e.Reblog {
			booster, err := ps.account(ctx, e.ActorID)
			if err != nil {
				return nil, err
			}
			inner := st
			st = Status{ID: idString(e.ID), CreatedAt: timeString(e.CreatedAt), Visibility: storage.VisibilityPublic,
				URI: e.ActivityID, URL: inner.URL, Content: new(string), Reblog: &inner, Account: booster,
				MediaAttachments: []MediaAttachment{}, Mentions: []Mention{}, Tags: []Tag{}, Emojis: []any{}}
		}
		out = append(out, st)
	}
	ptrs := make([]*Status, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	if err := s.decorate(ctx, c, ptrs); err != nil {
		return nil, err
	}
	return out, nil
}

func lower(s string) string { return strings.ToLower(s) }

// mergeByID merges two pages newest first and keeps page.Limit of them:
// the newest, or with min_id the oldest (those right above min_id).
func mergeByID(a, b []Status, page storage.StatusPage) []Status {
	out := append(append(make([]Status, 0, len(a)+len(b)), a...), b...)
	id := func(st Status) int64 { n, _ := parseID(st.ID); return n }
	slices.SortStableFunc(out, func(x, y Status) int {
		switch ix, iy := id(x), id(y); {
		case ix > iy:
			return -1
		case ix < iy:
			return 1
		}
		return 0
	})
	if len(out) > page.Limit {
		if page.MinID != 0 {
			return out[len(out)-page.Limit:]
		}
		return out[:page.Limit]
	}
	return out
}

// accountsOf renders the accounts of actorIDs, in order.
func (s *Server) accountsOf(ctx context.Context, actorIDs []string) ([]Account, error) {
	ps := s.newProfiles()
	out := make([]Account, 0, len(actorIDs))
	for _, id := range actorIDs {
		a, err := ps.account(ctx, id)
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, nil
}
