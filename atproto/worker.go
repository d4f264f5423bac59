package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"

	"github.com/passerelle/passerelle/storage"
)

// The worker claims the mirror's jobs from the durable queue one at a time
// (posts keep their order, threads are written in order, and the PDS's
// rate limits are easy to respect) in its own loop, apart from the
// fediverse delivery workers: a Bluesky outage or a refused login never
// holds up the fediverse side. With several replicas on PostgreSQL, one of
// them holds a lock in the key/value store and is the only one to run the
// mirror.
//
// Retries: network errors, 5xx and 408 are retried with exponential
// backoff (2 s doubling to 10 min, ±20% jitter) for up to three days; a
// 429 waits until the time the PDS gives; a refused login pauses the
// account for an hour (its jobs wait, nothing is sent meanwhile) and shows
// "login failed: ..." to the admin; a record or blob the PDS rejects, or
// an image that cannot be decoded, fails the post at once with the PDS's
// message. A failed post never blocks the next ones.

const (
	leaseTime     = 10 * time.Minute
	retryBase     = 2 * time.Second
	retryMax      = 10 * time.Minute
	giveUpAfter   = 72 * time.Hour
	loginPause    = time.Hour
	parentWait    = 5 * time.Second
	parentTimeout = 10 * time.Minute
	lockName      = "bluesky-mirror"
	lockTTL       = 2 * time.Minute
	lockRenew     = 30 * time.Second
	pollInterval  = time.Second
	probeEvery    = 5 * time.Second
)

