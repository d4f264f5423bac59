package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
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

// Inbound interactions: what the fediverse says to our accounts (mentions
// and replies, likes, boosts, quotes, reports, blocks) is checked to be
// about us (one of our actors, or one of our live posts), sanitised, and
// stored in one transaction with the activity's idempotency mark and the
// jobs it causes (the Reject of a reply the interaction policy does not
// allow, the answer to a quote request). Anything else is ignored with a
// logged reason. The inbox has verified the signature and that the signer
// is the activity's actor before this point.

// Limits of what is kept of a remote post.
const (
	maxSpoilerGraphemes = 500
	maxReportComment    = 5000
	maxReportTargets    = 20
)

// ignored is the outcome of an activity accepted (202) but not acted on,
// with the reason the inbox logs.
func ignored(reason string) string { return "ignored: " + reason }

// applyInteraction handles the activities about our accounts' posts and
// safety. handled is false for what apply() handles itself (follows).
func (s *Service) applyInteraction(ctx context.Context, target *localActor, act Activity) (outcome string, handled bool, err error) {
	switch act.Type {
	case "Follow":
		if la := s.ourAccount(act.Object.ID); la != nil {
			if blocked, err := s.blocks(ctx, s.store, la, act.Actor); err != nil || blocked {
				return "", true, errOr(err, refuse(http.StatusForbidden, "blocked", nil))
			}
		}
		return "", false, nil
	case "Create":
		outcome, err = s.applyCreateNote(ctx, act)
	case "Update":
		if act.Object.ID == act.Actor || act.Note == nil {
			return ignored("update of something other than a post"), true, nil
		}
		outcome, err = s.applyUpdateNote(ctx, act)
	case "Delete":
		if act.Object.ID == act.Actor {
			return "", false, nil // the actor itself: apply()
		}
		outcome, err = s.applyDeleteNote(ctx, act)
	case "Like", "Announce":
		outcome, err = s.applyReaction(ctx, act)
	case "Flag":
		outcome, err = s.applyFlag(ctx, act)
	case "QuoteRequest":
		outcome, err = s.applyQuoteRequest(ctx, act)
	case "ReplyRequest":
		outcome, err = s.applyReplyRequest(ctx, act) // approvals.go
	case "LikeRequest":
		outcome, err = s.applyReactionRequest(ctx, act, likeInteraction)
	case "AnnounceRequest":
		outcome, err = s.applyReactionRequest(ctx, act, announceInteraction)
	case "Block":
		outcome, err = s.applyBlock(ctx, act)
	case "Undo":
		switch act.Object.Type {
		case "Like", "Announce":
			outcome, err = s.applyUndoReaction(ctx, act)
		case "Block":
			outcome = ignored("we do not follow anyone")
		case "":
			// Given by IRI only: it may be a Like or a Follow.
			if _, err := s.store.DeleteNotificationsByActivity(ctx, act.Actor, act.Object.ID); err != nil {
				return "", true, err
			}
			return "", false, nil
		default:
			return "", false, nil
		}
	default:
		return "", false, nil
	}
	return outcome, true, err
}

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

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
	rest, ok := strings.CutPrefix(iri, s.set.BaseURL+"/users/")
	if !ok {
		return nil, 0, false
	}
	name, idText, ok := strings.Cut(rest, "/statuses/")
	if !ok {
		return nil, 0, false
	}
	la := s.accounts[name]
	id, err := strconv.ParseInt(idText, 10, 64)
	if la == nil || err != nil || id <= 0 {
		return nil, 0, false
	}
	return la, id, true
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
	var ms []NoteMention
	if len(st.Mentions) > 0 && json.Unmarshal(st.Mentions, &ms) == nil {
		for _, m := range ms {
			if m.ActorID == actorID {
				f.Mentioned = true
			}
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

// remoteID makes a time-ordered id for a remote post, as publish does
// for ours (Unix milliseconds, 16 random low bits): the client API lists
// both kinds of posts by id.
func remoteID(t time.Time) int64 {
	return max(t.UnixMilli(), 0)<<16 | int64(rand.IntN(1<<16))
}

// visibilityOf is the Mastodon visibility of a remote post.
func visibilityOf(n *InboundNote, actor string) string {
	switch {
	case slices.Contains(n.To, asPublic) || slices.Contains(n.To, "as:Public") || slices.Contains(n.To, "Public"):
		return storage.VisibilityPublic
	case slices.Contains(n.Cc, asPublic) || slices.Contains(n.Cc, "as:Public") || slices.Contains(n.Cc, "Public"):
		return storage.VisibilityUnlisted
	case slices.Contains(n.To, actor+"/followers") || slices.Contains(n.Cc, actor+"/followers"):
		return storage.VisibilityPrivate
	}
	return "direct"
}

// sanitizedStatus is remoteStatusFrom, logging what the sanitiser removed
// that could harm or deceive.
func (s *Service) sanitizedStatus(act Activity, n *InboundNote, now time.Time) storage.RemoteStatus {
	if reasons := sanitize.Unsafe(n.ContentHTML + "\n" + n.Summary); len(reasons) > 0 {
		s.log.Warn().Str("activity", act.ID).Str("actor", act.Actor).Str("note", n.ID).Strs("removed", reasons).
			Msg("unsafe content removed from a remote post")
	}
	return remoteStatusFrom(n, act.Actor, now)
}

// remoteStatusFrom sanitises an inbound post.
func remoteStatusFrom(n *InboundNote, actor string, now time.Time) storage.RemoteStatus {
	created := n.Published
	if created.IsZero() || created.After(now) {
		created = now
	}
	u := n.URL
	if checkIRI(u) != nil {
		u = n.ID
	}
	lang := n.Language
	if len(lang) > 16 {
		lang = ""
	}
	return storage.RemoteStatus{
		ID: remoteID(now), NoteID: n.ID, ActorID: actor, URL: u,
		ContentHTML: sanitize.HTML(n.ContentHTML),
		SpoilerText: sanitize.Name(n.Summary, maxSpoilerGraphemes),
		Sensitive:   n.Sensitive || strings.TrimSpace(n.Summary) != "",
		Language:    sanitize.Name(lang, 16),
		Visibility:  visibilityOf(n, actor),
		CreatedAt:   created,
	}
}

// checkNote requires an inbound post to be the actor's own, on its host.
func checkNote(act Activity) error {
	n := act.Note
	if checkIRI(n.ID) != nil {
		return refuse(http.StatusBadRequest, "the post has no valid id", nil)
	}
	if n.AttributedTo != act.Actor {
		return refuse(http.StatusForbidden, "the post is attributed to another actor", nil)
	}
	if !sameHost(n.ID, act.Actor) {
		return refuse(http.StatusForbidden, "the post is not on its author's server", nil)
	}
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

// noteTarget is one of our accounts a remote post concerns.
type noteTarget struct {
	la        *localActor
	mentioned bool // mentioned, or replied to
	quoted    bool
}

// notePlan is what recording a remote post will do, decided before the
// transaction.
type notePlan struct {
	act     Activity
	live    []*noteTarget // the accounts to notify (those that did not block the author)
	replyTo storage.Status
	quoteOf storage.Status
	prof    storage.RemoteProfile
	rs      storage.RemoteStatus
	// replyLA is the account whose post the note replies to (nil: not a
	// reply to one of ours); replyRule is that post's replies rule, and
	// replyRefused whether it refuses the reply.
	replyLA      *localActor
	replyRule    policy.Rule
	replyFacts   policy.Facts
	replyRefused bool
}

// replyAwaitsApproval reports whether the replier's server, if it follows
// GoToSocial's interaction controls, waits for our approval: when the
// permission comes from a collection (followers...), not from the public
// or from being named (a mentioned actor is listed in canReply).
func (p *notePlan) replyAwaitsApproval() bool {
	return !p.replyRule.Public && !(p.replyRule.Mentioned && p.replyFacts.Mentioned)
}

// planNote decides what a remote post (a Create's, or a ReplyRequest's)
// means for our accounts. A nil plan comes with the reason it is
// ignored.
func (s *Service) planNote(ctx context.Context, act Activity) (*notePlan, string, error) {
	n := act.Note
	if n == nil {
		return nil, ignored("not a post"), nil
	}
	if err := checkNote(act); err != nil {
		return nil, "", err
	}
	p := &notePlan{act: act}
	var targets []*noteTarget
	add := func(la *localActor) *noteTarget {
		for _, t := range targets {
			if t.la == la {
				return t
			}
		}
		t := &noteTarget{la: la}
		targets = append(targets, t)
		return t
	}
	if n.InReplyTo != "" {
		if _, _, ours := s.ourStatusIRI(n.InReplyTo); ours {
			la, st, reason, err := s.ourLiveStatus(ctx, s.store, n.InReplyTo)
			if err != nil {
				return nil, "", err
			}
			if la == nil {
				return nil, ignored("reply to a post we cannot find: " + reason), nil
			}
			facts, err := s.interactionFacts(ctx, s.store, la, st, act.Actor)
			if err != nil {
				return nil, "", err
			}
			replies, _, err := s.statusPolicy(ctx, s.store, la, st.ID)
			if err != nil {
				return nil, "", err
			}
			p.replyLA, p.replyTo, p.replyRule, p.replyFacts = la, st, policy.Replies(replies), facts
			// Only those who can see a followers-only post may answer it.
			visible := st.Visibility != storage.VisibilityPrivate || facts.Follower || facts.Mentioned
			p.replyRefused = !visible || !p.replyRule.Allows(facts)
			if p.replyRefused {
				return p, "", nil
			}
			add(la).mentioned = true
		}
	}
	for _, m := range n.Mentions {
		if la := s.ourAccount(m); la != nil {
			add(la).mentioned = true
		}
	}
	if n.Quote != "" {
		if _, _, ours := s.ourStatusIRI(n.Quote); ours {
			la, st, reason, err := s.ourLiveStatus(ctx, s.store, n.Quote)
			if err != nil {
				return nil, "", err
			}
			switch {
			case la == nil:
				s.log.Info().Str("note", n.ID).Str("reason", reason).Msg("quote of a post we cannot find: not recorded as a quote")
			default:
				facts, err := s.interactionFacts(ctx, s.store, la, st, act.Actor)
				if err != nil {
					return nil, "", err
				}
				_, quotes, err := s.statusPolicy(ctx, s.store, la, st.ID)
				if err != nil {
					return nil, "", err
				}
				if policy.Quotes(quotes).Allows(facts) && st.Visibility != storage.VisibilityPrivate {
					p.quoteOf = st
					add(la).quoted = true
				} else {
					s.log.Info().Str("note", n.ID).Int64("status", st.ID).Msg("quote not allowed by the post's policy: not recorded as a quote")
				}
			}
		}
	}
	if len(targets) == 0 {
		return nil, ignored("the post is not about our accounts"), nil
	}
	// Accounts that blocked the author hear nothing of it.
	for _, t := range targets {
		blocked, err := s.blocks(ctx, s.store, t.la, act.Actor)
		if err != nil {
			return nil, "", err
		}
		if !blocked {
			p.live = append(p.live, t)
		}
	}
	if len(p.live) == 0 {
		return nil, "", refuse(http.StatusForbidden, "blocked", nil)
	}
	prof, err := s.senderProfile(ctx, act.Actor)
	if err != nil {
		return nil, "", fmt.Errorf("federation: profile of %s: %w", act.Actor, err)
	}
	p.prof = prof
	p.rs = s.sanitizedStatus(act, n, s.now())
	p.rs.InReplyToID, p.rs.QuoteOfID = p.replyTo.ID, p.quoteOf.ID
	return p, "", nil
}

// applyCreateNote records a remote post that mentions one of our
// accounts, replies to or quotes one of our posts. A reply the post's
// policy refuses is answered with a Reject; one it allows through a
// collection (followers...) with an Accept and its ReplyAuthorization,
// which the replier's server waits for when it follows GoToSocial's
// interaction controls (approvals.go).
func (s *Service) applyCreateNote(ctx context.Context, act Activity) (string, error) {
	p, outcome, err := s.planNote(ctx, act)
	if err != nil || p == nil {
		return outcome, err
	}
	if p.replyRefused {
		return s.rejectReply(ctx, act, p.replyLA, p.replyTo)
	}
	var ap *approval
	if p.replyLA != nil && p.replyAwaitsApproval() {
		inbox, err := s.answerInbox(ctx, act.Actor)
		if err != nil {
			return "", err
		}
		ap = &approval{kind: replyInteraction, la: p.replyLA, st: p.replyTo, interaction: act.Note.ID, inbox: inbox}
	}
	return s.recordNote(ctx, p, ap)
}

// recordNote stores a planned remote post and its notifications, and
// the approval of the reply when there is one, in one transaction with
// the activity's idempotency mark.
func (s *Service) recordNote(ctx context.Context, p *notePlan, ap *approval) (string, error) {
	act, n := p.act, p.act.Note
	now := s.now()
	outcome := "recorded"
	if ap != nil {
		outcome = "recorded and approved"
	}
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, now)
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		if err := q.UpsertRemoteProfile(ctx, p.prof); err != nil {
			return err
		}
		stored, _, err := q.InsertRemoteStatus(ctx, p.rs)
		if err != nil {
			return err
		}
		for _, t := range p.live {
			if t.mentioned {
				if err := s.notify(ctx, q, t.la, storage.NotificationMention, n.ID, act.Actor, p.replyTo.ID, stored.ID, now); err != nil {
					return err
				}
			}
			if t.quoted {
				if err := s.notify(ctx, q, t.la, storage.NotificationQuote, n.ID, act.Actor, p.quoteOf.ID, stored.ID, now); err != nil {
					return err
				}
			}
		}
		if ap != nil {
			return s.approve(ctx, q, act, ap, now) // approvals.go
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("federation: record post %s: %w", n.ID, err)
	}
	if ap != nil {
		s.Nudge()
	}
	return outcome, nil
}

// notify adds a notification for la.
func (s *Service) notify(ctx context.Context, q storage.Queries, la *localActor, typ, activityID, actor string, statusID, remoteStatusID int64, now time.Time) error {
	group := typ + "-" + strconv.FormatInt(remoteStatusID, 10)
	if typ == storage.NotificationFavourite || typ == storage.NotificationReblog {
		// Mastodon groups them per post and per day.
		group = typ + "-" + strconv.FormatInt(statusID, 10) + "-" + strconv.FormatInt(now.Unix()/86400, 10)
	}
	_, _, err := q.InsertNotification(ctx, storage.Notification{
		Account: la.name, Type: typ, ActivityID: activityID, ActorID: actor, ActorDomain: hostport.URLKey(actor),
		StatusID: statusID, RemoteStatusID: remoteStatusID, GroupKey: group, CreatedAt: now,
	})
	return err
}

// rejectReply answers a reply the interaction policy does not allow with
// a Reject (GoToSocial's shape), and records nothing else.
func (s *Service) rejectReply(ctx context.Context, act Activity, la *localActor, st storage.Status) (string, error) {
	inbox, err := s.answerInbox(ctx, act.Actor)
	if err != nil {
		return "", err
	}
	body, err := EncodeRejectReply(la.id+"#rejects/"+shortHash(act.Note.ID), la.id, act.Actor, act.Note.ID, s.NoteID(la.name, st.ID))
	if err != nil {
		return "", err
	}
	outcome := "rejected: reply not allowed by the post's interaction policy"
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, s.now())
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox},
			Ref: "reject:" + shortHash(act.Note.ID)})
	})
	if err != nil {
		return "", fmt.Errorf("federation: reject reply %s: %w", act.Note.ID, err)
	}
	s.Nudge()
	return outcome, nil
}

