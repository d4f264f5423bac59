package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// What the inbound handlers (inbound*.go) and the client API share about
// remote actors and our posts: blocks, the interaction policy's facts,
// remote profiles, notifications, and blocking from our side.

// blocks reports whether la blocked actorID.
func (s *Service) blocks(ctx context.Context, q storage.Queries, la *localActor, actorID string) (bool, error) {
	if s.hostBlockedFor(la.name, hostport.FromURL(actorID)) { // the account's own domain blocks (guard.go)
		return true, nil
	}
	kinds, err := q.AccountBlockKinds(ctx, la.name, actorID)
	return slices.Contains(kinds, storage.BlockKindBlock), err
}

// ourStatusIRI parses the IRI of one of our notes.
func (s *Service) ourStatusIRI(iri string) (*localActor, int64, bool) {
	name, id, ok := s.links.ParseNote(iri)
	la := s.accounts[name]
	return la, id, ok && la != nil
}

// ourLiveStatus loads one of our live posts by IRI; reason says why not.
func (s *Service) ourLiveStatus(ctx context.Context, q storage.Queries, iri string) (*localActor, storage.Status, string, error) {
	la, id, ok := s.ourStatusIRI(iri)
	if !ok {
		return nil, storage.Status{}, "not one of our posts", nil
	}
	st, err := q.GetStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && st.Account != la.name) {
		return nil, storage.Status{}, "no such post of ours", nil
	}
	if err != nil {
		return nil, storage.Status{}, "", err
	}
	if !st.DeletedAt.IsZero() {
		return nil, storage.Status{}, "the post was deleted", nil
	}
	return la, st, "", nil
}

// interactionFacts is what the interaction policy looks at. Followed
// stays false: the bridge follows nobody (so "following" and "mutuals"
// let in the mentioned accounts alone).
func (s *Service) interactionFacts(ctx context.Context, q storage.Queries, la *localActor, st storage.Status, actorID string) (policy.Facts, error) {
	var f policy.Facts
	fl, err := q.GetFollower(ctx, la.name, actorID)
	if err == nil {
		f.Follower = fl.State == storage.FollowerAccepted
	} else if !errors.Is(err, storage.ErrNotFound) {
		return f, err
	}
	for _, m := range st.Mentions {
		if m.ActorID == actorID {
			f.Mentioned = true
		}
	}
	return f, nil
}

// statusPolicy returns the replies and quotes settings of one of our
// posts: its own, else its account's.
func (s *Service) statusPolicy(ctx context.Context, q storage.Queries, la *localActor, statusID int64) (replies, quotes string, err error) {
	replies, quotes = la.cfg.Replies, la.cfg.Quotes
	p, err := q.GetStatusPolicy(ctx, statusID)
	if errors.Is(err, storage.ErrNotFound) {
		return replies, quotes, nil
	}
	if err != nil {
		return "", "", err
	}
	return policy.Effective(replies, p.Replies), policy.Effective(quotes, p.Quotes), nil
}

