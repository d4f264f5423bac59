package jobs

// Heartbeats. A job claimed by a runner is leased; while the runner lives,
// the leases of its running jobs are renewed (a job may run longer than
// its lease), and the runner is registered in the shared key/value store
// ("workers/OWNER", its modification time a heartbeat, its value the
// start of its process). If the process is killed (kill -9, OOM, power
// loss), its jobs would wait for their leases to expire before anyone ran
// them; instead every runner looks at the others when it starts and then
// periodically, and puts back at once the jobs of a worker found dead.
//
// A worker is dead when its heartbeat is older than staleAfter, or, on the
// same host, when its process is gone, or when it has this process's pid
// but not its start (an earlier process restarted under the same pid, as
// in a container). Declaring a live worker dead (a heartbeat delayed more
// than a minute) can only make a job run twice, never be lost.
//
// The same loop holds the locks of exclusive pools.

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/storage"
)

const (
	livenessDir    = "workers"
	heartbeatEvery = 10 * time.Second
	staleAfter     = time.Minute
	reapEvery      = 30 * time.Second
	// Exclusive pools: the lock is held for lockTTL, renewed every
	// lockRenew; a runner without it tries again at every heartbeat.
	lockTTL   = 2 * time.Minute
	lockRenew = 30 * time.Second
)

type liveness struct {
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
	r        *Runner
}

// startLiveness registers r, puts back the jobs of dead workers, takes the
// locks of exclusive pools, and keeps doing all that, and renewing the
// leases of running jobs, until stop.
func (r *Runner) startLiveness(ctx context.Context) *liveness {
	ctx, cancel := context.WithCancel(ctx)
	l := &liveness{cancel: cancel, done: make(chan struct{}), r: r}
	tick := heartbeatEvery
	for _, p := range r.pools {
		tick = min(tick, p.Lease/3)
	}
	r.heartbeat(ctx)
	r.reap(ctx)
	r.holdLocks(ctx)
	go func() {
		defer close(l.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		var beat, reaped time.Time
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				if now.Sub(beat) >= heartbeatEvery-tick/2 {
					r.heartbeat(ctx)
					r.holdLocks(ctx)
					beat = now
				}
				if now.Sub(reaped) >= reapEvery-tick/2 {
					r.reap(ctx)
					reaped = now
				}
				r.renewLeases(ctx)
			}
		}
	}()
	return l
}

// stop unregisters the runner (after its jobs were released).
func (l *liveness) stop(ctx context.Context) {
	l.stopOnce.Do(func() {
		l.cancel()
		<-l.done
		if _, err := l.r.store.DeleteValues(ctx, livenessDir+"/"+l.r.owner); err != nil {
			l.r.log.Warn().Err(err).Msg("unregister the job runner")
		}
	})
}

func (r *Runner) heartbeat(ctx context.Context) {
	if err := r.store.PutValue(ctx, livenessDir+"/"+r.owner, []byte(r.started), time.Now()); err != nil && ctx.Err() == nil {
		r.log.Warn().Err(err).Msg("job runner heartbeat")
	}
}

// renewLeases extends the leases of the pools' running jobs when a third
// of the lease has passed since the last renewal.
func (r *Runner) renewLeases(ctx context.Context) {
	for _, p := range r.pools {
		now := p.now()
		if p.held.Load() <= 0 || now.Sub(p.renewed) < p.Lease/3 {
			continue
		}
		p.renewed = now
		if _, err := r.store.RenewJobLeases(ctx, r.owner, p.Kinds, now.Add(p.Lease)); err != nil && ctx.Err() == nil {
			p.log.Warn().Err(err).Msg("renew job leases")
		}
	}
}