// applyUpdateNote applies the edit of a remote post we recorded.
func (s *Service) applyUpdateNote(ctx context.Context, act Activity) (string, error) {
	if err := checkNote(act); err != nil {
		return "", err
	}
	old, err := s.store.GetRemoteStatusByNoteID(ctx, act.Note.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return ignored("edit of a post we did not record"), nil
	}
	if err != nil {
		return "", err
	}
	if old.ActorID != act.Actor {
		return "", refuse(http.StatusForbidden, "edit of another actor's post", nil)
	}
	now := s.now()
	rs := s.sanitizedStatus(act, act.Note, now)
	rs.EditedAt = now
	outcome := "edited"
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, now)
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		err = q.UpdateRemoteStatus(ctx, rs)
		if errors.Is(err, storage.ErrNotFound) {
			outcome = ignored("edit of a deleted post")
			return nil
		}
		return err
	})
	if err != nil {
		return "", fmt.Errorf("federation: edit post %s: %w", act.Note.ID, err)
	}
	return outcome, nil
}

// applyDeleteNote applies the deletion of a remote post we recorded.
func (s *Service) applyDeleteNote(ctx context.Context, act Activity) (string, error) {
	old, err := s.store.GetRemoteStatusByNoteID(ctx, act.Object.ID)
	if errors.Is(err, storage.ErrNotFound) {
		return ignored("deletion of a post we did not record"), nil
	}
	if err != nil {
		return "", err
	}
	if old.ActorID != act.Actor {
		return "", refuse(http.StatusForbidden, "deletion of another actor's post", nil)
	}
	outcome := "deleted"
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, s.now())
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		_, err = q.DeleteRemoteStatus(ctx, act.Object.ID, s.now())
		return err
	})
	if err != nil {
		return "", fmt.Errorf("federation: delete post %s: %w", act.Object.ID, err)
	}
	return outcome, nil
}

