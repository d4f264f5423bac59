package federation

// Inbound activities: what the fediverse says to our accounts (follows,
// mentions and replies, likes, boosts, quotes and interaction requests,
// reports, blocks, deletions, moves) is checked to be about us (one of our
// actors, or one of our live posts), sanitised, and stored in one
// transaction with the activity's idempotency mark and the jobs it causes
// (an Accept, the Reject of a reply the interaction policy does not allow,
// the answer to a request). Anything else is ignored with a logged reason.
// The inbox (inbox.go) has verified the signature and that the signer is
// the activity's actor before this point.
//
// One dispatch table (handlerFor), one file per activity type handled
// (inbound_*.go, approvals.go for the interaction requests), one
// apply-once helper (applyOnce).

import (
	"context"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Limits of what is kept of a remote post and of a report.
const (
	maxSpoilerGraphemes = 500
	maxReportComment    = 5000
	maxReportTargets    = 20
)

// handler applies one kind of inbound activity and returns its outcome for
// the log ("followed", "duplicate", "ignored: ...").
type handler func(ctx context.Context, act Activity) (string, error)

// handlerFor is the dispatch table of inbound activities; nil: ignored.
// target is the account whose inbox received act, nil for the shared
// inbox.
func (s *Service) handlerFor(target *localActor, act Activity) handler {
	if s.looksLikeVote(act) {
		return s.applyVote // inbound_vote.go
	}
	switch act.Type {
	case "Follow":
		return func(ctx context.Context, act Activity) (string, error) {
			return s.applyFollow(ctx, target, act) // inbound_follow.go
		}
	case "Create":
		return s.applyCreateNote // inbound_note.go
	case "Update":
		if act.Object.ID == act.Actor || act.Note == nil {
			return ignoring("update of something other than a post")
		}
		return s.applyUpdateNote
	case "Delete":
		if act.Object.ID == act.Actor {
			return s.applyActorDelete // inbound_actor.go
		}
		return s.applyDeleteNote
	case "Like", "Announce":
		return s.applyReaction // inbound_reaction.go
	case "Flag":
		return s.applyFlag // inbound_flag.go
	case "QuoteRequest":
		return s.applyQuoteRequest // inbound_quote.go
	case "ReplyRequest":
		return s.applyReplyRequest // approvals.go
	case "LikeRequest":
		return s.reactionRequestHandler(likeInteraction)
	case "AnnounceRequest":
		return s.reactionRequestHandler(announceInteraction)
	case "Block":
		return s.applyBlock // inbound_block.go
	case "Move":
		return s.applyMove // inbound_move.go
	case "Accept", "Reject":
		return s.applyFollowAnswer // follows.go: of our Follows
	case "Undo":
		switch act.Object.Type {
		case "Follow":
			return s.applyUndoFollow
		case "Like", "Announce":
			return s.applyUndoReaction
		case "Block":
			return ignoring("we do not follow anyone")
		case "":
			return s.applyUndoByIRI
		}
	}
	return nil
}

// apply records what the activity means (handlerFor).
func (s *Service) apply(ctx context.Context, target *localActor, act Activity) (string, error) {
	h := s.handlerFor(target, act)
	if h == nil {
		return "ignored", nil
	}
	return h(ctx, act)
}

// applyOnce runs fn in one transaction with act's idempotency mark, the
// first time act's actor sends act's id; a replay runs nothing and
// reports dup. What fn writes and the mark are committed together or not
// at all.
func (s *Service) applyOnce(ctx context.Context, act Activity, at time.Time, fn func(q storage.Queries) error) (dup bool, err error) {
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, at)
		if err != nil || !first {
			dup = err == nil
			return err
		}
		return fn(q)
	})
	if err != nil {
		return false, fmt.Errorf("federation: apply %s %s: %w", act.Type, act.ID, err)
	}
	return dup, nil
}

// dupOutcome is the outcome of an activity applyOnce did not apply:
// "duplicate" for a replay ("" when it failed).
func dupOutcome(dup bool) string {
	if dup {
		return "duplicate"
	}
	return ""
}

// ignored is the outcome of an activity accepted (202) but not acted on,
// with the reason the inbox logs.
func ignored(reason string) string { return "ignored: " + reason }

// ignoring is a handler that ignores with reason.
func ignoring(reason string) handler {
	return func(context.Context, Activity) (string, error) { return ignored(reason), nil }
}

// applyUndoByIRI handles an Undo whose object is given by IRI only: it may
// undo a Like, an Announce or a Follow.
func (s *Service) applyUndoByIRI(ctx context.Context, act Activity) (string, error) {
	if _, err := s.store.DeleteNotificationsByActivity(ctx, act.Actor, act.Object.ID); err != nil {
		return "", err
	}
	return s.applyUndoFollow(ctx, act)
}

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// ourAccount returns the account whose actor IRI is iri.
func (s *Service) ourAccount(iri string) *localActor {
	name, _ := s.links.ParseActor(iri)
	return s.accounts[name]
}
