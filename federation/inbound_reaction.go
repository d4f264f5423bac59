package federation

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/passerelle/passerelle/storage"
)

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
	if p == nil && refusedReason == "" && act.Type == "Announce" {
		if out, ok, err := s.applyHomeAnnounce(ctx, act); ok || err != nil { // follows.go
			return out, err
		}
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
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
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
	if err != nil || dup {
		return dupOutcome(dup), err
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
	if act.Object.Type != "Like" {
		h, err := s.store.DeleteHomeEntriesByActivity(ctx, act.Actor, act.Object.ID) // a boost in home timelines
		if err != nil {
			return "", fmt.Errorf("federation: undo %s: %w", act.Object.ID, err)
		}
		n += h
	}
	if n == 0 {
		return ignored("undo of an activity we did not record"), nil
	}
	return "undone", nil
}
