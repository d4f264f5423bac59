package federation

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Profile changes reach followers: servers refresh a remote actor only
// when it sends an Update of itself (Hollo, GoToSocial) or rarely on a
// timer (Mastodon, about once a day), and GoToSocial reads the pinned
// posts (featured) only when it fetches the actor. So an Update of the
// actor goes to every follower's server, through the durable fan-out:
//
//   - at start-up, for each account whose configured document (name,
//     bio, avatar and header with their content, fields, manual
//     approval, also_known_as...) differs from the one last announced
//     (storage.ActorAnnouncement keeps its digest). The first start with
//     nothing stored records the documents without sending anything.
//     Replicas starting together send one Update: the digest is swapped
//     from the one read, in the transaction that queues the Update;
//   - after a pin or an unpin (publish), in the transaction that changes
//     the pin, alongside the Add or Remove Mastodon reads.
//
// Each Update has an id of its own: the actor's, #updates/, the
// announcement's sequence number and the digest's beginning.

// aliasResolveTimeout bounds the WebFinger lookups of alias handles made
// before an Update is encoded, so that it carries them.
const aliasResolveTimeout = 15 * time.Second

// actorDigest is the digest of what la's configuration puts in its actor
// document (also_known_as handles included: they enter it once resolved).
func actorDigest(la *localActor) string {
	h := sha256.New()
	h.Write(canonicalJSON(la.doc))
	for _, a := range la.cfg.AlsoKnownAs {
		h.Write([]byte{0})
		h.Write([]byte(a))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// canonicalJSON is doc with its object keys sorted, so that a digest
// depends on what a document says, not on the order it is written in.
func canonicalJSON(doc []byte) []byte {
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		return doc
	}
	out, err := marshalJSON(v)
	if err != nil {
		return doc
	}
	return out
}

// actorUpdateID is the id of the seq-th Update of la's actor.
func actorUpdateID(la *localActor, seq int64, digest string) string {
	return la.id + "#updates/" + strconv.FormatInt(seq, 10) + "-" + digest[:12]
}

// AnnounceProfiles sends an Update of each account's actor to its
// followers' servers when its document changed since it was last
// announced (a change of configuration found at start-up). Failures are
// returned together; each account is tried.
func (s *Service) AnnounceProfiles(ctx context.Context) error {
	names := make([]string, 0, len(s.accounts))
	for name := range s.accounts {
		names = append(names, name)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		if err := s.announceProfile(ctx, s.accounts[name]); err != nil {
			errs = append(errs, fmt.Errorf("federation: announce the profile of %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) announceProfile(ctx context.Context, la *localActor) error {
	digest := actorDigest(la)
	prev, err := s.store.GetActorAnnouncement(ctx, la.name)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		// Nothing to compare with: the followers' servers have whatever
		// they fetched; from now on, changes are announced.
		_, _, err := s.store.SwapActorAnnouncement(ctx, la.name, "", digest, s.now())
		return err
	case err != nil:
		return err
	case prev.Digest == digest:
		return nil
	}
	if len(la.cfg.AlsoKnownAs) > 0 {
		rctx, cancel := context.WithTimeout(ctx, aliasResolveTimeout)
		s.resolveAliases(rctx, la) // moves.go: failures logged, the handle left out
		cancel()
	}
	doc := s.currentActorDoc(ctx, la)
	var seq int64
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		var swapped bool
		var err error
		seq, swapped, err = q.SwapActorAnnouncement(ctx, la.name, prev.Digest, digest, s.now())
		if err != nil || !swapped {
			return err // another replica announced it
		}
		return s.enqueueActorUpdate(ctx, q, la, doc, seq, digest)
	})
	if err != nil {
		return err
	}
	if seq > 0 {
		s.log.Info().Str("account", la.name).Int64("update", seq).Msg("profile changed: Update of the actor queued for the followers")
		s.Nudge()
	}
	return nil
}

// EnqueueActorUpdate queues, in q (the caller's transaction), an Update
// of account's actor for its followers' servers: after a change its
// document does not show but that servers read when they fetch it, such
// as the pinned posts.
func (s *Service) EnqueueActorUpdate(ctx context.Context, q storage.Queries, account string) error {
	la := s.accounts[strings.ToLower(account)]
	if la == nil {
		return ErrNotOurAccount
	}
	digest := actorDigest(la)
	seq, err := q.BumpActorAnnouncement(ctx, la.name, digest, s.now())
	if err != nil {
		return err
	}
	return s.enqueueActorUpdate(ctx, q, la, s.cachedActorDoc(la), seq, digest)
}

func (s *Service) enqueueActorUpdate(ctx context.Context, q storage.Queries, la *localActor, doc []byte, seq int64, digest string) error {
	body, err := EncodeActorUpdate(actorUpdateID(la, seq, digest), la.id, doc)
	if err != nil {
		return err
	}
	return s.Enqueue(ctx, q, Outgoing{Account: la.name, Activity: body, Followers: true,
		Ref: "actor:" + la.name + ":update"})
}

// cachedActorDoc is la's actor document as last served (moves.go), read
// without going to the store (callers hold a transaction).
func (s *Service) cachedActorDoc(la *localActor) []byte {
	s.moves.mu.Lock()
	defer s.moves.mu.Unlock()
	return s.moves.entry(la).doc
}

// EncodeActorUpdate builds actor's Update of itself, embedding its
// document doc (whose @context becomes the activity's).
func EncodeActorUpdate(id, actor string, doc []byte) ([]byte, error) {
	var obj map[string]any
	if err := json.Unmarshal(doc, &obj); err != nil {
		return nil, fmt.Errorf("federation: actor document of %s: %w", actor, err)
	}
	ctx := obj["@context"]
	delete(obj, "@context")
	return marshalJSON(map[string]any{
		"@context": ctx,
		"id":       id,
		"type":     "Update",
		"actor":    actor,
		"to":       []any{asPublic},
		"cc":       []any{actor + "/followers"},
		"object":   obj,
	})
}