// ApplyStatusPolicy puts a post's own interaction policy, when it has one,
// on its Note (q: the caller's transaction, or the store).
func (s *Service) ApplyStatusPolicy(ctx context.Context, q storage.Queries, n *Note, statusID int64) error {
	p, err := q.GetStatusPolicy(ctx, statusID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	n.Replies, n.Quotes = policy.Effective(n.Replies, p.Replies), policy.Effective(n.Quotes, p.Quotes)
	return nil
}

// profile returns what we show of a remote actor: its stored profile, or
// one made from the key cache (actors cached before profiles were kept).
// It never fetches anything (the client API reads it).
func (s *Service) profile(ctx context.Context, actorID string) (storage.RemoteProfile, error) {
	p, err := s.store.GetRemoteProfile(ctx, actorID)
	if err == nil || !errors.Is(err, storage.ErrNotFound) {
		return p, err
	}
	ra, err := s.store.GetRemoteActor(ctx, actorID)
	if err != nil {
		return storage.RemoteProfile{}, err
	}
	return profileFrom(RemoteActorDoc{ID: ra.ID, PreferredUsername: ra.PreferredUsername}, s.now()), nil
}

// senderProfile is the profile of the sender of an inbound activity: the
// stored one, or, for an actor known only by a stub at its key id
// (GoToSocial), the fetched actor's. When it cannot be fetched, the
// sender is asked to retry later.
func (s *Service) senderProfile(ctx context.Context, actorID string) (storage.RemoteProfile, error) {
	p, err := s.profile(ctx, actorID)
	if !errors.Is(err, storage.ErrNotFound) {
		return p, err
	}
	doc, _, err := s.remoteActor(ctx, actorID)
	if errors.Is(err, storage.ErrUnavailable) {
		return storage.RemoteProfile{}, err
	}
	if err != nil {
		return storage.RemoteProfile{}, &retryLater{refuse(http.StatusServiceUnavailable, "cannot fetch the actor document, retry later", err), time.Minute}
	}
	return profileFrom(doc, s.now()), nil
}

// profileFrom builds the shown profile of an actor document: its acct is
// user@host[:port] (a port stays, as in WebFinger), its domain the host
// name alone (as domain blocks name it).
func profileFrom(doc RemoteActorDoc, now time.Time) storage.RemoteProfile {
	host := hostport.URLKey(doc.ID)
	acctHost := host
	if u, err := url.Parse(doc.ID); err == nil && u.Port() != "" {
		acctHost = strings.ToLower(u.Host)
	}
	user := sanitize.Name(doc.PreferredUsername, 64)
	if user == "" || strings.ContainsAny(user, "@ /") {
		user = "unknown"
	}
	u := doc.ProfileURL
	if u == "" {
		u = doc.ID
	}
	return storage.RemoteProfile{
		ActorID: doc.ID, Acct: strings.ToLower(user + "@" + acctHost), Domain: host,
		DisplayName: sanitize.Name(doc.Name, sanitize.MaxNameGraphemes),
		Summary:     sanitize.HTML(doc.Summary),
		URL:         u, AvatarURL: doc.IconURL, UpdatedAt: now,
	}
}

// profileToRemember is the profile of an actor document to store, if it
// is an actor's (not a key's).
func (s *Service) profileToRemember(doc RemoteActorDoc) (storage.RemoteProfile, bool) {
	if doc.KeyOwner != "" || doc.ID == "" {
		return storage.RemoteProfile{}, false
	}
	if reasons := sanitize.Unsafe(doc.Name + "\n" + doc.PreferredUsername); len(reasons) > 0 {
		s.log.Warn().Str("actor", doc.ID).Strs("removed", reasons).Msg("unsafe characters removed from a remote actor's name")
	}
	return profileFrom(doc, s.now()), true
}

// notify adds a notification for la.
func (s *Service) notify(ctx context.Context, q storage.Queries, la *localActor, typ, activityID, actor string, statusID, remoteStatusID int64, now time.Time) error {
	group := typ + "-" + strconv.FormatInt(remoteStatusID, 10)
	if typ == storage.NotificationFavourite || typ == storage.NotificationReblog {
		// Mastodon groups them per post and per day.
		group = typ + "-" + strconv.FormatInt(statusID, 10) + "-" + strconv.FormatInt(now.Unix()/86400, 10)
	}
	n := storage.Notification{
		Account: la.name, Type: typ, ActivityID: activityID, ActorID: actor, ActorDomain: hostport.URLKey(actor),
		StatusID: statusID, RemoteStatusID: remoteStatusID, GroupKey: group, CreatedAt: now,
	}
	id, created, err := q.InsertNotification(ctx, n)
	if err != nil || !created {
		return err
	}
	n.ID = id
	return s.notified(ctx, q, n)
}

// ErrNotOurAccount is an account name that is not configured.
var ErrNotOurAccount = errors.New("federation: no such account")

// remoteInbox is where to send an activity meant for one remote actor:
// the cached actor, else the fetched one (also when only a stub of the
// actor is known: its inbox is empty).
func (s *Service) remoteInbox(ctx context.Context, actorID string) (string, error) {
	doc, _, err := s.remoteActor(ctx, actorID)
	if err != nil {
		return "", err
	}
	return doc.Inbox, nil
}

// BlockActor blocks a remote actor for one of our accounts: the block is
// recorded (its activities are refused, its notifications hidden), it
// stops being a follower, and a Block is delivered to it.
func (s *Service) BlockActor(ctx context.Context, account, actorID string) error {
	la := s.accounts[strings.ToLower(account)]
	if la == nil {
		return ErrNotOurAccount
	}
	inbox, err := s.remoteInbox(ctx, actorID)
	if err != nil {
		return fmt.Errorf("federation: block %s: %w", actorID, err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	body, err := EncodeBlock(blockID(la.id, actorID, now), la.id, actorID)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		created, err := q.PutAccountBlock(ctx, storage.AccountBlock{Account: la.name, ActorID: actorID, Kind: storage.BlockKindBlock, CreatedAt: now})
		if err != nil || !created {
			return err
		}
		if _, err := q.DeleteFollower(ctx, la.name, actorID); err != nil {
			return err
		}
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox}, Ref: "block:" + shortHash(actorID)})
	})
	if err != nil {
		return fmt.Errorf("federation: block %s: %w", actorID, err)
	}
	s.Nudge()
	return nil
}