// reactionPlan is what recording a Like or an Announce of one of our
// posts will do.
type reactionPlan struct {
	la   *localActor
	st   storage.Status
	typ  string // NotificationFavourite or NotificationReblog
	prof storage.RemoteProfile
}

// planReaction decides what a Like or an Announce (act.Type) of
// act.Object.ID by act.Actor means. Without a plan, it gives the reason
// it is ignored, or refused when the post's visibility does not allow it
// (a boost of a followers-only post; a like of one by a non-follower).
func (s *Service) planReaction(ctx context.Context, act Activity) (p *reactionPlan, ignoredReason, refusedReason string, err error) {
	la, st, reason, err := s.ourLiveStatus(ctx, s.store, act.Object.ID)
	if err != nil {
		return nil, "", "", err
	}
	if la == nil {
		return nil, strings.ToLower(act.Type) + " of " + reason, "", nil
	}
	blocked, err := s.blocks(ctx, s.store, la, act.Actor)
	if err != nil {
		return nil, "", "", err
	}
	if blocked {
		return nil, "", "", refuse(http.StatusForbidden, "blocked", nil)
	}
	typ := storage.NotificationFavourite
	if act.Type == "Announce" {
		typ = storage.NotificationReblog
		if st.Visibility == storage.VisibilityPrivate || st.Visibility == "direct" {
			return nil, "", "boost of a followers-only post", nil
		}
	}
	if st.Visibility == storage.VisibilityPrivate || st.Visibility == "direct" {
		facts, err := s.interactionFacts(ctx, s.store, la, st, act.Actor)
		if err != nil {
			return nil, "", "", err
		}
		if !facts.Follower && !facts.Mentioned {
			return nil, "", "like of a followers-only post by a non-follower", nil
		}
	}
	prof, err := s.senderProfile(ctx, act.Actor)
	if err != nil {
		return nil, "", "", fmt.Errorf("federation: profile of %s: %w", act.Actor, err)
	}
	return &reactionPlan{la: la, st: st, typ: typ, prof: prof}, "", "", nil
}

