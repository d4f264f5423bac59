package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

// Store is what the runner needs of storage (storage.Store has it all):
// the job queue and, for heartbeats and exclusive pools, the key/value
// store and its locks.
type Store interface {
	ClaimJobs(ctx context.Context, owner string, kinds []string, limit int, lease time.Duration, now time.Time) ([]storage.Job, error)
	CompleteJob(ctx context.Context, id int64, owner string) error
	CompleteJobs(ctx context.Context, ids []int64, owner string) (int64, error)
	RetryJob(ctx context.Context, id int64, owner string, runAt time.Time, errMsg string) error
	FailJob(ctx context.Context, id int64, owner string, errMsg string) error
	ReleaseJobs(ctx context.Context, owner string) error
	RenewJobLeases(ctx context.Context, owner string, kinds []string, until time.Time) (int64, error)

	PutValue(ctx context.Context, path string, value []byte, modified time.Time) error
	GetValue(ctx context.Context, path string) (storage.Entry, error)
	ListValues(ctx context.Context, dir string) ([]storage.Entry, error)
	DeleteValues(ctx context.Context, path string) (int64, error)
	AcquireLock(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error)
	RenewLock(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) error
	ReleaseLock(ctx context.Context, name, owner string) error
}

// A Handler runs one job. Its result decides what becomes of the job:
//   - nil: done;
//   - a Permanent error: failed at once;
//   - RetryAt (or Again): due again at the time it gives, whatever the
//     job's attempts;
//   - ErrStopping, or any error once ctx is cancelled (the grace period
//     is over): not recorded, put back in the queue at stop;
//   - any other error: retried by the pool's Backoff (longer if it wraps
//     a RetryAfter), or failed after its last attempt (Job.LastAttempt).
type Handler func(ctx context.Context, j *Job) error

// Pool is what a component registers on the runner: job kinds, claimed
// together in due order, and how to run them.
type Pool struct {
	Kinds  []string
	Handle Handler
	// Workers is how many jobs run at once (default 1: one after the
	// other, in due order).
	Workers int
	// Parked is how many more may wait parked (Job.Park) on something
	// outside the process, having given up their worker; 0: Park keeps
	// the worker.
	Parked int
	// Prefetch > 0 claims jobs ahead of the workers, in batches, into a
	// queue of that size, refilled when half empty (at most 256 at a
	// time): one claim serves many jobs. 0 claims a job only for a free
	// worker, so that no lease is held on a job that does not run.
	Prefetch int
	// BatchDone records successes in batches: one statement for up to 64
	// jobs, each recorded within 20 ms, instead of one write per job (for
	// pools of many short jobs). A crash may then run again the jobs that
	// finished in its last 20 ms. Otherwise a success is recorded before
	// the worker takes its next job.
	BatchDone bool
	// Lease is how long a claimed job is leased (default 2 minutes);
	// the runner renews the leases of running jobs while it lives.
	Lease time.Duration
	// Backoff is the retry policy (zero: a second doubling to an hour,
	// without limit).
	Backoff Backoff
	// PollEvery is how often an idle pool looks for due jobs (default 1
	// s): jobs queued by other processes, or due at a set time.
	PollEvery time.Duration
	// Wake, nudged when a job of the pool was queued, makes the pool
	// claim at once (after a few milliseconds, for more to join). One
	// pool per Wake.
	Wake *Wake
	// Exclusive names a lock (in the key/value store): only the process
	// holding it runs the pool, the others wait to take it over.
	Exclusive string
	// Start runs once before the first claim (after the lock, if
	// Exclusive); an error is logged and Start tried again a poll later.
	Start func(ctx context.Context) error
	// Idle runs when a claim found no job.
	Idle func(ctx context.Context)
	// Now is the pool's clock (default time.Now): the time claims,
	// retries and give-ups are computed at.
	Now func() time.Time
}

// Runner claims and runs the jobs of the pools registered on it.
type Runner struct {
	store   Store
	log     zerolog.Logger
	owner   string
	host    string
	pid     int
	started string // processStart()

	mu      sync.Mutex
	pools   []*pool
	kinds   map[string]bool
	ran     bool
	running atomic.Bool
}

