package jobs

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

const (
	// maxClaim bounds one claim query.
	maxClaim = 256
	// claimGather is how long a claimer waits after being woken by new
	// jobs before claiming them, for more to join the same claim: jobs
	// come in bursts (a follow's Accept each, a fan-out's pages).
	claimGather = 5 * time.Millisecond
	// jobIdle is how long a job goroutine waits for another job before
	// it exits: reusing goroutines spares growing a new stack for every
	// job. At most Workers wait at once.
	jobIdle = time.Second
	// parkRetry: a job that could not park (parking full) keeps its
	// worker and tries again this much later.
	parkRetry = 100 * time.Millisecond
	// recordTimeout bounds the recording of one result.
	recordTimeout = 30 * time.Second
)

// pool is a registered Pool while it runs.
type pool struct {
	Pool
	r       *Runner
	log     zerolog.Logger // pool-wide events
	horizon time.Duration  // retries further ahead are left to the poll

	slots    chan struct{}    // one per job holding a worker
	parked   chan struct{}    // one per parked job
	ready    chan storage.Job // claimed, waiting for a worker
	room     chan struct{}    // the claimer may have room to claim
	rearm    chan struct{}    // a job was put back: the claimer's wake-up time may be earlier
	stopping <-chan struct{}  // closed when Run is asked to stop

	idle        atomic.Int32 // job goroutines waiting for a job
	outstanding atomic.Int32 // without Prefetch: claimed jobs holding or waiting for a worker
	held        atomic.Int64 // claimed jobs not yet recorded (their leases are renewed)
	inflight    sync.WaitGroup
	done        *completer
	due         dueTimes

	leader      atomic.Bool // Exclusive: this runner holds the lock
	lockRenewAt time.Time   // liveness goroutine only
	renewed     time.Time   // liveness goroutine only
}

func newPool(r *Runner, p Pool) *pool {
	size := p.Prefetch
	if size == 0 {
		size = p.Workers
	}
	return &pool{
		Pool:    p,
		r:       r,
		log:     r.log.With().Strs("kinds", p.Kinds).Logger(),
		horizon: dueHorizonPolls * p.PollEvery,
		slots:   make(chan struct{}, p.Workers),
		parked:  make(chan struct{}, p.Parked),
		ready:   make(chan storage.Job, size),
		room:    make(chan struct{}, 1),
		rearm:   make(chan struct{}, 1),
	}
}

func (p *pool) now() time.Time { return p.Now() }

// signal tells the claimer it may have room.
func (p *pool) signal() {
	select {
	case p.room <- struct{}{}:
	default:
	}
}

// want is how many jobs the claimer may claim now: with Prefetch, what
// the ready queue lacks once it is half empty; without, one per worker
// neither busy nor promised to a claimed job.
func (p *pool) want() int {
	free := cap(p.ready) - len(p.ready)
	if p.Prefetch > 0 {
		if free < max(cap(p.ready)/2, 1) {
			return 0
		}
		return min(free, maxClaim)
	}
	return min(p.Workers-int(p.outstanding.Load()), free)
}