// applyReaction records a Like or an Announce of one of our posts.
// Likes and boosts are open to whoever can see the post (the Notes say
// so: canLike and canAnnounce are public), so none waits for an Accept.
func (s *Service) applyReaction(ctx context.Context, act Activity) (string, error) {
	p, ignoredReason, refusedReason, err := s.planReaction(ctx, act)
	if err != nil {
		return "", err
	}
	if p == nil {
		return ignored(ignoredReason + refusedReason), nil
	}
	return s.recordReaction(ctx, act, act.ID, p, nil)
}

// recordReaction stores the notification of a Like or an Announce
// (reactionID), and its approval when there is one, in one transaction
// with the idempotency mark of act (the reaction itself, or the request
// that carried it).
func (s *Service) recordReaction(ctx context.Context, act Activity, reactionID string, p *reactionPlan, ap *approval) (string, error) {
	now := s.now()
	outcome := "recorded"
	if ap != nil {
		outcome = "recorded and approved"
	}
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, now)
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		if err := q.UpsertRemoteProfile(ctx, p.prof); err != nil {
			return err
		}
		if err := s.notify(ctx, q, p.la, p.typ, reactionID, act.Actor, p.st.ID, 0, now); err != nil {
			return err
		}
		if ap != nil {
			return s.approve(ctx, q, act, ap, now) // approvals.go
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("federation: record %s %s: %w", act.Type, act.ID, err)
	}
	if ap != nil {
		s.Nudge()
	}
	return outcome, nil
}

