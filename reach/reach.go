// Package reach samples what the console's reach page charts over time:
// each account's followers on the fediverse (accepted followers) and on
// Bluesky (the follower count of the account's Bluesky profile), one
// sample per account and UTC day (storage.FollowerSnapshot), taken by a
// durable job of the job runner every few hours, the day keeping its last
// sample.
package reach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// JobSnapshot is the job kind of the follower samples: one job for all
// accounts, put back after each run (key JobSnapshot).
const JobSnapshot = "followers-snapshot"

// Every is how often the followers are sampled.
const Every = 6 * time.Hour

// BlueskyFollowers reads the follower count of an account's Bluesky
// profile (atproto.Mirror).
type BlueskyFollowers interface {
	FollowersCount(ctx context.Context, username string) (int64, error)
}

// Settings are what the sampler needs.
type Settings struct {
	// Accounts are our accounts' usernames.
	Accounts []string
	// Mirrored are the accounts mirrored to Bluesky, whose count Bluesky
	// reads; the others have no Bluesky count.
	Mirrored []string
	Bluesky  BlueskyFollowers // nil: no account is mirrored
	Now      func() time.Time // default time.Now
}

// Sampler takes the follower samples.
type Sampler struct {
	set   Settings
	store storage.Store
	log   zerolog.Logger
}

// New builds a sampler.
func New(set Settings, store storage.Store, log zerolog.Logger) *Sampler {
	if set.Now == nil {
		set.Now = time.Now
	}
	lowered := func(in []string) []string {
		var out []string
		for _, a := range in {
			if a = strings.ToLower(a); !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
		return out
	}
	set.Accounts, set.Mirrored = lowered(set.Accounts), lowered(set.Mirrored)
	return &Sampler{set: set, store: store, log: log}
}

// Register adds the sampler's pool to r; its job is queued at start-up,
// due at once.
func (s *Sampler) Register(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobSnapshot},
		Handle:    s.handle,
		Workers:   1,
		PollEvery: time.Minute,
		Start:     s.schedule,
		Now:       func() time.Time { return s.set.Now() },
	})
	if err != nil {
		return fmt.Errorf("reach: %w", err)
	}
	return nil
}

// schedule makes sure the sampling job exists, due now: a restart takes
// a sample at once (the day keeps its last one).
func (s *Sampler) schedule(ctx context.Context) error {
	now := s.set.Now()
	id, err := s.store.EnqueueJob(ctx, storage.NewJob{Kind: JobSnapshot, Payload: json.RawMessage(`{}`), RunAt: now, Key: JobSnapshot, Ref: JobSnapshot})
	if err != nil {
		return fmt.Errorf("reach: queue the follower samples: %w", err)
	}
	j, err := s.store.GetJob(ctx, id)
	if err != nil {
		return fmt.Errorf("reach: queue the follower samples: %w", err)
	}
	if j.Status == storage.JobPending && j.RunAt.After(now) {
		if err := s.store.RescheduleJob(ctx, id, JobSnapshot, now); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("reach: queue the follower samples: %w", err)
		}
	}
	return nil
}

func (s *Sampler) handle(ctx context.Context, _ *jobs.Job) error {
	if err := s.SampleOnce(ctx); err != nil {
		return err // the runner tries again, with its backoff
	}
	return jobs.Again(s.set.Now().Add(Every))
}

// SampleOnce records every account's followers of today (UTC). A Bluesky
// count that cannot be read is logged and left out (the day keeps an
// earlier one); a storage error stops it.
func (s *Sampler) SampleOnce(ctx context.Context) error {
	now := s.set.Now().UTC()
	for _, a := range s.set.Accounts {
		n, err := s.store.CountFollowers(ctx, a, storage.FollowerAccepted)
		if err != nil {
			return fmt.Errorf("reach: count the followers of %s: %w", a, err)
		}
		fs := storage.FollowerSnapshot{Account: a, Day: storage.FunnelDay(now), Fediverse: n, TakenAt: now}
		if s.set.Bluesky != nil && slices.Contains(s.set.Mirrored, a) {
			if b, err := s.set.Bluesky.FollowersCount(ctx, a); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				s.log.Warn().Err(err).Str("account", a).Msg("reach: the Bluesky follower count could not be read; tried again at the next sample")
			} else {
				fs.Bluesky, fs.BlueskyOK = b, true
			}
		}
		if err := s.store.PutFollowerSnapshot(ctx, fs); err != nil {
			return fmt.Errorf("reach: %w", err)
		}
	}
	return nil
}