// run hands claimed jobs to workers until ctx is cancelled. Jobs are
// claimed by one goroutine (claim) into the ready queue, from which free
// workers take them: a worker that finishes starts the next job at once.
func (p *pool) run(ctx, jobCtx context.Context) {
	claimerDone := make(chan struct{})
	go func() { p.claim(ctx); close(claimerDone) }()
	work := make(chan storage.Job) // to an idle job goroutine
	for {
		select {
		case p.slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		var j storage.Job
		select {
		case j = <-p.ready:
		case <-ctx.Done():
			<-p.slots
		}
		if ctx.Err() != nil {
			break
		}
		if p.Prefetch > 0 {
			p.signal()
		}
		p.inflight.Add(1)
		select {
		case work <- j:
		default:
			go p.runJobs(jobCtx, j, work)
		}
	}
	close(work) // idle job goroutines exit now
	<-claimerDone
}

// claim keeps the ready queue filled with due jobs until ctx is
// cancelled. When a claim comes short, it waits for a nudge, its idle
// poll, or the next retry this process put back coming due.
func (p *pool) claim(ctx context.Context) {
	tick := time.NewTicker(p.PollEvery)
	defer tick.Stop()
	due := time.NewTimer(p.PollEvery)
	due.Stop()
	started := p.Start == nil
	for ctx.Err() == nil {
		if p.Exclusive != "" && !p.leader.Load() {
			select { // the liveness loop takes the lock, then signals
			case <-ctx.Done():
			case <-p.room:
			case <-tick.C:
			}
			continue
		}
		if !started {
			if err := p.Start(ctx); err != nil {
				if ctx.Err() == nil {
					p.log.Error().Err(err).Msg("start a job pool; trying again")
				}
				select {
				case <-ctx.Done():
				case <-tick.C:
				}
				continue
			}
			started = true
		}
		n := p.want()
		if n <= 0 {
			select {
			case <-p.room:
			case <-ctx.Done():
			}
			continue
		}
		now := p.now()
		jobs, err := p.r.store.ClaimJobs(ctx, p.r.owner, p.Kinds, n, p.Lease, now)
		if err != nil && ctx.Err() == nil {
			p.log.Error().Err(err).Str("worker", p.r.owner).Msg("claim jobs")
		}
		if len(jobs) > 0 {
			p.held.Add(int64(len(jobs)))
			if p.Prefetch == 0 {
				p.outstanding.Add(int32(len(jobs)))
			}
			for _, j := range jobs {
				p.ready <- j // only this goroutine adds: there is room
			}
		}
		if len(jobs) < n {
			if len(jobs) == 0 && err == nil && p.Idle != nil {
				p.Idle(ctx)
			}
			p.sleep(ctx, now, err == nil, tick.C, due)
		}
	}
}

// sleep waits, after a claim at now that left room, until the next idle
// poll (tick), a nudge (Wake), or the earliest time a job this process put
// back comes due (when useDue). A job put back meanwhile (rearm) sets the
// wake-up time again without a claim: a poll job that runs again in 10 s
// must not wait for a 1-minute idle poll.
func (p *pool) sleep(ctx context.Context, now time.Time, useDue bool, tick <-chan time.Time, due *time.Timer) {
	for {
		var dueC <-chan time.Time
		if at, ok := p.due.next(now); ok && useDue {
			due.Reset(max(at.Sub(p.now()), 0))
			dueC = due.C
		}
		rearmed := false
		select {
		case <-ctx.Done():
		case <-p.Wake.ch():
			select {
			case <-ctx.Done():
			case <-time.After(claimGather):
			}
		case <-tick:
		case <-dueC:
		case <-p.rearm:
			rearmed = true
		}
		due.Stop()
		if !rearmed {
			return
		}
	}
}

// runJobs runs j, then the jobs handed over on work, until none comes for
// jobIdle or work is closed. Each job holds a worker slot (taken by run)
// until it finishes or is parked.
func (p *pool) runJobs(ctx context.Context, j storage.Job, work <-chan storage.Job) {
	idle := time.NewTimer(jobIdle)
	defer idle.Stop()
	for {
		p.runOne(ctx, j)
		p.inflight.Done()
		if p.idle.Add(1) > int32(p.Workers) {
			p.idle.Add(-1)
			return
		}
		idle.Reset(jobIdle)
		var more bool
		select {
		case j, more = <-work:
			p.idle.Add(-1)
			if !more {
				return
			}
		case <-idle.C:
			p.idle.Add(-1)
			return
		}
	}
}

func (p *pool) runOne(ctx context.Context, sj storage.Job) {
	j := &Job{Job: sj, p: p, last: p.Backoff.Exhausted(sj, p.now())}
	err := p.Handle(ctx, j)
	p.finish(ctx, j, err)
	j.release()
}

// finish records the result of a job (see Handler) and logs it.
func (p *pool) finish(ctx context.Context, j *Job, err error) {
	if err != nil && (ctx.Err() != nil || errors.Is(err, ErrStopping)) {
		return // not recorded: Run puts it back
	}
	defer p.held.Add(-1)
	if err == nil && p.done != nil {
		p.done.add(j.ID)
		if e := p.r.log.Debug(); e.Enabled() {
			p.fields(e, j).Msg("job done")
		}
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancel()
	if err == nil {
		if err := p.r.store.CompleteJob(rctx, j.ID, p.r.owner); err != nil {
			p.fields(p.r.log.Error().Err(err), j).Msg("record job result")
			return
		}
		p.fields(p.r.log.Debug(), j).Msg("job done")
		return
	}
	now := p.now()
	var (
		at   time.Time
		ra   *RetryAtError
		rerr error
		e    *zerolog.Event
		msg  string
	)
	switch {
	case IsPermanent(err):
		rerr = p.r.store.FailJob(rctx, j.ID, p.r.owner, err.Error())
		e, msg = p.r.log.Warn().Err(err), "job failed"
	case errors.As(err, &ra):
		at = ra.At
		reason := ""
		if ra.Err != nil {
			reason = err.Error()
			e, msg = p.r.log.Info().Err(err), "job will be retried"
		} else {
			e, msg = p.r.log.Debug(), "job will run again"
		}
		rerr = p.r.store.RetryJob(rctx, j.ID, p.r.owner, at, reason)
	case j.last:
		rerr = p.r.store.FailJob(rctx, j.ID, p.r.owner, err.Error())
		e, msg = p.r.log.Warn().Err(err), "job failed after its last attempt"
	default:
		at = now.Add(p.Backoff.retryDelay(j.Attempts, err))
		rerr = p.r.store.RetryJob(rctx, j.ID, p.r.owner, at, err.Error())
		e, msg = p.r.log.Info().Err(err), "job will be retried"
	}
	if rerr != nil {
		p.fields(p.r.log.Error().Err(rerr), j).Msg("record job result")
		return
	}
	if !at.IsZero() {
		p.due.add(at, now, p.horizon)
		select {
		case p.rearm <- struct{}{}:
		default:
		}
		if e != nil {
			e = e.Time("run_at", at)
		}
	}
	p.fields(e, j).Msg(msg)
}

// fields adds the job's identity to a log event.
func (p *pool) fields(e *zerolog.Event, j *Job) *zerolog.Event {
	if e == nil {
		return e
	}
	e = e.Str("kind", j.Kind).Int64("job", j.ID).Int("attempt", j.Attempts)
	if j.Host != "" {
		e = e.Str("host", j.Host)
	}
	if j.Ref != "" {
		e = e.Str("ref", j.Ref)
	}
	return e
}

// freed says that a job gave up its worker.
func (p *pool) freed() {
	if p.Prefetch == 0 {
		p.outstanding.Add(-1)
		p.signal()
	}
}

// Job is a claimed job while its handler runs.
type Job struct {
	storage.Job
	p    *pool
	last bool

	mu       sync.Mutex
	timer    *time.Timer
	parked   bool
	released bool
}

// LastAttempt reports whether this is the job's last attempt: a plain
// error fails it rather than retrying it (see Backoff).
func (j *Job) LastAttempt() bool { return j.last }

// Stopping is closed when the runner is asked to stop: a job that has not
// started its work (it waits for a slot of its own) can give up with
// ErrStopping.
func (j *Job) Stopping() <-chan struct{} { return j.p.stopping }

// Park says the job now waits on something outside the process (its
// remote server): it gives its worker to the next job, and waits parked,
// if parking has room (Pool.Parked); otherwise it keeps its worker and
// tries again a little later. Live servers never wait for dead ones, and
// the CPUs never wait for the network.
func (j *Job) Park() {
	p := j.p
	if cap(p.parked) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.parked || j.released {
		return
	}
	select {
	case p.parked <- struct{}{}:
		j.parked = true
		<-p.slots
		p.freed()
	default:
		// Parking is full: keep the worker, try again later.
		if j.timer == nil {
			j.timer = time.AfterFunc(parkRetry, j.Park)
		} else {
			j.timer.Reset(parkRetry)
		}
	}
}

// release gives back the job's worker, or its parking place.
func (j *Job) release() {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.released {
		return
	}
	j.released = true
	if j.timer != nil {
		j.timer.Stop()
	}
	if j.parked {
		<-j.p.parked
	} else {
		<-j.p.slots
		j.p.freed()
	}
}