// applyUndoReaction forgets a Like or Announce taken back.
func (s *Service) applyUndoReaction(ctx context.Context, act Activity) (string, error) {
	if act.Object.Actor != "" && act.Object.Actor != act.Actor {
		return "", refuse(http.StatusForbidden, "undo of another actor's activity", nil)
	}
	n, err := s.store.DeleteNotificationsByActivity(ctx, act.Actor, act.Object.ID)
	if err != nil {
		return "", fmt.Errorf("federation: undo %s: %w", act.Object.ID, err)
	}
	if n == 0 {
		return ignored("undo of an activity we did not record"), nil
	}
	return "undone", nil
}

// applyFlag stores a report naming one of our accounts or posts.
func (s *Service) applyFlag(ctx context.Context, act Activity) (string, error) {
	var (
		account string
		targets []string
	)
	for _, o := range act.Objects {
		if checkIRI(o) != nil {
			continue
		}
		if la := s.ourAccount(o); la != nil && account == "" {
			account = la.name
		} else if la, _, ok := s.ourStatusIRI(o); ok && account == "" {
			account = la.name
		}
		if len(targets) < maxReportTargets {
			targets = append(targets, o)
		}
	}
	if account == "" {
		return ignored("report about none of our accounts or posts"), nil
	}
	r := storage.Report{ActivityID: act.ID, Account: account, ReporterID: act.Actor, Targets: targets,
		Comment: sanitize.Text(sanitize.Plain(act.Content), maxReportComment), CreatedAt: s.now()}
	outcome := "report stored"
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, r.CreatedAt)
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		_, _, err = q.InsertReport(ctx, r)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("federation: store report %s: %w", act.ID, err)
	}
	s.log.Warn().Str("account", account).Str("reporter", act.Actor).Int("targets", len(targets)).
		Msg("report received: see bridge reports list")
	return outcome, nil
}

