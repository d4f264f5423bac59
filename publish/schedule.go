package publish

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"time"

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
	if err := s.validate(ctx, s.store, account, &d, 0); err != nil {
		return Scheduled{}, err
	}
	payload, err := json.Marshal(scheduledPayload{Account: account, Draft: d})
	if err != nil {
		return Scheduled{}, err
	}
	key := ""
	if d.IdempotencyKey != "" {
		key = "schedule:" + account + ":" + d.IdempotencyKey
	}
	id, err := s.store.EnqueueJob(ctx, storage.NewJob{Kind: JobPublish, Payload: payload, RunAt: at.UTC(), Key: key, Ref: "scheduled:" + account})
	if err != nil {
		return Scheduled{}, fmt.Errorf("publish: schedule: %w", err)
	}
	return Scheduled{ID: id, ScheduledAt: at.UTC(), Account: account, Draft: d}, nil
}

// RunScheduler publishes scheduled statuses when they are due, until ctx
// is cancelled. A status published by a job is keyed by that job, so a
// crash between publishing and completing the job does not publish twice.
func (s *Service) RunScheduler(ctx context.Context) error {
	host, _ := os.Hostname()
	owner := "scheduler-" + host + "-" + strconv.Itoa(os.Getpid())
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		jobs, err := s.store.ClaimJobs(ctx, owner, []string{JobPublish}, 10, 2*time.Minute, s.now())
		if err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("claim scheduled statuses")
		}
		for _, j := range jobs {
			s.publishScheduled(ctx, owner, j)
		}
		select {
		case <-ctx.Done():
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			return s.store.ReleaseJobs(rctx, owner)
		case <-tick.C:
		}
	}
}

func (s *Service) publishScheduled(ctx context.Context, owner string, j storage.Job) {
	var p scheduledPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		s.logJob(j, s.store.FailJob(ctx, j.ID, owner, "undecodable payload: "+err.Error()))
		return
	}
	d := p.Draft
	d.IdempotencyKey = "scheduled:" + strconv.FormatInt(j.ID, 10)
	st, err := s.Create(ctx, p.Account, d)
	if err != nil {
		if _, ok := err.(*ValidationError); ok || j.Attempts >= 10 {
			// e.g. its media or parent were deleted meanwhile.
			s.log.Warn().Err(err).Int64("job", j.ID).Msg("scheduled status cannot be published")
			s.logJob(j, s.store.FailJob(ctx, j.ID, owner, err.Error()))
			return
		}
		s.log.Error().Err(err).Int64("job", j.ID).Msg("publish scheduled status; will retry")
		s.logJob(j, s.store.RetryJob(ctx, j.ID, owner, s.now().Add(time.Minute), err.Error()))
		return
	}
	s.log.Info().Int64("job", j.ID).Int64("status", st.ID).Msg("scheduled status published")
	s.logJob(j, s.store.CompleteJob(ctx, j.ID, owner))
}

func (s *Service) logJob(j storage.Job, err error) {
	if err != nil {
		s.log.Error().Err(err).Int64("job", j.ID).Msg("record scheduled job result")
	}
}
