package publish

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// What an account does to posts it did not write: it replies to any
// post it can see (one of ours, or a remote one the bridge holds), and
// boosts and favourites them. Each change and the activities that tell
// the fediverse about it are written in one transaction.

// Errors of replies, boosts and favourites (422).
var (
	errReplyBlocked  = &ValidationError{Msg: "Validation failed: you cannot reply to an account you blocked (or whose server is blocked)"}
	errBoostPrivate  = &ValidationError{Msg: "Validation failed: followers-only and direct posts cannot be boosted"}
	errNoMention     = &ValidationError{Msg: "Validation failed: a direct post must mention someone"}
	errReplyNotFound = &ValidationError{Msg: "Validation failed: in_reply_to_id is not a post this account can see"}
	errNotOnBluesky  = &ValidationError{Msg: "Validation failed: this account is not mirrored to Bluesky, so it cannot answer, like or repost Bluesky posts"}
	errBlueskyPublic = &ValidationError{Msg: "Validation failed: a reply to a Bluesky post is public on Bluesky: followers-only and direct visibility are not possible"}
)

// isBluesky reports whether a remote post is a Bluesky one (its author's
// id is a DID: package atproto's notification reader).
func isBluesky(rs *storage.RemoteStatus) bool {
	return rs != nil && strings.HasPrefix(rs.ActorID, "did:") && strings.HasPrefix(rs.NoteID, "at://")
}

// mirrors reports whether account is mirrored to Bluesky.
func (s *Service) mirrors(account string) bool { return s.mirror != nil && s.mirror.Mirrors(account) }

// ErrUnreachable is a remote author whose server could not be reached
// to find where to deliver (nothing was written: try again later).
var ErrUnreachable = errors.New("publish: the author's server cannot be reached")

// unreachable wraps a failure to reach a remote author's server (but not
// one of the database's).
func unreachable(what string, err error) error {
	if errors.Is(err, storage.ErrUnavailable) {
		return fmt.Errorf("publish: %s: %w", what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrUnreachable, what, err)
}

// Target is a post an account can see, ours or remote.
type Target struct {
	Status *storage.Status       // one of ours
	Remote *storage.RemoteStatus // a remote one
	// Reaction is the account's boost or favourite of it, after Reblog or
	// Favourite made it (or found it made); zero otherwise.
	Reaction storage.OwnReaction
}

// URI is the post's IRI.
func (t Target) URI(s *Service) string {
	if t.Status != nil {
		return s.links.Note(t.Status.Account, t.Status.ID)
	}
	return t.Remote.NoteID
}

// Visibility is the post's visibility.
func (t Target) Visibility() string {
	if t.Status != nil {
		return t.Status.Visibility
	}
	return t.Remote.Visibility
}

// Target finds a live post account can see by id: one of its own, a
// public or unlisted one of another of our accounts, or a remote one
// whose author it did not block (public or unlisted, or addressed to
// it). ErrNotFound otherwise.
func (s *Service) Target(ctx context.Context, q storage.Queries, account string, id int64) (Target, error) {
	st, err := q.GetStatus(ctx, id)
	if err == nil {
		if !st.DeletedAt.IsZero() || (st.Account != account && st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted) {
			return Target{}, ErrNotFound
		}
		return Target{Status: &st}, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return Target{}, err
	}
	rs, err := q.GetRemoteStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !rs.DeletedAt.IsZero()) {
		return Target{}, ErrNotFound
	}
	if err != nil {
		return Target{}, err
	}
	if rs.Visibility != storage.VisibilityPublic && rs.Visibility != storage.VisibilityUnlisted {
		addressed, err := q.RemoteStatusNotified(ctx, account, rs.ID)
		if err != nil {
			return Target{}, err
		}
		if !addressed {
			return Target{}, ErrNotFound
		}
	}
	blocked, err := s.fed.Blocks(ctx, q, account, rs.ActorID)
	if err != nil {
		return Target{}, err
	}
	if blocked {
		return Target{}, ErrNotFound
	}
	return Target{Remote: &rs}, nil
}