func backoff(attempt int) time.Duration {
	d := retryBase << min(max(attempt-1, 0), 20)
	if d > retryMax || d <= 0 {
		d = retryMax
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Run claims and runs the mirror's jobs until ctx is cancelled; then it
// lets the job in progress finish (up to grace) and puts back what it had
// claimed.
func (m *Mirror) Run(ctx context.Context, grace time.Duration) error {
	m.running.Store(true)
	defer m.running.Store(false)
	log := m.log.With().Str("worker", m.owner).Logger()
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()

	var (
		leader   bool
		renewAt  time.Time
		resumed  bool
		quick    int // short polls left after a nudge
		quickGap = 20 * time.Millisecond
	)
	for ctx.Err() == nil {
		now := m.now()
		if !leader || !now.Before(renewAt) {
			var err error
			if leader {
				err = m.store.RenewLock(ctx, lockName, m.owner, now, lockTTL)
				leader = err == nil
			}
			if !leader && ctx.Err() == nil {
				leader, err = m.store.AcquireLock(ctx, lockName, m.owner, now, lockTTL)
			}
			if err != nil && ctx.Err() == nil {
				log.Error().Err(err).Msg("bluesky: mirror lock")
			}
			renewAt = now.Add(lockRenew)
			if !leader {
				select {
				case <-ctx.Done():
				case <-time.After(lockRenew / 2):
				}
				continue
			}
		}
		if !resumed {
			m.resumeAccounts(ctx)
			resumed = true
		}
		jobs, err := m.store.ClaimJobs(ctx, m.owner, []string{JobKind}, 1, leaseTime, m.now())
		if err != nil && ctx.Err() == nil {
			log.Error().Err(err).Msg("bluesky: claim jobs")
		}
		if len(jobs) == 1 {
			done := make(chan struct{})
			go func() {
				defer close(done)
				m.handle(jobCtx, jobs[0])
			}()
			select {
			case <-done:
			case <-ctx.Done():
				select {
				case <-done:
				case <-time.After(grace):
					cancelJobs()
					<-done
				}
			}
			continue
		}
		m.probeUnreachable(ctx)
		wait := tick.C
		var short <-chan time.Time
		if quick > 0 {
			quick--
			short = time.After(quickGap)
		}
		select {
		case <-ctx.Done():
		case <-m.wake:
			// Nudged from inside the publishing transaction: the job is
			// visible once it commits, within milliseconds.
			quick = 10
		case <-short:
		case <-wait:
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := m.store.ReleaseJobs(rctx, m.owner)
	if leader {
		_ = m.store.ReleaseLock(rctx, lockName, m.owner)
	}
	if err != nil {
		return fmt.Errorf("atproto: release jobs: %w", err)
	}
	return nil
}

// resumeAccounts, at start, lifts the pauses of an earlier run: the admin
// may have fixed the app password and restarted. A still wrong password
// costs one login attempt per start, never a storm.
func (m *Mirror) resumeAccounts(ctx context.Context) {
	now := m.now()
	for _, a := range m.accounts {
		s, err := m.store.GetBlueskySession(ctx, a.Username)
		if err != nil || s.PausedUntil.IsZero() {
			continue
		}
		if err := m.store.SetBlueskySessionState(ctx, a.Username, s.State, s.LastError, time.Time{}, now); err != nil {
			m.log.Error().Err(err).Str("account", a.Username).Msg("bluesky: resume account")
			continue
		}
		if _, err := m.store.RescheduleJobs(ctx, JobKind, jobHost(a.Username), now); err != nil {
			m.log.Error().Err(err).Str("account", a.Username).Msg("bluesky: resume account's jobs")
		}
	}
}

// handle runs one job and records its outcome: the job's, the post's
// mirror state and the account's.
func (m *Mirror) handle(ctx context.Context, j storage.Job) {
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		m.finish(ctx, j, m.store.FailJob(ctx, j.ID, m.owner, "undecodable payload: "+err.Error()))
		return
	}
	log := m.log.With().Int64("job", j.ID).Int64("status", p.StatusID).Str("account", p.Account).
		Str("action", p.Action).Int("attempt", j.Attempts).Logger()
	a := m.accounts[lower(p.Account)]
	if a == nil {
		msg := fmt.Sprintf("account %s is no longer mirrored to Bluesky", p.Account)
		m.postState(ctx, p, storage.BlueskyFailed, msg)
		m.finish(ctx, j, m.store.FailJob(ctx, j.ID, m.owner, msg))
		return
	}
	post, err := m.store.GetBlueskyPost(ctx, p.StatusID)
	if errors.Is(err, storage.ErrNotFound) {
		m.finish(ctx, j, m.store.FailJob(ctx, j.ID, m.owner, "no mirror state for the status"))
		return
	}
	if err != nil {
		m.finish(ctx, j, m.store.RetryJob(ctx, j.ID, m.owner, m.now().Add(backoff(j.Attempts)), err.Error()))
		return
	}
	if post.Version != p.Version {
		// An edit or a delete came later: its own job does the work.
		log.Debug().Int64("current_version", post.Version).Msg("bluesky: superseded job")
		m.finish(ctx, j, m.store.CompleteJob(ctx, j.ID, m.owner))
		return
	}
	now := m.now()
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil && s.PausedUntil.After(now) {
		msg := s.State + ": " + s.LastError
		m.postState(ctx, p, storage.BlueskyPending, msg)
		m.finish(ctx, j, m.store.RetryJob(ctx, j.ID, m.owner, s.PausedUntil, msg))
		return
	}

	start := time.Now()
	state, err := m.run(ctx, a, p, j)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return // shutting down: Run puts the job back
	}
	switch kind := classify(err); {
	case errors.Is(err, errSuperseded):
		log.Debug().Msg("bluesky: nothing left to do")
		m.finish(ctx, j, m.store.CompleteJob(ctx, j.ID, m.owner))
	case err == nil:
		log.Info().Dur("took", time.Since(start)).Str("state", state).Msg("bluesky: mirrored")
		m.postState(ctx, p, state, "")
		m.accountState(ctx, a, StateActive, "", time.Time{})
		m.finish(ctx, j, m.store.CompleteJob(ctx, j.ID, m.owner))
	case errors.Is(err, errParentPending) && now.Sub(j.CreatedAt) < parentTimeout:
		m.postState(ctx, p, storage.BlueskyPending, "waiting for the post it replies to")
		m.finish(ctx, j, m.store.RetryJob(ctx, j.ID, m.owner, now.Add(parentWait), err.Error()))
	case kind == kindLogin:
		until := now.Add(loginPause)
		log.Error().Err(err).Time("paused_until", until).Msg("bluesky: login refused; account paused (fix the app password and restart)")
		m.accountState(ctx, a, StateLoginFailed, err.Error(), until)
		m.postState(ctx, p, storage.BlueskyPending, err.Error())
		m.finish(ctx, j, m.store.RetryJob(ctx, j.ID, m.owner, until, err.Error()))
	case kind == kindRateLimited:
		until := a.lim.blocked()
		var rl *RateLimitedError
		if errors.As(err, &rl) && rl.Until.After(until) {
			until = rl.Until
		}
		if !until.After(now) {
			until = now.Add(fallbackRetry)
		}
		log.Warn().Err(err).Time("until", until).Msg("bluesky: rate limited")
		m.accountState(ctx, a, StateRateLimited, err.Error(), time.Time{})
		m.postState(ctx, p, storage.BlueskyPending, err.Error())
		m.finish(ctx, j, m.store.RetryJob(ctx, j.ID, m.owner, until, err.Error()))
	case kind == kindPermanent:
		log.Warn().Err(err).Msg("bluesky: post cannot be mirrored")
		m.postState(ctx, p, storage.BlueskyFailed, err.Error())
		m.finish(ctx, j, m.store.FailJob(ctx, j.ID, m.owner, err.Error()))
	case now.Sub(j.CreatedAt) > giveUpAfter:
		log.Warn().Err(err).Msg("bluesky: gave up after the last retry")
		m.postState(ctx, p, storage.BlueskyFailed, "gave up after retrying for 3 days: "+err.Error())
		m.finish(ctx, j, m.store.FailJob(ctx, j.ID, m.owner, err.Error()))
	default:
		next := now.Add(backoff(j.Attempts))
		log.Info().Err(err).Time("retry_at", next).Msg("bluesky: will retry")
		state := StateUnreachable
		var api *atclient.APIError
		if errors.As(err, &api) {
			state = StatePDSError // answering: no reachability probe
		}
		m.accountState(ctx, a, state, err.Error(), time.Time{})
		m.postState(ctx, p, storage.BlueskyPending, "retrying: "+err.Error())
		m.finish(ctx, j, m.store.RetryJob(ctx, j.ID, m.owner, next, err.Error()))
	}
}

// postState records the post's mirror state for the job's version.
func (m *Mirror) postState(ctx context.Context, p jobPayload, state, msg string) {
	if _, err := m.store.SetBlueskyPostState(ctx, p.StatusID, p.Version, state, msg, m.now()); err != nil {
		m.log.Error().Err(err).Int64("status", p.StatusID).Msg("bluesky: record post state")
	}
}

// accountState records the account's state when it changed.
func (m *Mirror) accountState(ctx context.Context, a *account, state, msg string, paused time.Time) {
	s, err := m.store.GetBlueskySession(ctx, a.Username)
	if err == nil && s.State == state && s.LastError == msg && s.PausedUntil.Equal(paused) {
		return
	}
	if err := m.store.SetBlueskySessionState(ctx, a.Username, state, msg, paused, m.now()); err != nil {
		m.log.Error().Err(err).Str("account", a.Username).Msg("bluesky: record account state")
	}
}

func (m *Mirror) finish(ctx context.Context, j storage.Job, err error) {
	if err != nil {
		m.log.Error().Err(err).Int64("job", j.ID).Msg("bluesky: record job result")
	}
}

func lower(s string) string { return strings.ToLower(s) }

// probeUnreachable, while the worker is idle, asks the PDS of each account
// whose last request failed on the network whether it is back
// (com.atproto.server.describeServer, no session needed), at most every
// probeEvery; when it is, the account's waiting jobs are made due at once
// instead of waiting out their backoff.
func (m *Mirror) probeUnreachable(ctx context.Context) {
	now := m.now()
	for _, a := range m.accounts {
		if now.Sub(a.probedAt) < probeEvery {
			continue
		}
		a.probedAt = now
		s, err := m.store.GetBlueskySession(ctx, a.Username)
		if err != nil || s.State != StateUnreachable {
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = comatproto.ServerDescribeServer(pctx, m.newClient(a))
		cancel()
		if err != nil {
			continue
		}
		n, err := m.store.RescheduleJobs(ctx, JobKind, jobHost(a.Username), now)
		if err != nil {
			m.log.Error().Err(err).Str("account", a.Username).Msg("bluesky: resume jobs")
			continue
		}
		m.log.Info().Str("account", a.Username).Int64("jobs", n).Msg("bluesky: PDS reachable again; resuming")
		m.accountState(ctx, a, StateActive, "", time.Time{})
	}
}