// applyQuoteRequest answers a FEP-044f QuoteRequest for one of our posts:
// an Accept with a QuoteAuthorization stamp when the post's quotes
// setting allows the requester, a Reject otherwise.
func (s *Service) applyQuoteRequest(ctx context.Context, act Activity) (string, error) {
	if act.Instrument == "" || checkIRI(act.Instrument) != nil || !sameHost(act.Instrument, act.Actor) {
		return "", refuse(http.StatusBadRequest, "quote request without a quoting post of the requester's server", nil)
	}
	if act.Note != nil && (act.Note.ID != act.Instrument || act.Note.AttributedTo != act.Actor) {
		return "", refuse(http.StatusForbidden, "the quoting post is not the requester's", nil)
	}
	la, st, reason, err := s.ourLiveStatus(ctx, s.store, act.Object.ID)
	if err != nil {
		return "", err
	}
	if la == nil {
		return ignored("quote request for " + reason), nil
	}
	blocked, err := s.blocks(ctx, s.store, la, act.Actor)
	if err != nil {
		return "", err
	}
	facts, err := s.interactionFacts(ctx, s.store, la, st, act.Actor)
	if err != nil {
		return "", err
	}
	_, quotes, err := s.statusPolicy(ctx, s.store, la, st.ID)
	if err != nil {
		return "", err
	}
	allowed := !blocked && st.Visibility != storage.VisibilityPrivate && st.Visibility != "direct" &&
		policy.Quotes(quotes).Allows(facts)
	inbox, err := s.answerInbox(ctx, act.Actor)
	if err != nil {
		return "", err
	}
	var (
		prof storage.RemoteProfile
		rs   storage.RemoteStatus
	)
	now := s.now()
	if allowed && act.Note != nil {
		if prof, err = s.senderProfile(ctx, act.Actor); err != nil {
			return "", err
		}
		rs = s.sanitizedStatus(act, act.Note, now)
		rs.QuoteOfID = st.ID
	}
	quoted := s.NoteID(la.name, st.ID)
	answer := InteractionAnswer{Actor: la.id, To: act.Actor, Request: &InteractionRequest{ID: act.ID, Type: act.Type, Actor: act.Actor},
		Interaction: act.Instrument, Target: quoted}
	outcome := "quote rejected"
	if allowed {
		outcome = "quote accepted"
	}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, now)
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		if allowed {
			qa, _, err := q.PutInteractionAuthorization(ctx, storage.InteractionAuthorization{Kind: storage.AuthorizationQuote,
				StatusID: st.ID, Account: la.name, InteractionID: act.Instrument, ActorID: act.Actor, RequestID: act.ID, CreatedAt: now})
			if err != nil {
				return err
			}
			answer.ID = la.id + "#accepts/quote_requests/" + strconv.FormatInt(qa.ID, 10)
			answer.Authorization = s.QuoteAuthorizationID(la.name, st.ID, qa.ID)
			if act.Note != nil {
				if err := q.UpsertRemoteProfile(ctx, prof); err != nil {
					return err
				}
				stored, _, err := q.InsertRemoteStatus(ctx, rs)
				if err != nil {
					return err
				}
				if err := s.notify(ctx, q, la, storage.NotificationQuote, act.Instrument, act.Actor, st.ID, stored.ID, now); err != nil {
					return err
				}
			}
		} else {
			answer.ID = la.id + "#rejects/quote_requests/" + shortHash(act.ID)
		}
		body, err := EncodeInteractionAnswer(answer)
		if err != nil {
			return err
		}
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox},
			Ref: "quote:" + shortHash(act.ID)})
	})
	if err != nil {
		return "", fmt.Errorf("federation: answer quote request %s: %w", act.ID, err)
	}
	s.Nudge()
	return outcome, nil
}

