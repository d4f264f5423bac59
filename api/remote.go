package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// Remote accounts and posts, as the Mastodon entities the comms team's
// apps show. A remote account's id is its acct, user@domain (as in
// mentions); a remote post's id is its time-ordered storage id, in the
// same space as our posts' ids. Everything shown was sanitised when it
// was received (package sanitize); names are sanitised again here, as
// they are also made from cached actors.

// remoteAccount builds the Account of a remote actor. Its avatar and
// header are ours (placeholders): the apps fetch nothing from the remote
// server.
func (s *Server) remoteAccount(p storage.RemoteProfile) Account {
	if isBlueskyActor(p.ActorID) {
		return s.blueskyAccount(p) // bluesky_accounts.go
	}
	user, _, _ := strings.Cut(p.Acct, "@")
	avatar := s.set.BaseURL + "/static/avatar.png"
	header := s.set.BaseURL + "/static/header.png"
	profileURL := p.URL
	if profileURL == "" {
		profileURL = p.ActorID
	}
	return Account{
		ID: p.Acct, Username: user, Acct: p.Acct, DisplayName: sanitize.Name(p.DisplayName, sanitize.MaxNameGraphemes),
		CreatedAt: timeString(p.UpdatedAt.UTC().Truncate(24 * time.Hour)),
		// Sanitised when stored, and again here: the entity goes to the
		// comms team's apps, whatever wrote the row.
		Note: sanitize.HTML(p.Summary),
		URL:  profileURL, URI: p.ActorID,
		Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header,
		Emojis: []any{}, Roles: []any{}, Fields: []Field{},
	}
}

// profiles caches the remote profiles of one request.
type profiles struct {
	s     *Server
	byID  map[string]storage.RemoteProfile
	known map[string]bool
}

func (s *Server) newProfiles() *profiles {
	return &profiles{s: s, byID: map[string]storage.RemoteProfile{}, known: map[string]bool{}}
}

// account returns the Account of actorID; an actor we know nothing of is
// shown by its IRI's host.
func (ps *profiles) account(ctx context.Context, actorID string) (Account, error) {
	p, ok := ps.byID[actorID]
	if !ok {
		var err error
		p, err = ps.s.fed.Profile(ctx, actorID)
		if errors.Is(err, storage.ErrNotFound) {
			p = storage.RemoteProfile{ActorID: actorID, Acct: "unknown@" + hostport.URLKey(actorID), URL: actorID}
		} else if err != nil {
			return Account{}, err
		}
		ps.byID[actorID] = p
	}
	return ps.s.remoteAccount(p), nil
}

// remoteStatus builds the Status of a remote post.
func (s *Server) remoteStatus(ctx context.Context, ps *profiles, rs storage.RemoteStatus) (Status, error) {
	acc, err := ps.account(ctx, rs.ActorID)
	if err != nil {
		return Status{}, err
	}
	content := rs.ContentHTML
	out := Status{
		ID: idString(rs.ID), CreatedAt: timeString(rs.CreatedAt),
		Sensitive: rs.Sensitive, SpoilerText: rs.SpoilerText, Visibility: rs.Visibility,
		Language: optString(rs.Language), URI: rs.NoteID, URL: rs.URL,
		EditedAt: optTime(rs.EditedAt), Content: &content, Account: acc,
		MediaAttachments: []MediaAttachment{}, Mentions: []Mention{}, Tags: []Tag{}, Emojis: []any{},
	}
	if out.Visibility == "" {
		out.Visibility = storage.VisibilityPublic
	}
	switch {
	case rs.InReplyToID != 0:
		if st, err := s.store.GetStatus(ctx, rs.InReplyToID); err == nil {
			id, account := idString(st.ID), strings.ToLower(st.Account)
			out.InReplyToID, out.InReplyToAccountID = &id, &account
		}
	case rs.InReplyToURI != "":
		// A reply to a remote post we hold (a thread elsewhere).
		if parent, err := s.store.GetRemoteStatusByNoteID(ctx, rs.InReplyToURI); err == nil {
			a, err := ps.account(ctx, parent.ActorID)
			if err != nil {
				return Status{}, err
			}
			id := idString(parent.ID)
			out.InReplyToID, out.InReplyToAccountID = &id, &a.ID
		} else if !errors.Is(err, storage.ErrNotFound) {
			return Status{}, err
		}
	}
	return out, nil
}

// remoteProfileByID finds a remote account by its API id (user@domain),
// looking it up with WebFinger when we have not met it yet.
func (s *Server) remoteProfileByID(ctx context.Context, id string) (storage.RemoteProfile, error) {
	id = strings.TrimPrefix(id, "@")
	if !strings.Contains(id, "@") { // a Bluesky handle (bluesky_accounts.go)
		p, err := s.store.GetRemoteProfileByAcct(ctx, id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !isBlueskyActor(p.ActorID)) {
			return storage.RemoteProfile{}, errNotFound
		}
		return p, err
	}
	user, domain, ok := strings.Cut(id, "@")
	if !ok || user == "" || domain == "" || strings.EqualFold(domain, s.set.HandleDomain) {
		return storage.RemoteProfile{}, errNotFound
	}
	p, err := s.fed.LookupRemote(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.RemoteProfile{}, errNotFound
	}
	return p, err
}
