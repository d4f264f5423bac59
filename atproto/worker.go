package atproto

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/atproto/atclient"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// The mirror's jobs run in a pool of the process's job runner (package
// jobs), one at a time (posts keep their order, threads are written in
// order, and the PDS's rate limits are easy to respect), apart from the
// fediverse deliveries: a Bluesky outage or a refused login never holds up
// the fediverse side. With several replicas on PostgreSQL, one of them
// holds the pool's lock in the key/value store and is the only one to run
// the mirror.
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
	loginPause    = time.Hour
	parentWait    = 5 * time.Second
	parentTimeout = 10 * time.Minute
	lockName      = "bluesky-mirror"
	pollInterval  = time.Second
	probeEvery    = 5 * time.Second
)

// mirrorBackoff is the mirror's retry policy: 2 s doubling to 10 min, for
// up to three days.
func mirrorBackoff() jobs.Backoff {
	return jobs.Backoff{Base: 2 * time.Second, Max: 10 * time.Minute, MaxAge: 72 * time.Hour}
}

// Register adds the mirror's pool to r: its jobs, one at a time, in the
// process that holds the mirror's lock. When it starts there, the pauses
// of an earlier run are lifted; when idle, it probes the PDS of the
// accounts it could not reach.
func (m *Mirror) Register(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobKind},
		Handle:    m.handle,
		Workers:   1,
		Lease:     leaseTime,
		Backoff:   mirrorBackoff(),
		PollEvery: pollInterval,
		Wake:      m.wake,
		Exclusive: lockName,
		Start: func(ctx context.Context) error {
			m.resumeAccounts(ctx)
			return nil
		},
		Idle: m.probeUnreachable,
		Now:  func() time.Time { return m.now() },
	})
	if err != nil {
		return fmt.Errorf("atproto: %w", err)
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

// handle runs one job and records its outcome in the post's mirror state
// and the account's; the job's goes to the runner.
func (m *Mirror) handle(ctx context.Context, j *jobs.Job) error {
	var p jobPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	log := m.log.With().Int64("job", j.ID).Int64("status", p.StatusID).Str("account", p.Account).
		Str("action", p.Action).Int("attempt", j.Attempts).Logger()
	a := m.accounts[lower(p.Account)]
	if p.Action == actionLike || p.Action == actionRepost || p.Action == actionGates || p.Action == actionBlocks {
		return m.handleReaction(ctx, a, p, j)
	}
	if a == nil {
		msg := fmt.Sprintf("account %s is no longer mirrored to Bluesky", p.Account)
		m.postState(ctx, p, storage.BlueskyFailed, msg)
		return jobs.Permanent(errors.New(msg))
	}
	post, err := m.store.GetBlueskyPost(ctx, p.StatusID)
	if errors.Is(err, storage.ErrNotFound) {
		return jobs.Permanent(errors.New("no mirror state for the status"))
	}
	if err != nil {
		return err
	}
	if post.Version != p.Version {
		// An edit or a delete came later: its own job does the work.
		log.Debug().Int64("current_version", post.Version).Msg("bluesky: superseded job")
		return nil
	}
	now := m.now()
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil && s.PausedUntil.After(now) {
		msg := s.State + ": " + s.LastError
		m.postState(ctx, p, storage.BlueskyPending, msg)
		return jobs.RetryAt(s.PausedUntil, errors.New(msg))
	}

	start := time.Now()
	state, err := m.run(ctx, a, p, j.Job)
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return jobs.ErrStopping // shutting down: the runner puts the job back
	}
	switch kind := classify(err); {
	case errors.Is(err, errSuperseded):
		log.Debug().Msg("bluesky: nothing left to do")
		return nil
	case err == nil:
		log.Info().Dur("took", time.Since(start)).Str("state", state).Msg("bluesky: mirrored")
		m.postState(ctx, p, state, "")
		m.accountState(ctx, a, StateActive, "", time.Time{})
		return nil
	case errors.Is(err, errParentPending) && now.Sub(j.CreatedAt) < parentTimeout:
		m.postState(ctx, p, storage.BlueskyPending, "waiting for the post it replies to")
		return jobs.RetryAt(now.Add(parentWait), err)
	case kind == kindLogin:
		until := now.Add(loginPause)
		log.Error().Err(err).Time("paused_until", until).Msg("bluesky: login refused; account paused (fix the app password and restart)")
		// The account's state says "login failed"; its error says why
		// (the post's error, shown alone, says both once).
		cause := err.Error()
		if le := (*LoginError)(nil); errors.As(err, &le) {
			cause = le.Err.Error()
		}
		m.accountState(ctx, a, StateLoginFailed, cause, until)
		m.postState(ctx, p, storage.BlueskyPending, err.Error())
		return jobs.RetryAt(until, err)
	case kind == kindRateLimited:
		until := a.lim.blocked()
		var rl *RateLimitedError
		if errors.As(err, &rl) && rl.Until.After(until) {
			until = rl.Until
		}
		if !until.After(now) {
			until = now.Add(fallbackRetry)
		}
		m.accountState(ctx, a, StateRateLimited, err.Error(), time.Time{})
		m.postState(ctx, p, storage.BlueskyPending, err.Error())
		return jobs.RetryAt(until, err)
	case kind == kindPermanent:
		m.postState(ctx, p, storage.BlueskyFailed, err.Error())
		return jobs.Permanent(err)
	case j.LastAttempt():
		m.postState(ctx, p, storage.BlueskyFailed, "gave up after retrying for 3 days: "+err.Error())
		return jobs.Permanent(err)
	default:
		state := StateUnreachable
		var api *atclient.APIError
		if errors.As(err, &api) {
			state = StatePDSError // answering: no reachability probe
		}
		m.accountState(ctx, a, state, err.Error(), time.Time{})
		m.postState(ctx, p, storage.BlueskyPending, "retrying: "+err.Error())
		return err // retried with the backoff
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

// handleReaction runs a like's or a repost's job (act.go), or a rewrite
// of gates or a raid's blocks (gates.go): the same retries as a post's,
// its outcome only logged (the reaction's row is the app's truth; a like
// Bluesky refused stays favourited in the app).
func (m *Mirror) handleReaction(ctx context.Context, a *account, p jobPayload, j *jobs.Job) error {
	log := m.log.With().Int64("job", j.ID).Str("account", p.Account).Str("action", p.Action).
		Bool("undo", p.Undo).Str("rkey", p.RKey).Int("attempt", j.Attempts).Logger()
	if a == nil {
		return jobs.Permanent(fmt.Errorf("account %s is no longer mirrored to Bluesky", p.Account))
	}
	now := m.now()
	if s, err := m.store.GetBlueskySession(ctx, a.Username); err == nil && s.PausedUntil.After(now) {
		return jobs.RetryAt(s.PausedUntil, errors.New(s.State+": "+s.LastError))
	}
	var err error
	switch p.Action {
	case actionGates:
		err = m.runGates(ctx, a, p)
	case actionBlocks:
		err = m.runBlocks(ctx, a, p)
	default:
		err = m.runReaction(ctx, a, p)
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		return jobs.ErrStopping
	}
	switch kind := classify(err); {
	case err == nil && p.Action == actionGates:
		log.Info().Int64("status", p.StatusID).Msg("bluesky: gates written")
		m.accountState(ctx, a, StateActive, "", time.Time{})
		return nil
	case err == nil:
		log.Info().Msg("bluesky: written")
		m.accountState(ctx, a, StateActive, "", time.Time{})
		return nil
	case errors.Is(err, errSuperseded):
		log.Debug().Msg("bluesky: reaction: nothing to do")
		return nil
	case errors.Is(err, errParentPending) && now.Sub(j.CreatedAt) < parentTimeout:
		return jobs.RetryAt(now.Add(parentWait), err)
	case kind == kindRateLimited:
		until := a.lim.blocked()
		var rl *RateLimitedError
		if errors.As(err, &rl) && rl.Until.After(until) {
			until = rl.Until
		}
		if !until.After(now) {
			until = now.Add(fallbackRetry)
		}
		return jobs.RetryAt(until, err)
	case kind == kindLogin:
		return jobs.RetryAt(now.Add(loginPause), err)
	case kind == kindPermanent && p.Action == actionGates:
		log.Warn().Err(err).Int64("status", p.StatusID).Msg("bluesky: gates refused")
		return jobs.Permanent(err)
	case kind == kindPermanent:
		log.Warn().Err(err).Msg("bluesky: reaction refused")
		return jobs.Permanent(err)
	default:
		return err
	}
}