// QuoteAuthorizationID is the IRI of the stamp authorizing a quote of one
// of our posts.
func (s *Service) QuoteAuthorizationID(account string, statusID, id int64) string {
	return s.NoteID(account, statusID) + "/quotes/" + strconv.FormatInt(id, 10)
}

// quoteAuthorization serves a QuoteAuthorization stamp (approvals.go
// serves the other kinds).
func (s *Service) quoteAuthorization(w http.ResponseWriter, r *http.Request) {
	la, st, a, ok := s.servedAuthorization(w, r, "qid", func(kind string) bool { return kind == storage.AuthorizationQuote })
	if !ok {
		return
	}
	body, err := EncodeQuoteAuthorization(s.QuoteAuthorizationID(la.name, st.ID, a.ID), la.id, a.InteractionID, s.NoteID(la.name, st.ID))
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

// applyBlock: a remote actor blocked one of our accounts; it stops being
// a follower (nothing more is sent to it).
func (s *Service) applyBlock(ctx context.Context, act Activity) (string, error) {
	la := s.ourAccount(act.Object.ID)
	if la == nil {
		return ignored("block of an actor that is not ours"), nil
	}
	outcome := "blocked by the remote actor"
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, s.now())
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		_, err = q.DeleteFollower(ctx, la.name, act.Actor)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("federation: block by %s: %w", act.Actor, err)
	}
	return outcome, nil
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