// UnblockActor lifts a block and delivers the Undo of the Block.
func (s *Service) UnblockActor(ctx context.Context, account, actorID string) error {
	la := s.accounts[strings.ToLower(account)]
	if la == nil {
		return ErrNotOurAccount
	}
	blocks, err := s.store.ListAccountBlocks(ctx, la.name, storage.BlockKindBlock)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(blocks, func(b storage.AccountBlock) bool { return b.ActorID == actorID })
	if i < 0 {
		return nil
	}
	inbox, err := s.remoteInbox(ctx, actorID)
	if err != nil {
		return fmt.Errorf("federation: unblock %s: %w", actorID, err)
	}
	bid := blockID(la.id, actorID, blocks[i].CreatedAt)
	body, err := EncodeUndoBlock(bid+"/undo", la.id, actorID, bid)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		removed, err := q.DeleteAccountBlock(ctx, la.name, actorID, storage.BlockKindBlock)
		if err != nil || !removed {
			return err
		}
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox}, Ref: "unblock:" + shortHash(actorID)})
	})
	if err != nil {
		return fmt.Errorf("federation: unblock %s: %w", actorID, err)
	}
	s.Nudge()
	return nil
}

// LookupRemote finds a remote actor by user@domain: a known profile, or
// WebFinger (its document is then fetched and its profile kept).
func (s *Service) LookupRemote(ctx context.Context, acct string) (storage.RemoteProfile, error) {
	acct = strings.TrimPrefix(strings.TrimSpace(acct), "@")
	if p, err := s.store.GetRemoteProfileByAcct(ctx, acct); err == nil {
		return p, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return storage.RemoteProfile{}, err
	}
	user, domain, ok := strings.Cut(acct, "@")
	if !ok || user == "" || domain == "" {
		return storage.RemoteProfile{}, storage.ErrNotFound
	}
	actorID, _, err := s.ResolveMention(ctx, user, domain)
	if err != nil {
		return storage.RemoteProfile{}, fmt.Errorf("%w: %v", storage.ErrNotFound, err)
	}
	if s.ourAccount(actorID) != nil {
		return storage.RemoteProfile{}, storage.ErrNotFound
	}
	return s.profile(ctx, actorID)
}

// Profile returns what is shown of a remote actor (its stored profile).
func (s *Service) Profile(ctx context.Context, actorID string) (storage.RemoteProfile, error) {
	return s.profile(ctx, actorID)
}

// Blocks reports whether one of our accounts blocked actorID, or its
// domain (the instance's blocks or the account's own).
func (s *Service) Blocks(ctx context.Context, q storage.Queries, account, actorID string) (bool, error) {
	la := s.accounts[strings.ToLower(account)]
	if la == nil {
		return false, ErrNotOurAccount
	}
	if s.hostBlocked(hostport.FromURL(actorID)) {
		return true, nil
	}
	return s.blocks(ctx, q, la, actorID)
}