// replyParent checks the post a draft answers and returns it: one the
// account can see, whose author it did not block.
func (s *Service) replyParent(ctx context.Context, q storage.Queries, account string, id int64) (Target, error) {
	st, err := q.GetStatus(ctx, id)
	if err == nil && st.DeletedAt.IsZero() && (st.Account == account || st.Visibility == storage.VisibilityPublic || st.Visibility == storage.VisibilityUnlisted) {
		return Target{Status: &st}, nil
	}
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return Target{}, err
	}
	rs, err := q.GetRemoteStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !rs.DeletedAt.IsZero()) {
		return Target{}, errReplyNotFound
	}
	if err != nil {
		return Target{}, err
	}
	blocked, err := s.fed.Blocks(ctx, q, account, rs.ActorID)
	if err != nil {
		return Target{}, err
	}
	if blocked {
		return Target{}, errReplyBlocked
	}
	t, err := s.Target(ctx, q, account, id)
	if errors.Is(err, ErrNotFound) {
		return Target{}, errReplyNotFound
	}
	return t, err
}

// authorMention is the mention of a remote post's author, which a reply
// names and is addressed to even when its text does not mention it.
func (s *Service) authorMention(ctx context.Context, rs storage.RemoteStatus) (storage.StatusMention, error) {
	m := storage.StatusMention{ActorID: rs.ActorID}
	p, err := s.fed.Profile(ctx, rs.ActorID)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return m, err
	}
	m.Handle, m.ProfileURL = p.Acct, p.URL
	if m.Handle == "" {
		m.Handle = "unknown@" + hostport.URLKey(rs.ActorID)
	}
	inbox, err := s.fed.DeliveryInbox(ctx, rs.ActorID)
	if err != nil {
		return m, unreachable("reach the author of "+rs.NoteID, err)
	}
	m.Inbox = inbox
	return m, nil
}

// withMention adds m to mentions unless its actor is already there.
func withMention(mentions []storage.StatusMention, m storage.StatusMention) []storage.StatusMention {
	if m.ActorID == "" || slices.ContainsFunc(mentions, func(o storage.StatusMention) bool { return o.ActorID == m.ActorID }) {
		return mentions
	}
	return append(mentions, m)
}

// Reblog boosts (on) or unboosts a post the account can see; Favourite
// favourites or unfavourites it. Doing it twice changes nothing; the
// post is returned as the account sees it.
func (s *Service) Reblog(ctx context.Context, account string, id int64, on bool) (Target, error) {
	return s.react(ctx, account, storage.NotificationReblog, id, on)
}

// Favourite: see Reblog.
func (s *Service) Favourite(ctx context.Context, account string, id int64, on bool) (Target, error) {
	return s.react(ctx, account, storage.NotificationFavourite, id, on)
}

func (s *Service) react(ctx context.Context, account, kind string, id int64, on bool) (Target, error) {
	t, err := s.Target(ctx, s.store, account, id)
	if err != nil {
		return Target{}, err
	}
	if kind == storage.NotificationReblog && on && t.Visibility() != storage.VisibilityPublic && t.Visibility() != storage.VisibilityUnlisted {
		return Target{}, errBoostPrivate
	}
	bluesky := isBluesky(t.Remote)
	if bluesky && !s.mirrors(account) {
		return Target{}, errNotOnBluesky
	}
	r := federation.Reaction{OwnReaction: storage.OwnReaction{Account: account, Kind: kind, ObjectURI: t.URI(s)}}
	switch {
	case bluesky:
		// A like or a repost on Bluesky (the mirror's job), never an
		// activity on the fediverse.
		r.RemoteStatusID, r.Author = t.Remote.ID, t.Remote.ActorID
	case t.Status != nil:
		r.StatusID = t.Status.ID
		r.Author = s.links.Actor(t.Status.Account)
	default:
		r.RemoteStatusID, r.Author = t.Remote.ID, t.Remote.ActorID
		inbox, err := s.fed.DeliveryInbox(ctx, t.Remote.ActorID)
		if err != nil && on {
			return Target{}, unreachable(kind+": reach the author of "+t.Remote.NoteID, err)
		}
		r.AuthorInbox = inbox // an Undo still goes to the followers when the author cannot be reached
	}
	changed := false
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		if on {
			now := s.now().UTC()
			r.ID = statusIDs.next(now)
			r.CreatedAt = now
			r.ActivityID = s.fed.ReactionActivityID(account, kind, r.ID)
			stored, created, err := q.PutOwnReaction(ctx, r.OwnReaction)
			if err != nil || !created {
				r.OwnReaction = stored
				return err
			}
			r.OwnReaction, changed = stored, true
			return s.queueReaction(ctx, q, r, bluesky, false)
		}
		stored, err := q.DeleteOwnReaction(ctx, account, kind, r.ObjectURI)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		r.OwnReaction, changed = stored, true
		return s.queueReaction(ctx, q, r, bluesky, true)
	})
	if err != nil {
		return Target{}, s.wrap(kind, err)
	}
	if on {
		t.Reaction = r.OwnReaction
	}
	if changed {
		s.nudge()
		reqlog.Logger(ctx, s.log).Info().Str("account", account).Str("kind", kind).Bool("on", on).Str("object", r.ObjectURI).Msg("reaction sent")
	}
	return t, nil
}