// New makes a runner on store; results and problems are logged to log.
// Its owner id (HOST-PID-RANDOM) marks the leases of the jobs it claims.
func New(store Store, log zerolog.Logger) *Runner {
	host, _ := os.Hostname()
	pid := os.Getpid()
	return &Runner{
		store:   store,
		log:     log,
		owner:   host + "-" + strconv.Itoa(pid) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10),
		host:    host,
		pid:     pid,
		started: processStart(),
		kinds:   map[string]bool{},
	}
}

// Owner is the runner's id in job leases.
func (r *Runner) Owner() string { return r.owner }

// Running reports whether Run is claiming jobs (readiness).
func (r *Runner) Running() bool { return r.running.Load() }

// Register adds a pool; it must come before Run. A kind belongs to one
// pool.
func (r *Runner) Register(p Pool) error {
	if len(p.Kinds) == 0 || p.Handle == nil {
		return errors.New("jobs: register: a pool needs kinds and a handler")
	}
	if p.Workers <= 0 {
		p.Workers = 1
	}
	p.Parked = max(p.Parked, 0)
	p.Prefetch = min(max(p.Prefetch, 0), maxClaim)
	if p.Lease <= 0 {
		p.Lease = 2 * time.Minute
	}
	if p.Backoff.Base <= 0 {
		p.Backoff = Backoff{Base: time.Second, Max: time.Hour}
	}
	if p.PollEvery <= 0 {
		p.PollEvery = time.Second
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	p.Kinds = slices.Clone(p.Kinds)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ran {
		return errors.New("jobs: register: the runner is already running")
	}
	for _, k := range p.Kinds {
		if r.kinds[k] {
			return fmt.Errorf("jobs: register: kind %q registered twice", k)
		}
	}
	for _, k := range p.Kinds {
		r.kinds[k] = true
	}
	r.pools = append(r.pools, newPool(r, p))
	return nil
}

// Run claims and runs the pools' jobs until ctx is cancelled. Then it
// lets the running jobs finish (up to grace; then their context is
// cancelled), records their results, and puts back every job it still
// holds (claimed ahead, parked, abandoned), without counting the attempt.
// It can run once.
func (r *Runner) Run(ctx context.Context, grace time.Duration) error {
	r.mu.Lock()
	if r.ran {
		r.mu.Unlock()
		return errors.New("jobs: run: the runner already ran")
	}
	r.ran = true
	r.mu.Unlock()
	r.running.Store(true)
	defer r.running.Store(false)

	// Jobs run on their own context so that stopping can let them finish;
	// heartbeats go on meanwhile.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	var completers sync.WaitGroup
	for _, p := range r.pools {
		p.stopping = ctx.Done()
		if p.BatchDone {
			p.done = newCompleter(r.store, r.owner, r.log)
			completers.Go(p.done.run)
		}
	}
	live := r.startLiveness(context.WithoutCancel(ctx))

	var pools sync.WaitGroup
	for _, p := range r.pools {
		pools.Go(func() { p.run(ctx, jobCtx) })
	}
	pools.Wait() // ctx is done: nothing more is taken

	finished := make(chan struct{})
	go func() {
		for _, p := range r.pools {
			p.inflight.Wait()
		}
		close(finished)
	}()
	select {
	case <-finished:
	case <-time.After(grace):
		cancelJobs()
		<-finished
	}
	// Record what finished, then put back what did not: a job must be
	// marked done before its lease is released, or it would run again.
	for _, p := range r.pools {
		if p.done != nil {
			p.done.close()
		}
	}
	completers.Wait()
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := r.store.ReleaseJobs(rctx, r.owner)
	r.releaseLocks(rctx)
	live.stop(rctx)
	if err != nil {
		return fmt.Errorf("jobs: release jobs: %w", err)
	}
	return nil
}

// Wake tells a pool that jobs were just queued (Nudge), so that it claims
// them at once rather than at its next poll. Nudge after the transaction
// that queued them committed: before, they are not visible yet.
type Wake struct{ c chan struct{} }

// NewWake makes a Wake, for one pool.
func NewWake() *Wake { return &Wake{c: make(chan struct{}, 1)} }

// Nudge wakes the pool (a nil Wake does nothing).
func (w *Wake) Nudge() {
	if w == nil {
		return
	}
	select {
	case w.c <- struct{}{}:
	default:
	}
}

func (w *Wake) ch() <-chan struct{} {
	if w == nil {
		return nil
	}
	return w.c
}
