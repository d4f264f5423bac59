package federation

import (
	"context"
	"errors"

	"github.com/passerelle/passerelle/storage"
)

func (s *Service) applyActorDelete(ctx context.Context, act Activity) (string, error) {
	outcome := "actor deleted"
	dup, err := s.applyOnce(ctx, act, s.now(), func(q storage.Queries) error {
		if _, err := q.DeleteFollowerEverywhere(ctx, act.Actor); err != nil {
			return err
		}
		if err := q.DeleteRemoteActor(ctx, act.Actor); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		return nil
	})
	if err != nil || dup {
		return dupOutcome(dup), err
	}
	return outcome, nil
}
