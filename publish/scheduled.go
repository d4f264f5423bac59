package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Scheduled statuses are jobs of kind JobPublish with Ref
// "scheduled:<account>" (schedule.go). They live in the database, so they
// survive restarts; this file lists, moves and cancels them while they are
// still pending. Once the scheduler has claimed one it is being published
// and can no longer be changed (ErrNotFound, as Mastodon answers for a
// scheduled status already posted).

// MaxScheduledList bounds ListScheduled (Mastodon allows 300 scheduled
// statuses per account).
const MaxScheduledList = 1000

func scheduledRef(account string) string { return "scheduled:" + account }

// scheduledOf decodes a scheduled-status job of account.
func scheduledOf(j storage.Job, account string) (Scheduled, error) {
	if j.Kind != JobPublish || j.Ref != scheduledRef(account) || j.Status != storage.JobPending {
		return Scheduled{}, ErrNotFound
	}
	var p scheduledPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Account != account {
		return Scheduled{}, fmt.Errorf("publish: scheduled status %d: undecodable payload", j.ID)
	}
	return Scheduled{ID: j.ID, ScheduledAt: j.RunAt, Account: account, Draft: p.Draft}, nil
}

// ListScheduled returns the account's pending scheduled statuses, by id.
func (s *Service) ListScheduled(ctx context.Context, account string) ([]Scheduled, error) {
	jobs, err := s.store.ListJobsByRef(ctx, JobPublish, scheduledRef(account), storage.JobPending, MaxScheduledList)
	if err != nil {
		return nil, fmt.Errorf("publish: list scheduled: %w", err)
	}
	out := make([]Scheduled, 0, len(jobs))
	for _, j := range jobs {
		sc, err := scheduledOf(j, account)
		if err != nil {
			s.log.Warn().Err(err).Int64("job", j.ID).Msg("scheduled status skipped")
			continue
		}
		out = append(out, sc)
	}
	return out, nil
}

// GetScheduled returns one of the account's pending scheduled statuses.
func (s *Service) GetScheduled(ctx context.Context, account string, id int64) (Scheduled, error) {
	j, err := s.store.GetJob(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return Scheduled{}, ErrNotFound
	}
	if err != nil {
		return Scheduled{}, fmt.Errorf("publish: get scheduled: %w", err)
	}
	return scheduledOf(j, account)
}

// Reschedule moves a pending scheduled status to at (at least
// MinScheduleDelay ahead, as when scheduling).
func (s *Service) Reschedule(ctx context.Context, account string, id int64, at time.Time) (Scheduled, error) {
	if at.Before(s.now().Add(MinScheduleDelay)) {
		return Scheduled{}, invalid("Validation failed: Scheduled at must be at least 5 minutes in the future")
	}
	if _, err := s.GetScheduled(ctx, account, id); err != nil {
		return Scheduled{}, err
	}
	if err := s.store.RescheduleJob(ctx, id, JobPublish, at.UTC()); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return Scheduled{}, ErrNotFound // claimed meanwhile: being published
		}
		return Scheduled{}, fmt.Errorf("publish: reschedule: %w", err)
	}
	reqlog.Logger(ctx, s.log).Info().Str("account", account).Int64("job", id).Time("scheduled_at", at.UTC()).Msg("scheduled status moved")
	return s.GetScheduled(ctx, account, id)
}

// CancelScheduled deletes a pending scheduled status; nothing is
// published. Its media stay unattached, for the client to reuse.
func (s *Service) CancelScheduled(ctx context.Context, account string, id int64) error {
	if _, err := s.GetScheduled(ctx, account, id); err != nil {
		return err
	}
	if err := s.store.DeletePendingJob(ctx, id, JobPublish); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return ErrNotFound
		}
		return fmt.Errorf("publish: cancel scheduled: %w", err)
	}
	reqlog.Logger(ctx, s.log).Info().Str("account", account).Int64("job", id).Msg("scheduled status cancelled")
	return nil
}
