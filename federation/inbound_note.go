package federation

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

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
	return storage.VisibilityDirect
}

// sanitizedStatus is remoteStatusFrom, logging what the sanitiser removed
// that could harm or deceive.
func (s *Service) sanitizedStatus(ctx context.Context, act Activity, n *InboundNote, now time.Time) storage.RemoteStatus {
	if reasons := sanitize.Unsafe(n.ContentHTML + "\n" + n.Summary); len(reasons) > 0 {
		reqlog.Logger(ctx, s.log).Warn().Str("activity", act.ID).Str("actor", act.Actor).Str("note", n.ID).Strs("removed", reasons).
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
	rs := storage.RemoteStatus{
		ID: remoteID(now), NoteID: n.ID, ActorID: actor, URL: u,
		ContentHTML: sanitize.HTML(n.ContentHTML),
		SpoilerText: sanitize.Name(n.Summary, maxSpoilerGraphemes),
		Sensitive:   n.Sensitive || strings.TrimSpace(n.Summary) != "",
		Language:    sanitize.Name(lang, 16),
		Visibility:  visibilityOf(n, actor),
		CreatedAt:   created,
	}
	if checkIRI(n.InReplyTo) == nil {
		rs.InReplyToURI = n.InReplyTo
	}
	return rs
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
				reqlog.Logger(ctx, s.log).Info().Str("note", n.ID).Str("reason", reason).Msg("quote of a post we cannot find: not recorded as a quote")
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
					reqlog.Logger(ctx, s.log).Info().Str("note", n.ID).Int64("status", st.ID).Msg("quote not allowed by the post's policy: not recorded as a quote")
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
	p.rs = s.sanitizedStatus(ctx, act, n, s.now())
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
	if err == nil && p == nil && act.Note != nil {
		if out, ok, err := s.applyHomeCreate(ctx, act); ok || err != nil { // follows.go
			return out, err
		}
	}
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
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
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
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	if ap != nil {
		s.Nudge()
	}
	return outcome, nil
}

// rejectReply answers a reply the interaction policy does not allow with
// a Reject (GoToSocial's shape), and records nothing else.
func (s *Service) rejectReply(ctx context.Context, act Activity, la *localActor, st storage.Status) (string, error) {
	inbox, err := s.answerInbox(ctx, act.Actor)
	if err != nil {
		return "", err
	}
	body, err := EncodeRejectReply(la.id+"#rejects/"+shortHash(act.Note.ID), la.id, act.Actor, act.Note.ID, s.links.Note(la.name, st.ID))
	if err != nil {
		return "", err
	}
	outcome := "rejected: reply not allowed by the post's interaction policy"
	dup, err := s.applyOnce(ctx, act, s.now(), func(q storage.Queries) error {
		return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Inboxes: []string{inbox},
			Ref: "reject:" + shortHash(act.Note.ID)})
	})
	if err != nil || dup {
		return dupOutcome(dup), err
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
	rs := s.sanitizedStatus(ctx, act, act.Note, now)
	rs.EditedAt = now
	outcome := "edited"
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		err = q.UpdateRemoteStatus(ctx, rs)
		if errors.Is(err, storage.ErrNotFound) {
			outcome = ignored("edit of a deleted post")
			return nil
		}
		return err
	})
	if err != nil || dup {
		return dupOutcome(dup), err
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
	dup, err := s.applyOnce(ctx, act, s.now(), func(q storage.Queries) error {
		_, err = q.DeleteRemoteStatus(ctx, act.Object.ID, s.now())
		return err
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	return outcome, nil
}
