package federation

// Recovery of the jobs of a worker that died. A job claimed by a worker is
// leased for leaseTime; if the process is killed (kill -9, OOM, power
// loss), its jobs would wait for their leases to expire before anyone
// sends them. Instead, every running Deliverer registers in the shared
// key/value store ("deliverers/OWNER", its modification time a heartbeat)
// and looks at the others when it starts and then periodically: the jobs
// of a worker found dead are put back in the queue at once.
//
// A worker is dead when its heartbeat is older than staleAfter, or, on the
// same host, when its process is gone (or is this very process, restarted
// under the same pid, as in a container). Declaring a live worker dead
// (a heartbeat delayed more than a minute) can only make a delivery be
// sent twice, never lost.

import (
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	livenessDir    = "deliverers"
	heartbeatEvery = 10 * time.Second
	staleAfter     = time.Minute
	reapEvery      = 30 * time.Second
)

// localOwners are the Deliverers running in this process.
var localOwners sync.Map // owner -> struct{}

type liveness struct {
	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
	d        *Deliverer
}

// startLiveness registers d, puts back the jobs of dead workers, and keeps
// doing both until stop.
func (d *Deliverer) startLiveness(ctx context.Context) *liveness {
	localOwners.Store(d.owner, struct{}{})
	ctx, cancel := context.WithCancel(ctx)
	l := &liveness{cancel: cancel, done: make(chan struct{}), d: d}
	d.heartbeat(ctx)
	d.reap(ctx)
	go func() {
		defer close(l.done)
		beat := time.NewTicker(heartbeatEvery)
		defer beat.Stop()
		reap := time.NewTicker(reapEvery)
		defer reap.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-beat.C:
				d.heartbeat(ctx)
			case <-reap.C:
				d.reap(ctx)
			}
		}
	}()
	return l
}

// stop unregisters the worker (after its jobs were released).
func (l *liveness) stop(ctx context.Context) {
	l.stopOnce.Do(func() {
		l.cancel()
		<-l.done
		if _, err := l.d.s.store.DeleteValues(ctx, livenessDir+"/"+l.d.owner); err != nil {
			l.d.s.log.Warn().Err(err).Msg("unregister delivery worker")
		}
		localOwners.Delete(l.d.owner)
	})
}

func (d *Deliverer) heartbeat(ctx context.Context) {
	if err := d.s.store.PutValue(ctx, livenessDir+"/"+d.owner, nil, d.s.now()); err != nil && ctx.Err() == nil {
		d.s.log.Warn().Err(err).Msg("delivery worker heartbeat")
	}
}

// reap puts back the jobs of the dead workers.
func (d *Deliverer) reap(ctx context.Context) {
	entries, err := d.s.store.ListValues(ctx, livenessDir)
	if err != nil {
		if ctx.Err() == nil {
			d.s.log.Warn().Err(err).Msg("list delivery workers")
		}
		return
	}
	hostname, _ := os.Hostname()
	now := d.s.now()
	for _, e := range entries {
		owner := strings.TrimPrefix(e.Path, livenessDir+"/")
		if _, local := localOwners.Load(owner); local || !ownerDead(owner, e.Modified, now, hostname, os.Getpid()) {
			continue
		}
		if err := d.s.store.ReleaseJobs(ctx, owner); err != nil {
			d.s.log.Warn().Err(err).Str("dead_worker", owner).Msg("release the jobs of a dead delivery worker")
			continue
		}
		if _, err := d.s.store.DeleteValues(ctx, e.Path); err != nil {
			d.s.log.Warn().Err(err).Str("dead_worker", owner).Msg("unregister a dead delivery worker")
		}
		d.s.log.Warn().Str("dead_worker", owner).Time("last_heartbeat", e.Modified).
			Msg("a delivery worker stopped without releasing its jobs; they are queued again")
	}
}

// ownerDead decides whether the worker owner (HOST-PID-RANDOM), last seen
// at heartbeat, is dead, as seen by process myPID on host hostname (and
// not running in it).
func ownerDead(owner string, heartbeat, now time.Time, hostname string, myPID int) bool {
	if now.Sub(heartbeat) > staleAfter {
		return true
	}
	host, pid, ok := parseOwner(owner)
	if !ok || host != hostname {
		return false
	}
	return pid == myPID || !processAlive(pid)
}

// parseOwner splits a worker id made by NewDeliverer.
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
