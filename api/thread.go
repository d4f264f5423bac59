package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// Threads across servers (GET /api/v1/statuses/:id/context): above a
// post, the posts it answers, ours and remote ones we hold; below it, the
// answers we hold, ours and remote, breadth first. Nothing is fetched.

// maxThreadDepth bounds how far up or down a thread is walked.
const maxThreadDepth = 40

// post is one of ours (st) or a remote one (rs).
type post struct {
	st *storage.Status
	rs *storage.RemoteStatus
}

// statusContext answers the thread around a post.
func (s *Server) statusContext(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	var root post
	st, _, err := s.loadStatus(ctx, r.PathValue("id"), c)
	switch {
	case err == nil:
		root.st = &st
	case errors.Is(err, errNotFound) && c != nil:
		rs, rerr := s.remoteStatusByID(ctx, r.PathValue("id"), c)
		if rerr != nil {
			s.fail(w, r, rerr)
			return
		}
		root.rs = &rs
	default:
		s.fail(w, r, err)
		return
	}
	// Whose thread it is: the replies hidden are those the post's
	// account (ours) or the viewer blocked or muted.
	owner := ""
	if root.st != nil {
		owner = strings.ToLower(root.st.Account)
	} else {
		owner = c.name
	}
	tv, err := s.newThreadView(ctx, c, owner)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var above []post
	for p, n := root, 0; n < maxThreadDepth; n++ {
		parent, ok, err := tv.parent(ctx, p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if !ok {
			break
		}
		above = append([]post{parent}, above...)
		p = parent
	}
	ancestors, err := tv.entities(ctx, above)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var below []post
	level := []post{root}
	for depth := 0; depth < maxThreadDepth && len(level) > 0 && len(below) < maxPage; depth++ {
		var next []post
		for _, p := range level {
			kids, err := tv.children(ctx, p)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			next = append(next, kids...)
		}
		below = append(below, next[:min(len(next), maxPage-len(below))]...)
		level = next
	}
	descendants, err := tv.entities(ctx, below)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ancestors": ancestors, "descendants": descendants})
}

// threadView walks one thread for one viewer.
type threadView struct {
	s      *Server
	c      *caller
	owner  string // the account whose blocks and mutes hide replies
	filter *keywordFilter
	ps     *profiles
}

func (s *Server) newThreadView(ctx context.Context, c *caller, owner string) (*threadView, error) {
	tv := &threadView{s: s, c: c, owner: owner, ps: s.newProfiles()}
	if c != nil {
		kf, err := s.keywordFilter(ctx, c.name, "thread")
		if err != nil {
			return nil, err
		}
		tv.filter = kf
	}
	return tv, nil
}

// showRemote reports whether a remote post of the thread is shown: live,
// public or unlisted (or addressed to the viewer's account), its author
// not blocked or muted by the thread's account or the viewer, nor its
// server blocked, nor hidden by the viewer's keyword filters.
func (tv *threadView) showRemote(ctx context.Context, rs storage.RemoteStatus) (bool, error) {
	s := tv.s
	if !rs.DeletedAt.IsZero() {
		return false, nil
	}
	for _, account := range []string{tv.owner, tv.viewer()} {
		if account == "" {
			continue
		}
		kinds, err := s.store.AccountBlockKinds(ctx, account, rs.ActorID)
		if err != nil || len(kinds) > 0 {
			return false, err
		}
		if s.mod != nil && s.mod.BlockedFor(account, hostport.FromURL(rs.ActorID)) {
			return false, nil
		}
	}
	if rs.Visibility != storage.VisibilityPublic && rs.Visibility != storage.VisibilityUnlisted {
		if tv.viewer() == "" {
			return false, nil
		}
		addressed, err := s.store.RemoteStatusNotified(ctx, tv.viewer(), rs.ID)
		if err != nil || !addressed {
			return false, err
		}
	}
	return !tv.filter.hides(sanitize.Plain(rs.ContentHTML), rs.SpoilerText), nil
}

func (tv *threadView) viewer() string {
	if tv.c == nil {
		return ""
	}
	return tv.c.name
}

// ours loads one of our posts of the thread, if the viewer may see it.
func (tv *threadView) ours(ctx context.Context, id int64) (post, bool, error) {
	st, _, err := tv.s.loadStatus(ctx, idString(id), tv.c)
	if errors.Is(err, errNotFound) {
		return post{}, false, nil
	}
	return post{st: &st}, err == nil, err
}

// remote loads a remote post of the thread by IRI, if shown.
func (tv *threadView) remote(ctx context.Context, rs storage.RemoteStatus, err error) (post, bool, error) {
	if errors.Is(err, storage.ErrNotFound) {
		return post{}, false, nil
	}
	if err != nil {
		return post{}, false, err
	}
	ok, err := tv.showRemote(ctx, rs)
	return post{rs: &rs}, ok, err
}

// parent returns the post p answers, when we hold it and it is shown.
func (tv *threadView) parent(ctx context.Context, p post) (post, bool, error) {
	store := tv.s.store
	if p.st != nil {
		switch {
		case p.st.InReplyToRemoteID != 0:
			rs, err := store.GetRemoteStatus(ctx, p.st.InReplyToRemoteID)
			return tv.remote(ctx, rs, err)
		case p.st.InReplyToID != 0:
			return tv.ours(ctx, p.st.InReplyToID)
		}
		return post{}, false, nil
	}
	switch {
	case p.rs.InReplyToID != 0:
		return tv.ours(ctx, p.rs.InReplyToID)
	case p.rs.InReplyToURI != "":
		if _, id, ok := tv.s.links.ParseNote(p.rs.InReplyToURI); ok {
			return tv.ours(ctx, id)
		}
		rs, err := store.GetRemoteStatusByNoteID(ctx, p.rs.InReplyToURI)
		return tv.remote(ctx, rs, err)
	}
	return post{}, false, nil
}

// children returns the answers to p we hold that are shown, ours then
// remote ones, each oldest first.
func (tv *threadView) children(ctx context.Context, p post) ([]post, error) {
	store := tv.s.store
	var ours []storage.Status
	var remote []storage.RemoteStatus
	var err error
	if p.st != nil {
		if ours, err = store.ListStatusReplies(ctx, p.st.ID, false, maxPage); err != nil {
			return nil, err
		}
		remote, err = store.ListReplies(ctx, p.st.ID, maxPage)
	} else {
		if ours, err = store.ListStatusReplies(ctx, p.rs.ID, true, maxPage); err != nil {
			return nil, err
		}
		remote, err = store.ListRemoteReplies(ctx, p.rs.NoteID, maxPage)
	}
	if err != nil {
		return nil, err
	}
	var out []post
	for _, st := range ours {
		if kid, ok, err := tv.ours(ctx, st.ID); err != nil {
			return nil, err
		} else if ok {
			out = append(out, kid)
		}
	}
	for _, rs := range remote {
		if kid, ok, err := tv.remote(ctx, rs, nil); err != nil {
			return nil, err
		} else if ok {
			out = append(out, kid)
		}
	}
	return out, nil
}

// entities renders the posts of the thread.
func (tv *threadView) entities(ctx context.Context, posts []post) ([]Status, error) {
	out := make([]Status, 0, len(posts))
	views := map[string]*statusView{}
	for _, p := range posts {
		if p.st != nil {
			v := views[p.st.Account]
			if v == nil {
				var err error
				if v, err = tv.s.newStatusView(ctx, p.st.Account, tv.c); err != nil {
					return nil, err
				}
				views[p.st.Account] = v
			}
			media, err := tv.s.store.ListStatusMedia(ctx, p.st.ID)
			if err != nil {
				return nil, err
			}
			e, err := v.status(ctx, *p.st, media)
			if err != nil {
				return nil, err
			}
			out = append(out, e)
			continue
		}
		e, err := tv.s.remoteStatus(ctx, tv.ps, *p.rs)
		if err != nil {
			return nil, err
		}
		if tv.filter.hides(e.Account.DisplayName) {
			continue
		}
		out = append(out, e)
	}
	ptrs := make([]*Status, len(out))
	for i := range out {
		ptrs[i] = &out[i]
	}
	return out, tv.s.decorate(ctx, tv.c, ptrs)
}
