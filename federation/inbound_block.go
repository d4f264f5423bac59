package federation

import (
	"context"

	"github.com/passerelle/passerelle/storage"
)

// applyBlock: a remote actor blocked one of our accounts; it stops being
// a follower (nothing more is sent to it).
func (s *Service) applyBlock(ctx context.Context, act Activity) (string, error) {
	la := s.ourAccount(act.Object.ID)
	if la == nil {
		return ignored("block of an actor that is not ours"), nil
	}
	outcome := "blocked by the remote actor"
	dup, err := s.applyOnce(ctx, act, s.now(), func(q storage.Queries) error {
		_, err := q.DeleteFollower(ctx, la.name, act.Actor)
		return err
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	return outcome, nil
}
