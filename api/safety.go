package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/storage"
)

// The comms team's safety tools, through the calls their apps already
// make: account blocks (a Block is delivered to the remote actor) and
// mutes, domain blocks (the calling account's own, package moderation),
// relationships, and the replies under a post (GET
// /api/v1/statuses/:id/context).

// DomainModerator keeps the domain blocks of each account
// (*moderation.Service). A client-API domain block is the calling
// account's, as a Mastodon user's: the instance's blocks (configuration,
// `bridge blocks`, subscriptions) are the operator's, and can neither be
// lifted nor listed through the client API.
type DomainModerator interface {
	BlockDomainsFor(ctx context.Context, account string, domains []string) (moderation.AccountBlockResult, error)
	UnblockDomainFor(ctx context.Context, account, domain string) (bool, error)
	DomainBlocksOf(account string) []string
	// BlockedFor reports whether host is refused for account (by the
	// instance or by the account).
	BlockedFor(account, host string) bool
}

var _ DomainModerator = (*moderation.Service)(nil)

var errNoModeration = &apiError{http.StatusServiceUnavailable, "Domain blocks are not available on this server"}

// blockError is the answer to a domain block refused.
func blockError(err error) error {
	if errors.Is(err, moderation.ErrNotBlockable) {
		return unprocessable("Validation failed: Domain is not a server's domain (a top-level domain, a public suffix such as co.uk or github.io, or a single label cannot be blocked)")
	}
	return unprocessable("Validation failed: " + strings.TrimPrefix(err.Error(), "moderation: block: "))
}

// Relationship is Mastodon's Relationship entity.
type Relationship struct {
	ID                  string  `json:"id"`
	Following           bool    `json:"following"`
	ShowingReblogs      bool    `json:"showing_reblogs"`
	Notifying           bool    `json:"notifying"`
	Languages           *string `json:"languages"`
	FollowedBy          bool    `json:"followed_by"`
	Blocking            bool    `json:"blocking"`
	BlockedBy           bool    `json:"blocked_by"`
	Muting              bool    `json:"muting"`
	MutingNotifications bool    `json:"muting_notifications"`
	Requested           bool    `json:"requested"`
	RequestedBy         bool    `json:"requested_by"`
	DomainBlocking      bool    `json:"domain_blocking"`
	Endorsed            bool    `json:"endorsed"`
	Note                string  `json:"note"`
}

func (s *Server) safetyRoutes(handle func(string, http.HandlerFunc)) {
	handle("POST /api/v1/accounts/{id}/block", s.user("write:blocks", s.audited("account.block", s.accountAction(storage.BlockKindBlock, true))))
	handle("POST /api/v1/accounts/{id}/unblock", s.user("write:blocks", s.audited("account.unblock", s.accountAction(storage.BlockKindBlock, false))))
	handle("POST /api/v1/accounts/{id}/mute", s.user("write:mutes", s.audited("account.mute", s.accountAction(storage.BlockKindMute, true))))
	handle("POST /api/v1/accounts/{id}/unmute", s.user("write:mutes", s.audited("account.unmute", s.accountAction(storage.BlockKindMute, false))))
	handle("GET /api/v1/blocks", s.user("read:blocks", s.listBlocked(storage.BlockKindBlock)))
	handle("GET /api/v1/mutes", s.user("read:mutes", s.listBlocked(storage.BlockKindMute)))
	handle("GET /api/v1/accounts/relationships", s.user("read:follows", s.relationships))
	handle("GET /api/v1/domain_blocks", s.user("read:blocks", s.listDomainBlocks))
	handle("POST /api/v1/domain_blocks", s.user("write:blocks", s.audited("domain.block", s.blockDomain)))
	handle("DELETE /api/v1/domain_blocks", s.user("write:blocks", s.audited("domain.unblock", s.unblockDomain)))
}