// holdLocks takes, or renews, the locks of the exclusive pools.
func (r *Runner) holdLocks(ctx context.Context) {
	for _, p := range r.pools {
		if p.Exclusive == "" {
			continue
		}
		now := time.Now()
		if p.leader.Load() {
			if now.Before(p.lockRenewAt) {
				continue
			}
			err := r.store.RenewLock(ctx, p.Exclusive, r.owner, now, lockTTL)
			if err == nil {
				p.lockRenewAt = now.Add(lockRenew)
				continue
			}
			if ctx.Err() != nil {
				return
			}
			p.leader.Store(false)
			if !errors.Is(err, storage.ErrLockNotHeld) {
				p.log.Error().Err(err).Str("lock", p.Exclusive).Msg("renew the lock of an exclusive pool")
				continue
			}
			p.log.Warn().Str("lock", p.Exclusive).Msg("lock of an exclusive pool lost; taking it again")
		}
		ok, err := r.store.AcquireLock(ctx, p.Exclusive, r.owner, now, lockTTL)
		if err != nil && ctx.Err() == nil {
			p.log.Error().Err(err).Str("lock", p.Exclusive).Msg("take the lock of an exclusive pool")
		}
		if ok {
			p.lockRenewAt = now.Add(lockRenew)
			p.leader.Store(true)
			p.signal() // the claimer may start
		}
	}
}

// releaseLocks gives up the exclusive pools' locks (at stop).
func (r *Runner) releaseLocks(ctx context.Context) {
	for _, p := range r.pools {
		if p.Exclusive != "" && p.leader.Load() {
			if err := r.store.ReleaseLock(ctx, p.Exclusive, r.owner); err != nil {
				p.log.Warn().Err(err).Str("lock", p.Exclusive).Msg("release the lock of an exclusive pool")
			}
		}
	}
}

// reap puts back the jobs of the dead workers.
func (r *Runner) reap(ctx context.Context) {
	entries, err := r.store.ListValues(ctx, livenessDir)
	if err != nil {
		if ctx.Err() == nil {
			r.log.Warn().Err(err).Msg("list job runners")
		}
		return
	}
	now := time.Now()
	for _, e := range entries {
		owner := strings.TrimPrefix(e.Path, livenessDir+"/")
		if owner == r.owner {
			continue
		}
		started := ""
		if host, pid, ok := parseOwner(owner); ok && host == r.host && pid == r.pid {
			// Another runner of this process, or of an earlier one under
			// the same pid: its start says which.
			v, err := r.store.GetValue(ctx, e.Path)
			if err != nil {
				continue // unregistered meanwhile
			}
			started = string(v.Value)
		}
		if !ownerDead(owner, e.Modified, now, r.host, r.pid, started, r.started) {
			continue
		}
		if err := r.store.ReleaseJobs(ctx, owner); err != nil {
			r.log.Warn().Err(err).Str("dead_worker", owner).Msg("release the jobs of a dead worker")
			continue
		}
		if _, err := r.store.DeleteValues(ctx, e.Path); err != nil {
			r.log.Warn().Err(err).Str("dead_worker", owner).Msg("unregister a dead worker")
		}
		r.log.Warn().Str("dead_worker", owner).Time("last_heartbeat", e.Modified).
			Msg("a worker stopped without releasing its jobs; they are queued again")
	}
}

// ownerDead decides whether the worker owner (HOST-PID-RANDOM), last seen
// at heartbeat, whose process started at `started` (empty: unknown) is
// dead, as seen by process myPID, started at myStart, on host hostname.
func ownerDead(owner string, heartbeat, now time.Time, hostname string, myPID int, started, myStart string) bool {
	if now.Sub(heartbeat) > staleAfter {
		return true
	}
	host, pid, ok := parseOwner(owner)
	if !ok || host != hostname {
		return false
	}
	if pid == myPID {
		// This process, or an earlier one restarted under its pid.
		return started == "" || started != myStart
	}
	return !processAlive(pid)
}

// parseOwner splits a worker id made by New.
func parseOwner(owner string) (host string, pid int, ok bool) {
	rest, _, found := cutLast(owner, "-")
	if !found {
		return "", 0, false
	}
	host, p, found := cutLast(rest, "-")
	if !found {
		return "", 0, false
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return host, pid, true
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