// queueReaction queues what tells others of a reaction: the fediverse's
// Like or Announce (not for a Bluesky post), and Bluesky's like or repost
// (a Bluesky post, or a boost of one of our statuses mirrored there).
func (s *Service) queueReaction(ctx context.Context, q storage.Queries, r federation.Reaction, bluesky, undo bool) error {
	if !bluesky {
		if err := s.fed.QueueReaction(ctx, q, r, undo); err != nil {
			return err
		}
	}
	if s.mirror != nil {
		return s.mirror.MirrorReaction(ctx, q, r.OwnReaction, undo)
	}
	return nil
}

// setReplyTarget completes a new status's reply fields: a reply to a
// remote post names it (InReplyToURI, InReplyToRemoteID) and mentions its
// author; a reply to another of our accounts' posts names that post.
func (s *Service) setReplyTarget(ctx context.Context, st *storage.Status) error {
	if st.InReplyToID == 0 {
		return nil
	}
	parent, err := s.replyParent(ctx, s.store, st.Account, st.InReplyToID)
	if err != nil {
		return err
	}
	switch {
	case isBluesky(parent.Remote):
		// Answered on Bluesky only (docs/bluesky.md): mirrored as a reply
		// there, never delivered to the fediverse nor shown on our pages.
		if !s.mirrors(st.Account) {
			return errNotOnBluesky
		}
		if st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted {
			return errBlueskyPublic
		}
		st.Visibility = storage.VisibilityBluesky
		st.InReplyToID, st.InReplyToURI, st.InReplyToRemoteID = 0, parent.Remote.NoteID, parent.Remote.ID
	case parent.Remote != nil:
		m, err := s.authorMention(ctx, *parent.Remote)
		if err != nil {
			return err
		}
		st.Mentions = withMention(st.Mentions, m)
		st.InReplyToID, st.InReplyToURI, st.InReplyToRemoteID = 0, parent.Remote.NoteID, parent.Remote.ID
	case parent.Status.Account != st.Account:
		st.InReplyToURI = parent.URI(s)
		st.Mentions = withMention(st.Mentions, storage.StatusMention{
			Handle: s.links.Handle(parent.Status.Account), ActorID: s.links.Actor(parent.Status.Account), ProfileURL: s.links.Profile(parent.Status.Account)})
	}
	return nil
}

// withReplyMention keeps, in an edit's mentions, the author of the
// remote post the status answers (added when the reply was made, as
// kept in old's mentions).
func (s *Service) withReplyMention(ctx context.Context, q storage.Queries, mentions []storage.StatusMention, old storage.Status) ([]storage.StatusMention, error) {
	if old.InReplyToRemoteID == 0 {
		return mentions, nil
	}
	rs, err := q.GetRemoteStatus(ctx, old.InReplyToRemoteID)
	if errors.Is(err, storage.ErrNotFound) {
		return mentions, nil
	}
	if err != nil {
		return nil, err
	}
	for _, m := range old.Mentions {
		if m.ActorID == rs.ActorID {
			return withMention(mentions, m), nil
		}
	}
	return mentions, nil
}