// relationship builds the caller's relationship with a remote actor.
func (s *Server) relationship(ctx context.Context, c *caller, p storage.RemoteProfile) (Relationship, error) {
	rel := Relationship{ID: p.Acct}
	kinds, err := s.store.AccountBlockKinds(ctx, c.name, p.ActorID)
	if err != nil {
		return Relationship{}, err
	}
	rel.Blocking = slices.Contains(kinds, storage.BlockKindBlock)
	rel.Muting = slices.Contains(kinds, storage.BlockKindMute)
	rel.MutingNotifications = rel.Muting
	f, err := s.store.GetFollower(ctx, c.name, p.ActorID)
	if err == nil {
		rel.FollowedBy = f.State == storage.FollowerAccepted
		rel.RequestedBy = f.State == storage.FollowerPending
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Relationship{}, err
	}
	rel.DomainBlocking = s.domainBlocked(c.name, p.Domain)
	if err := s.followRelationship(ctx, c, p.ActorID, &rel); err != nil { // follows.go
		return Relationship{}, err
	}
	return rel, nil
}

// domainBlocked reports whether account blocked domain (or a parent of
// it) for itself: what it can lift with DELETE /api/v1/domain_blocks.
func (s *Server) domainBlocked(account, domain string) bool {
	if s.mod == nil || domain == "" {
		return false
	}
	for _, d := range s.mod.DomainBlocksOf(account) {
		if domain == d || strings.HasSuffix(domain, "."+d) {
			return true
		}
	}
	return false
}

// accountAction blocks, unblocks, mutes or unmutes a remote account.
func (s *Server) accountAction(kind string, on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		ctx := r.Context()
		id := r.PathValue("id")
		if _, ours := s.account(id); ours {
			s.fail(w, r, unprocessable("Validation failed: this server's own accounts cannot be blocked or muted"))
			return
		}
		p, err := s.remoteProfileByID(ctx, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		switch {
		case isBlueskyActor(p.ActorID):
			err = s.blueskyAccountAction(ctx, c, p, kind, on) // bluesky_actions.go
		case kind == storage.BlockKindBlock && on:
			err = s.fed.BlockActor(ctx, c.name, p.ActorID)
		case kind == storage.BlockKindBlock:
			err = s.fed.UnblockActor(ctx, c.name, p.ActorID)
		case on:
			_, err = s.store.PutAccountBlock(ctx, storage.AccountBlock{Account: c.name, ActorID: p.ActorID, Kind: storage.BlockKindMute, CreatedAt: s.now()})
		default:
			_, err = s.store.DeleteAccountBlock(ctx, c.name, p.ActorID, storage.BlockKindMute)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rel, err := s.relationship(ctx, c, p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, rel)
	}
}

// listBlocked lists the accounts the caller blocked or muted (one page:
// at most a few hundred, newest first).
func (s *Server) listBlocked(kind string) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		ctx := r.Context()
		blocks, err := s.store.ListAccountBlocks(ctx, c.name, kind)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		ps := s.newProfiles()
		out := []Account{}
		for _, b := range blocks {
			a, err := ps.account(ctx, b.ActorID)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			out = append(out, a)
		}
		writeJSON(w, http.StatusOK, out)
	}
}

