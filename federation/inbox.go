package federation

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/storage"
)

// MaxInboxBody is the largest activity the inboxes accept.
const MaxInboxBody = 1 << 20

// inboxError is an inbound activity refused with a status and a short,
// client-safe reason.
type inboxError struct {
	code   int
	reason string
	err    error // internal cause, for the log
}

func (e *inboxError) Error() string {
	if e.err != nil {
		return e.reason + ": " + e.err.Error()
	}
	return e.reason
}

func refuse(code int, reason string, err error) *inboxError {
	return &inboxError{code: code, reason: reason, err: err}
}

// inbox is the per-actor and shared inbox: size, signature (date, digest,
// key, signature, signer = actor), then the activity is applied in one
// transaction and answered 202.
func (s *Service) inbox(w http.ResponseWriter, r *http.Request) {
	adm, ok := s.admitInbox(w, r) // guard.go: refused domains, rate limits, memory
	if !ok {
		return
	}
	defer adm.release()
	start := s.now()
	act, outcome, err := s.receive(r)
	adm.settle(err)
	ev := s.log.Info()
	code := http.StatusAccepted
	if err != nil {
		var ie *inboxError
		if errors.As(err, &ie) {
			code = ie.code
			ev = s.refusalEvent(r, err).Str("reason", ie.reason) // warn; debug for repeated 429s (guard.go)
			if ie.err != nil {
				ev = ev.AnErr("cause", ie.err)
			}
			outcome = "rejected"
		} else {
			code = http.StatusInternalServerError
			ev = s.log.Error().Err(err)
			outcome = "error"
		}
	}
	logActivity(ev, r, act).Str("outcome", outcome).Int("status", code).
		Dur("took", s.now().Sub(start)).Msg("inbound activity")
	if err != nil {
		reason := "internal error"
		var ie *inboxError
		if errors.As(err, &ie) {
			reason = ie.reason
		}
		s.observeInbound(act.Type, outcome, code, reason)
		setRetryAfter(w, err)
		writeError(w, code, reason)
		return
	}
	s.observeInbound(act.Type, outcome, code, "")
	w.WriteHeader(http.StatusAccepted)
}

func logActivity(ev *zerolog.Event, r *http.Request, act Activity) *zerolog.Event {
	ev = ev.Str("inbox", r.URL.Path)
	if act.Type != "" {
		ev = ev.Str("type", act.Type).Str("id", act.ID).Str("actor", act.Actor)
		if act.Object.Type != "" {
			ev = ev.Str("object_type", act.Object.Type)
		}
	}
	return ev
}

// receive checks and applies one inbound activity; it returns the outcome
// for the log ("accepted", "duplicate", "ignored"...).
func (s *Service) receive(r *http.Request) (Activity, string, error) {
	ctx := r.Context()
	var target *localActor // nil for the shared inbox
	if name := r.PathValue("name"); name != "" {
		target = s.accounts[strings.ToLower(name)]
		if target == nil {
			return Activity{}, "", refuse(http.StatusNotFound, "no such account", nil)
		}
	}
	if r.ContentLength > MaxInboxBody {
		return Activity{}, "", refuse(http.StatusRequestEntityTooLarge, "body larger than 1 MiB", nil)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxInboxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return Activity{}, "", refuse(http.StatusRequestEntityTooLarge, "body larger than 1 MiB", nil)
		}
		return Activity{}, "", refuse(http.StatusBadRequest, "cannot read body", err)
	}

	// Cheap checks first (sigin.go): nothing is fetched for a request
	// that is unsigned, stale, signed for another host or whose body does
	// not match its digest.
	sig, err := s.parseSignature(r, body)
	if err != nil {
		return Activity{}, "", err
	}
	act, err := DecodeActivity(ctx, body)
	if err != nil {
		if IsDecodeError(err) {
			var de *DecodeError
			errors.As(err, &de)
			return Activity{}, "", refuse(http.StatusBadRequest, de.Reason, nil)
		}
		return Activity{}, "", err
	}
	if err := s.gateActivity(sig.keyID, act); err != nil { // guard.go: before any key fetch
		return act, "", err
	}

	key, err := s.verifiedSigner(ctx, sig, act)
	if err != nil {
		return act, "", err
	}
	if key.Owner == "" {
		// The signer is gone (Delete of an actor we never knew).
		return act, "ignored", nil
	}
	if key.Owner != act.Actor {
		return act, "", refuse(http.StatusUnauthorized, "signer is not the activity's actor", nil)
	}
	outcome, err := s.apply(ctx, target, act)
	if errors.Is(err, storage.ErrUnavailable) {
		err = unavailable(err)
	}
	return act, outcome, err
}

