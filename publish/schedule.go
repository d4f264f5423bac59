package publish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// JobPublish is the job kind of a scheduled status.
const JobPublish = "publish"

// MinScheduleDelay is how far in the future a scheduled status must be
// (Mastodon's rule).
const MinScheduleDelay = 5 * time.Minute

type scheduledPayload struct {
	Account string `json:"account"`
	Draft   Draft  `json:"draft"`
}

// Scheduled is a status waiting for its time.
type Scheduled struct {
	ID          int64
	ScheduledAt time.Time
	Account     string
	Draft       Draft
}

// Schedule validates a draft now and stores it to be published at `at` by
// the scheduler, durably (a job in the database).
func (s *Service) Schedule(ctx context.Context, account string, d Draft, at time.Time) (Scheduled, error) {
	if at.Before(s.now().Add(MinScheduleDelay)) {
		return Scheduled{}, invalid("Validation failed: Scheduled at must be at least 5 minutes in the future")
	}
	key := ""
	if d.IdempotencyKey != "" {
		key = "schedule:" + account + ":" + d.IdempotencyKey
	}
	return s.schedule(ctx, s.store, account, d, at, key)
}

// schedule validates d with q and stores it as a job of q, keyed by key
// when not empty.
func (s *Service) schedule(ctx context.Context, q storage.Queries, account string, d Draft, at time.Time, key string) (Scheduled, error) {
	if err := s.validate(ctx, q, account, &d, 0); err != nil {
		return Scheduled{}, err
	}
	payload, err := json.Marshal(scheduledPayload{Account: account, Draft: d})
	if err != nil {
		return Scheduled{}, err
	}
	id, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobPublish, Payload: payload, RunAt: at.UTC(), Key: key, Ref: "scheduled:" + account})
	if err != nil {
		return Scheduled{}, fmt.Errorf("publish: schedule: %w", err)
	}
	return Scheduled{ID: id, ScheduledAt: at.UTC(), Account: account, Draft: d}, nil
}

// scheduleBackoff is the scheduler's retry policy: a minute between
// attempts, ten attempts.
func scheduleBackoff() jobs.Backoff {
	return jobs.Backoff{Base: time.Minute, Max: time.Minute, MaxAttempts: 10}
}

// RegisterScheduler adds the scheduler's pool to r: scheduled statuses
// are published when due, one at a time (looked for every 5 seconds). A
// status published by a job is keyed by that job, so a crash between
// publishing and completing the job does not publish twice.
func (s *Service) RegisterScheduler(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobPublish},
		Handle:    s.publishScheduled,
		Workers:   1,
		Lease:     2 * time.Minute,
		Backoff:   scheduleBackoff(),
		PollEvery: 5 * time.Second,
		Now:       func() time.Time { return s.now() },
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// publishScheduled publishes a scheduled status. One that fails
// validation now (its media or parent were deleted meanwhile) fails at
// once; other errors are retried.
func (s *Service) publishScheduled(ctx context.Context, j *jobs.Job) error {
	var p scheduledPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	d := p.Draft
	d.IdempotencyKey = "scheduled:" + strconv.FormatInt(j.ID, 10)
	st, err := s.Create(ctx, p.Account, d)
	var ve *ValidationError
	if errors.As(err, &ve) {
		return jobs.Permanent(err)
	}
	if err != nil {
		return err
	}
	s.log.Info().Int64("job", j.ID).Int64("status", st.ID).Msg("scheduled status published")
	return nil
}