// relationships answers for the remote accounts we know (user@domain
// ids); our own accounts and unknown ids are left out, as before this
// server kept any social graph.
func (s *Server) relationships(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	q := r.URL.Query()
	ids := append(q["id[]"], q["id"]...)
	out := []Relationship{}
	for _, id := range ids[:min(len(ids), maxPage)] {
		if _, ours := s.account(id); ours || !strings.Contains(id, "@") && !strings.Contains(id, ".") { // user@domain, or a Bluesky handle
			continue
		}
		p, err := s.store.GetRemoteProfileByAcct(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rel, err := s.relationship(ctx, c, p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rel.ID = id
		out = append(out, rel)
	}
	writeJSON(w, http.StatusOK, out)
}

// listDomainBlocks lists the domains the caller blocked, as Mastodon's
// user domain blocks (an array of domain names).
func (s *Server) listDomainBlocks(w http.ResponseWriter, r *http.Request, c *caller) {
	out := []string{}
	if s.mod != nil {
		out = append(out, s.mod.DomainBlocksOf(c.name)...)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) domainParam(w http.ResponseWriter, r *http.Request) (string, error) {
	if s.mod == nil {
		return "", errNoModeration
	}
	p, err := parseParams(w, r)
	if err != nil {
		return "", err
	}
	d := strings.TrimSpace(p.str("domain"))
	if d == "" {
		return "", unprocessable("Validation failed: Domain can't be blank")
	}
	return d, nil
}

// ownDomain reports whether d names this server (its handles' domain or
// its public host).
func (s *Server) ownDomain(d string) bool {
	h := hostport.Key(d)
	return h != "" && (h == hostport.Key(s.set.HandleDomain) || h == hostport.URLKey(s.set.BaseURL))
}

// blockDomain blocks a domain for the calling account only (as a
// Mastodon user's domain block): its followers there are removed, its
// notifications from there dismissed, and what comes from there is no
// longer shown to it.
func (s *Server) blockDomain(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	d, err := s.domainParam(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if s.ownDomain(d) {
		s.fail(w, r, unprocessable("Validation failed: this server's own domain cannot be blocked"))
		return
	}
	auditTarget(r, d)
	res, err := s.mod.BlockDomainsFor(ctx, c.name, []string{d})
	if err != nil {
		s.fail(w, r, blockError(err))
		return
	}
	if _, err := s.store.DismissNotificationsFromDomains(ctx, c.name, res.Domains, s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// unblockDomain lifts the calling account's own block of a domain; the
// instance's blocks stay (Mastodon answers {} whatever there was).
func (s *Server) unblockDomain(w http.ResponseWriter, r *http.Request, c *caller) {
	d, err := s.domainParam(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditTarget(r, d)
	if _, err := s.mod.UnblockDomainFor(r.Context(), c.name, d); err != nil {
		s.fail(w, r, unprocessable("Validation failed: "+strings.TrimPrefix(err.Error(), "moderation: unblock: ")))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// remoteStatusByID loads a remote post for a signed-in viewer.
func (s *Server) remoteStatusByID(ctx context.Context, idText string, viewer *caller) (storage.RemoteStatus, error) {
	id, ok := parseID(idText)
	if !ok || viewer == nil {
		return storage.RemoteStatus{}, errNotFound
	}
	rs, err := s.store.GetRemoteStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !rs.DeletedAt.IsZero()) {
		return storage.RemoteStatus{}, errNotFound
	}
	if err == nil {
		kinds, kerr := s.store.AccountBlockKinds(ctx, viewer.name, rs.ActorID)
		if kerr != nil {
			return storage.RemoteStatus{}, kerr
		}
		if len(kinds) > 0 {
			return storage.RemoteStatus{}, errNotFound
		}
		if rs.Visibility != storage.VisibilityPublic && rs.Visibility != storage.VisibilityUnlisted {
			// Followers-only and direct posts: only to the account they
			// were addressed to.
			addressed, nerr := s.store.RemoteStatusNotified(ctx, viewer.name, rs.ID)
			if nerr != nil {
				return storage.RemoteStatus{}, nerr
			}
			if !addressed {
				return storage.RemoteStatus{}, errNotFound
			}
		}
	}
	return rs, err
}

// writeRemoteStatus answers GET /api/v1/statuses/:id for a remote post,
// or for one of the caller's boosts.
func (s *Server) writeRemoteStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	rs, err := s.remoteStatusByID(ctx, r.PathValue("id"), c)
	if errors.Is(err, errNotFound) {
		s.writeReblog(w, r, c)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, err := s.remoteStatus(ctx, s.newProfiles(), rs)
	if err == nil {
		err = s.decorate(ctx, c, []*Status{&e})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// writeReblog answers one of our accounts' boosts by its id.
func (s *Server) writeReblog(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	rb, err := s.store.GetOwnReaction(ctx, id)
	if err != nil || rb.Kind != storage.NotificationReblog {
		s.fail(w, r, errNotFound)
		return
	}
	e, ok, err := s.reblogEntity(ctx, c, rb)
	if err == nil && !ok {
		err = errNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// writeRemoteAccount answers a remote account we know (user@domain) to a
// signed-in caller; nothing is fetched on this read path.
func (s *Server) writeRemoteAccount(w http.ResponseWriter, r *http.Request, c *caller, id string) {
	if c == nil || (!strings.Contains(id, "@") && !strings.Contains(id, ".")) {
		s.fail(w, r, errNotFound)
		return
	}
	var (
		p   storage.RemoteProfile
		err error
	)
	if strings.Contains(id, "@") {
		p, err = s.store.GetRemoteProfileByAcct(r.Context(), id)
	} else {
		p, err = s.remoteProfileByID(r.Context(), id) // a Bluesky handle
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.remoteAccount(p))
}