// verifiedSigner fetches (or reads from cache) the key of keyID, verifies
// the request, and returns the key with its owner (a zero value when the
// owner is gone and there is nothing to verify). A cached key that fails
// is refetched once, in case the remote actor rotated it.
func (s *Service) verifiedSigner(ctx context.Context, sig inboundSignature, act Activity) (storage.RemoteKey, error) {
	keyID := sig.keyID
	key, cached, err := s.remoteKey(ctx, keyID, false)
	if err != nil {
		if act.Type == "Delete" && act.Object.ID == act.Actor && isGone(err) {
			// Mastodon sends Delete of a removed account signed with a key
			// that no longer resolves: nothing to verify, nothing to keep.
			return storage.RemoteKey{}, nil
		}
		return storage.RemoteKey{}, keyError(err) // 401, 429 over the key-fetch budget, 503 (guard.go)
	}
	err = s.verifyWith(sig, key)
	if err != nil && cached {
		if key, _, err = s.remoteKey(ctx, keyID, true); err != nil {
			return storage.RemoteKey{}, keyError(err)
		}
		err = s.verifyWith(sig, key)
	}
	if err != nil {
		return storage.RemoteKey{}, refuse(http.StatusUnauthorized, signatureReason(err), err)
	}
	if sig.spec == specRFC9421 {
		s.rememberSpec(hostport.FromURL(keyID), specRFC9421) // knock.go: it speaks RFC 9421
	}
	return key, nil
}

func (s *Service) verifyWith(sig inboundSignature, key storage.RemoteKey) error {
	pub, err := parseKey(key.PublicKeyPEM)
	if err != nil {
		return err
	}
	return s.verify(sig, pub)
}

// apply records what the activity means, in one transaction with its
// idempotency mark and the jobs it causes. The activity's actor is the
// verified signer.
func (s *Service) apply(ctx context.Context, target *localActor, act Activity) (string, error) {
	if outcome, handled, err := s.applyInteraction(ctx, target, act); handled { // interactions.go
		return outcome, err
	}
	switch act.Type {
	case "Follow":
		return s.applyFollow(ctx, target, act)
	case "Undo":
		if act.Object.Type == "Follow" || act.Object.Type == "" {
			return s.applyUndoFollow(ctx, act)
		}
	case "Delete":
		if act.Object.ID == act.Actor {
			return s.applyActorDelete(ctx, act)
		}
	case "Move":
		return s.applyMove(ctx, act) // moves.go
	}
	return "ignored", nil
}

// ourAccount returns the account whose actor IRI is iri.
func (s *Service) ourAccount(iri string) *localActor {
	prefix := s.set.BaseURL + "/users/"
	if !strings.HasPrefix(iri, prefix) {
		return nil
	}
	return s.accounts[strings.TrimPrefix(iri, prefix)]
}

func (s *Service) applyFollow(ctx context.Context, target *localActor, act Activity) (string, error) {
	la := s.ourAccount(act.Object.ID)
	if la == nil || (target != nil && target != la) {
		return "ignored", nil
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
	outcome := "followed"
	// The Accept is encoded before the transaction: go-fed serialisation
	// is slow, and on SQLite the transaction holds the only writer.
	var accept []byte
	if state == storage.FollowerAccepted {
		if accept, err = s.encodeAccept(la, act); err != nil {
			return "", err
		}
	}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, now)
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
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
		if _, err := q.UpsertFollower(ctx, f); err != nil {
			return err
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
	if err != nil {
		return "", fmt.Errorf("federation: record follow %s: %w", act.ID, err)
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
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, s.now())
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
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
	if err != nil {
		return "", fmt.Errorf("federation: undo follow %s: %w", act.ID, err)
	}
	return outcome, nil
}

func (s *Service) applyActorDelete(ctx context.Context, act Activity) (string, error) {
	outcome := "actor deleted"
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		first, err := q.MarkActivityProcessed(ctx, act.Actor, act.ID, s.now())
		if err != nil || !first {
			outcome = "duplicate"
			return err
		}
		if _, err := q.DeleteFollowerEverywhere(ctx, act.Actor); err != nil {
			return err
		}
		if err := q.DeleteRemoteActor(ctx, act.Actor); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("federation: delete actor %s: %w", act.Actor, err)
	}
	return outcome, nil
}
