package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// applyFollow records a follower of one of our accounts (pending when the
// account approves followers by hand) and queues the Accept.
func (s *Service) applyFollow(ctx context.Context, target *localActor, act Activity) (string, error) {
	la := s.ourAccount(act.Object.ID)
	if la == nil || (target != nil && target != la) {
		return "ignored", nil
	}
	if blocked, err := s.blocks(ctx, s.store, la, act.Actor); err != nil || blocked {
		return "", errOr(err, refuse(http.StatusForbidden, "blocked", nil))
	}
	// Where to send the Accept: the key that signed may have come from a
	// stub of the actor (GoToSocial), so the actor may not be known yet.
	ra, _, err := s.remoteActor(ctx, act.Actor)
	if err != nil {
		if errors.Is(err, storage.ErrUnavailable) {
			return "", err
		}
		return "", &retryLater{refuse(http.StatusServiceUnavailable, "cannot fetch the follower's actor document, retry later", err), time.Minute}
	}
	now := s.now()
	state := storage.FollowerAccepted
	if la.cfg.ManuallyApprovesFollowers {
		state = storage.FollowerPending
	}
	movedFrom, err := s.movingIn(ctx, la) // moves.go: an open move-in window
	if err != nil {
		return "", err
	}
	if movedFrom != "" {
		state = storage.FollowerAccepted // followers moving in are not asked again
	}
	prof, err := s.senderProfile(ctx, act.Actor)
	if err != nil {
		return "", fmt.Errorf("federation: profile of %s: %w", act.Actor, err)
	}
	outcome := "followed"
	// The Accept is encoded before the transaction: go-fed serialisation
	// is slow, and on SQLite the transaction holds the only writer.
	var accept []byte
	if state == storage.FollowerAccepted {
		if accept, err = s.encodeAccept(la, act); err != nil {
			return "", err
		}
	}
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		if existing, err := q.GetFollower(ctx, la.name, act.Actor); err == nil && existing.State == storage.FollowerAccepted {
			state = storage.FollowerAccepted // already approved: re-accept
			movedFrom = ""                   // already following: not moved in
		}
		f := storage.Follower{
			Account: la.name, ActorID: act.Actor, Inbox: ra.Inbox, SharedInbox: ra.SharedInbox,
			FollowActivityID: act.ID, State: state, CreatedAt: now,
		}
		if state == storage.FollowerAccepted {
			f.AcceptedAt = now
		} else {
			outcome = "pending approval"
		}
		created, err := q.UpsertFollower(ctx, f)
		if err != nil {
			return err
		}
		if created {
			// Mastodon's "follow" or "follow_request" notification (and
			// its Web Push, through the Notifier).
			kind := storage.NotificationFollow
			if state != storage.FollowerAccepted {
				kind = storage.NotificationFollowRequest
			}
			if err := q.UpsertRemoteProfile(ctx, prof); err != nil {
				return err
			}
			if err := s.notify(ctx, q, la, kind, act.ID, act.Actor, 0, 0, now); err != nil {
				return err
			}
		}
		if movedFrom != "" {
			if err := q.SetFollowerMovedFrom(ctx, la.name, act.Actor, movedFrom); err != nil {
				return err
			}
			outcome = "followed (moved in)"
		}
		if state == storage.FollowerAccepted {
			if accept == nil { // re-accept of an already approved follower
				if accept, err = s.encodeAccept(la, act); err != nil {
					return err
				}
			}
			return s.enqueueDelivery(ctx, q, la.name, ra.Inbox, accept, "accept:"+act.ID, "")
		}
		return nil
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	if state == storage.FollowerAccepted {
		s.Nudge()
	}
	return outcome, nil
}

// enqueueAccept queues the signed Accept of a Follow for delivery to the
// follower's own inbox.
func (s *Service) enqueueAccept(ctx context.Context, q storage.Queries, la *localActor, follow Activity, inbox string) error {
	body, err := s.encodeAccept(la, follow)
	if err != nil {
		return err
	}
	return s.enqueueDelivery(ctx, q, la.name, inbox, body, "accept:"+follow.ID, "")
}

// encodeAccept builds la's Accept of follow.
func (s *Service) encodeAccept(la *localActor, follow Activity) ([]byte, error) {
	return EncodeAccept(la.id+"#accepts/follows/"+shortHash(follow.ID), la.id, follow)
}

// ApproveFollower accepts a pending follower (manual approval).
func (s *Service) ApproveFollower(ctx context.Context, username, actorID string) error {
	la := s.accounts[strings.ToLower(username)]
	if la == nil {
		return fmt.Errorf("federation: no account %q", username)
	}
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		f, err := q.GetFollower(ctx, la.name, actorID)
		if err != nil {
			return err
		}
		if f.State == storage.FollowerAccepted {
			return nil
		}
		if err := q.SetFollowerState(ctx, la.name, actorID, storage.FollowerAccepted, s.now()); err != nil {
			return err
		}
		follow := Activity{ID: f.FollowActivityID, Type: "Follow", Actor: actorID, Object: Object{ID: la.id}}
		return s.enqueueAccept(ctx, q, la, follow, f.Inbox)
	})
	if err != nil {
		return fmt.Errorf("federation: approve %s: %w", actorID, err)
	}
	s.Nudge()
	return nil
}

func (s *Service) applyUndoFollow(ctx context.Context, act Activity) (string, error) {
	// The embedded Follow must be the signer's own.
	if act.Object.Actor != "" && act.Object.Actor != act.Actor {
		return "", refuse(http.StatusUnauthorized, "undo of another actor's follow", nil)
	}
	var accounts []*localActor
	switch la := s.ourAccount(act.Object.Object); {
	case la != nil:
		accounts = []*localActor{la}
	case act.Object.Object != "":
		// The undone Follow was of someone else.
		return "ignored", nil
	default:
		// Undo{Follow} given by IRI only: find which account it was for,
		// by the Follow's id.
		for _, la := range s.accounts {
			accounts = append(accounts, la)
		}
	}
	outcome := "ignored"
	dup, err := s.applyOnce(ctx, act, s.now(), func(q storage.Queries) error {
		for _, la := range accounts {
			f, err := q.GetFollower(ctx, la.name, act.Actor)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if act.Object.Object == "" && f.FollowActivityID != act.Object.ID {
				continue
			}
			if _, err := q.DeleteFollower(ctx, la.name, act.Actor); err != nil {
				return err
			}
			outcome = "unfollowed"
		}
		return nil
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	return outcome, nil
}
