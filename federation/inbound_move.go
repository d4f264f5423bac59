package federation

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// applyMove handles an inbound Move. Only a Move of the signer itself
// (object = actor, as Mastodon sends it) to one of our accounts matters:
// when the target account lists the mover in also_known_as, a move-in
// window opens; when it does not, the Move is refused (422) with the
// reason. A Move between two other accounts concerns nobody here (we
// follow nobody) and is ignored.
func (s *Service) applyMove(ctx context.Context, act Activity) (string, error) {
	if act.Object.ID != act.Actor {
		return "", refuse(http.StatusUnprocessableEntity, "Move rejected: its object must be its actor (an account moves itself)", nil)
	}
	if act.Target == "" {
		return "", refuse(http.StatusBadRequest, "Move rejected: no target", nil)
	}
	la := s.ourAccount(act.Target)
	if la == nil {
		return ignored("move to an account not ours"), nil
	}
	resume := s.pauseWork(ctx) // guard.go: no inbox work slot held during WebFinger lookups
	aliases := s.resolveAliases(ctx, la)
	resume()
	if !slices.Contains(aliases, act.Actor) {
		return "", refuse(http.StatusUnprocessableEntity, fmt.Sprintf(
			"Move rejected: the target %s does not list %s in alsoKnownAs", la.id, act.Actor), nil)
	}
	now := s.now()
	outcome := "move-in window opened"
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		until := now.Add(DefaultMoveInWindow)
		wins, err := q.ListMovesIn(ctx, la.name)
		if err != nil {
			return err
		}
		for _, w := range wins {
			if w.Origin == act.Actor && w.Until.After(until) {
				until = w.Until // an admin's longer window stays
			}
		}
		return q.PutMoveIn(ctx, storage.MoveIn{
			Account: la.name, Origin: act.Actor, Source: storage.MoveInReceived,
			ActivityID: act.ID, OpenedAt: now, Until: until,
		})
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	reqlog.Logger(ctx, s.log).Info().Str("account", la.name).Str("from", act.Actor).Msg("moves: a Move to this account arrived; follows are accepted as moved in for a week")
	return outcome, nil
}
