package federation

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// JobDeliver is the job kind of an outgoing activity POST.
const JobDeliver = "deliver"

// deliverPayload is a delivery job: who signs, where to, what. A
// delivery of a fan-out does not carry the activity: it names the fan-out
// job that holds it (stored once, not once per server), and the workers
// read it from there (activityCache).
type deliverPayload struct {
	Signer   string          `json:"signer"` // our username
	Inbox    string          `json:"inbox"`
	Activity json.RawMessage `json:"activity,omitempty"`
	Fanout   int64           `json:"fanout,omitempty"` // the fan-out job holding the activity
}

// enqueueDelivery queues one signed POST of activity to inbox, in the
// caller's transaction, so the activity and its delivery are written
// together or not at all.
func (s *Service) enqueueDelivery(ctx context.Context, q storage.Queries, signer, inbox string, activity []byte, key, ref string) error {
	if len(activity) == 0 {
		return errors.New("federation: encode delivery: no activity")
	}
	payload, err := json.Marshal(deliverPayload{Signer: signer, Inbox: inbox, Activity: activity})
	if err != nil { // not valid JSON
		return fmt.Errorf("federation: encode delivery: %w", err)
	}
	return s.queueDelivery(ctx, q, payload, inbox, key, ref)
}

// queueDelivery enqueues a delivery job with its payload.
func (s *Service) queueDelivery(ctx context.Context, q storage.Queries, payload []byte, inbox, key, ref string) error {
	host := ""
	if u, err := url.Parse(inbox); err == nil {
		host = u.Host
	}
	_, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobDeliver, Payload: payload, Key: key, Host: host, Ref: ref})
	return err
}

// Retry policy: exponential backoff with jitter, about two days in all.
// The first retry comes soon (a 500 or a reset connection is often
// transient, and a fan-out should not wait long for the servers that
// hiccuped), then the delay doubles: 0.25s, 0.5s, 1s, 2s ... 9h, then
// 12h. A server that answers 429 or 503 with Retry-After is not retried
// sooner than it asked (up to retryMax).
const (
	retryBase   = 250 * time.Millisecond
	retryMax    = 12 * time.Hour
	maxAttempts = 22 // 21 retries: about 54 hours after the first attempt
	leaseTime   = 2 * time.Minute
)

func backoff(attempt int) time.Duration {
	d := retryBase << min(max(attempt-1, 0), 30)
	if d > retryMax || d <= 0 {
		d = retryMax
	}
	// ±20% jitter so retries of one outage do not arrive together.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// retryDelay is how long to wait before the next attempt after a
// retryable error err on attempt.
func retryDelay(attempt int, err error) time.Duration {
	d := backoff(attempt)
	var later *retryLaterError
	if errors.As(err, &later) && later.after > d {
		d = min(later.after, retryMax)
	}
	return d
}

// Delivery limits.
const (
	// deliveryTimeout bounds one attempt, connection to answer: a live
	// inbox only queues what it receives. It is shorter than the client's
	// timeout for documents we fetch.
	deliveryTimeout = 10 * time.Second
	// perHostConcurrency bounds the requests in flight to one host.
	perHostConcurrency = 8
	// unavailableAfter consecutive failures, a host is marked unavailable
	// and only probed again later.
	unavailableAfter = 5
	// A delivery that waits on its remote server (a free slot of its
	// host, or the answer) gives its worker to the next job: workers do
	// the local work (claiming, signing, sending), while the deliveries
	// waiting on slow or dead servers are parked, up to parkedPerWorker ×
	// workers of them (beyond that they keep their worker, and try to park
	// again every parkRetry). Live servers never wait for dead ones, and
	// the CPUs never wait for the network.
	parkedPerWorker = 16
	parkRetry       = 100 * time.Millisecond
	// keepAliveWithin: a connection to a host that had another delivery
	// this recently is kept for the next one.
	keepAliveWithin = 2 * time.Second
	// maxClaim bounds one claim query.
	maxClaim = 256
	// claimGather is how long the claimer waits after being woken by new
	// jobs before claiming them, for more to join the same claim.
	claimGather = 5 * time.Millisecond
	// idlePoll is how often an idle worker pool looks for due jobs (jobs
	// enqueued by another process, retries coming due).
	idlePoll = 250 * time.Millisecond
)

// Deliverer runs the delivery workers.
type Deliverer struct {
	s          *Service
	owner      string
	workers    int
	slots      chan struct{} // one per running job holding a worker
	parked     chan struct{} // one per parked delivery
	signers    chan struct{} // bounds concurrent RSA signatures to the CPUs
	hosts      sync.Map      // host -> *hostState
	running    atomic.Bool
	stopping   <-chan struct{} // closed when Run is asked to stop
	idle       atomic.Int32    // job goroutines waiting for a job
	done       *completer
	client     *http.Client // the service's client, without its overall timeout
	activities activityCache
	due        dueTimes // when the retries this process put back come due
}

// hostState is this process's view of one remote host: its consecutive
// failures, when it may be tried again, and a bound on concurrent requests.
type hostState struct {
	mu       sync.Mutex
	failures int
	until    time.Time
	slots    chan struct{}
	active   atomic.Int32 // deliveries to the host in this process now
	lastSent atomic.Int64 // when the last delivery to the host started (Unix ns)
}

// NewDeliverer prepares delivery workers; owner identifies this process in
// job leases.
func (s *Service) NewDeliverer(workers int) *Deliverer {
	if workers <= 0 {
		workers = 64
	}
	host, _ := os.Hostname()
	owner := host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10)
	return &Deliverer{
		s:       s,
		owner:   owner,
		workers: workers,
		slots:   make(chan struct{}, workers),
		parked:  make(chan struct{}, workers*parkedPerWorker),
		signers: make(chan struct{}, runtime.GOMAXPROCS(0)),
		client:  deliveryClient(s.client),
	}
}

// deliveryClient is c (its transport, connection pool and address checks)
// without c.Timeout: every delivery has its own deadline, deliveryTimeout,
// on its context. (A client timeout would also cost two goroutines per
// request in flight, with a transport wrapped as ours is.)
func deliveryClient(c *http.Client) *http.Client {
	dc := *c
	dc.Timeout = 0
	return &dc
}

// Running reports whether Run is claiming jobs (readiness).
func (d *Deliverer) Running() bool { return d.running.Load() }

// Run claims due jobs (fan-outs and deliveries) and runs them, `workers`
// at a time (plus the parked ones), until ctx is cancelled. Then it lets
// in-flight deliveries finish (up to grace), records their results and
// puts back the jobs it had claimed but not finished.
//
// Jobs are claimed ahead, in batches, by one goroutine (claim), into a
// small queue from which free workers take them: a worker that finishes
// starts the next job at once, and one claim query serves many jobs.
//
// While it runs, the process is registered as a live worker (liveness.go):
// the jobs of a worker that died without releasing them (kill -9, power
// loss) are put back by the next one to notice, instead of waiting for
// their leases to expire.
func (d *Deliverer) Run(ctx context.Context, grace time.Duration) error {
	d.running.Store(true)
	defer d.running.Store(false)
	d.stopping = ctx.Done()
	// Jobs run on their own context so that shutdown can let them finish.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	d.done = newCompleter(d.s.store, d.owner, d.s.log)
	completerDone := make(chan struct{})
	go func() { d.done.run(); close(completerDone) }()
	live := d.startLiveness(ctx)

	ready := make(chan storage.Job, min(max(d.workers, 16), maxClaim))
	taken := make(chan struct{}, 1)
	claimerDone := make(chan struct{})
	go func() { d.claim(ctx, ready, taken); close(claimerDone) }()

	var inflight sync.WaitGroup
	work := make(chan storage.Job) // to an idle job goroutine
	for {
		select {
		case d.slots <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		var j storage.Job
		select {
		case j = <-ready:
		case <-ctx.Done():
			<-d.slots
		}
		if ctx.Err() != nil {
			break
		}
		select {
		case taken <- struct{}{}:
		default:
		}
		inflight.Add(1)
		select {
		case work <- j:
		default:
			go d.runJobs(jobCtx, j, work, &inflight)
		}
	}
	<-claimerDone
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cancelJobs()
		<-done
	}
	// Record what finished, then put back what did not (and the jobs still
	// queued): a delivery must be marked done before its lease is
	// released, or it would be sent again.
	d.done.close()
	<-completerDone
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	err := d.s.store.ReleaseJobs(rctx, d.owner)
	live.stop(rctx)
	if err != nil {
		return fmt.Errorf("federation: release jobs: %w", err)
	}
	return nil
}

// claim keeps ready filled with due jobs until ctx is cancelled: when it is
// half empty, one query claims what it lacks.
func (d *Deliverer) claim(ctx context.Context, ready chan storage.Job, taken chan struct{}) {
	tick := time.NewTicker(idlePoll)
	defer tick.Stop()
	due := time.NewTimer(idlePoll) // the next retry this process put back
	due.Stop()
	for ctx.Err() == nil {
		n := cap(ready) - len(ready)
		if n < cap(ready)/2 {
			select {
			case <-taken:
			case <-ctx.Done():
			}
			continue
		}
		now := d.s.now()
		jobs, err := d.s.store.ClaimJobs(ctx, d.owner, []string{JobDeliver, JobFanout}, n, leaseTime, now)
		if err != nil && ctx.Err() == nil {
			d.s.log.Error().Err(err).Str("worker", d.owner).Msg("claim jobs")
		}
		for _, j := range jobs {
			ready <- j // only this goroutine adds: there is room
		}
		if len(jobs) < n {
			var dueC <-chan time.Time
			if at, ok := d.due.next(now); ok && err == nil {
				due.Reset(max(at.Sub(d.s.now()), 0))
				dueC = due.C
			}
			select {
			case <-ctx.Done():
			case <-d.s.wake:
				// Jobs come in bursts (a follow's Accept each, a
				// fan-out's pages): gather a few for one claim, one
				// commit.
				select {
				case <-ctx.Done():
				case <-time.After(claimGather):
				}
			case <-tick.C:
			case <-dueC:
			}
			due.Stop()
		}
	}
}

// jobIdle is how long a job goroutine waits for another job before it
// exits: reusing goroutines spares growing a new stack for every job. At
// most `workers` wait at once (parked deliveries that finish add more).
const jobIdle = time.Second

// runJobs runs j, then the jobs handed over on work, until none comes for
// jobIdle. Each job holds a worker slot (taken by Run) until it finishes
// or is parked.
func (d *Deliverer) runJobs(ctx context.Context, j storage.Job, work <-chan storage.Job, inflight *sync.WaitGroup) {
	idle := time.NewTimer(jobIdle)
	defer idle.Stop()
	for {
		t := &ticket{d: d}
		d.handle(ctx, j, t)
		t.release()
		inflight.Done()
		if d.idle.Add(1) > int32(d.workers) {
			d.idle.Add(-1)
			return
		}
		idle.Reset(jobIdle)
		select {
		case j = <-work:
			d.idle.Add(-1)
		case <-idle.C:
			d.idle.Add(-1)
			return
		}
	}
}

// ticket is a running job's hold on a worker slot or, once parked, on a
// parked slot.
type ticket struct {
	d        *Deliverer
	mu       sync.Mutex
	timer    *time.Timer
	parked   bool
	released bool
}

// remote says the job now waits on its remote server: it gives its
// worker to the next job.
func (t *ticket) remote() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.parked || t.released {
		return
	}
	select {
	case t.d.parked <- struct{}{}:
		t.parked = true
		<-t.d.slots
	default:
		// Parking is full: keep the worker, try again later.
		if t.timer == nil {
			t.timer = time.AfterFunc(parkRetry, t.remote)
		} else {
			t.timer.Reset(parkRetry)
		}
	}
}

func (t *ticket) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.released {
		return
	}
	t.released = true
	if t.timer != nil {
		t.timer.Stop()
	}
	if t.parked {
		<-t.d.parked
	} else {
		<-t.d.slots
	}
}

func (d *Deliverer) host(name string) *hostState {
	if h, ok := d.hosts.Load(name); ok {
		return h.(*hostState)
	}
	h, _ := d.hosts.LoadOrStore(name, &hostState{slots: make(chan struct{}, perHostConcurrency)})
	return h.(*hostState)
}

// handle runs one job and records the result.
func (d *Deliverer) handle(ctx context.Context, j storage.Job, t *ticket) {
	if j.Kind == JobFanout {
		d.fanout(ctx, j)
		return
	}
	var p deliverPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		d.s.log.Error().Err(err).Int64("job", j.ID).Msg("undecodable delivery job")
		d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, "undecodable payload: "+err.Error()))
		return
	}
	if len(p.Activity) == 0 {
		a, err := d.activities.get(ctx, d.s.store, p.Fanout)
		switch {
		case errors.Is(err, storage.ErrNotFound) || errors.Is(err, errBadFanout):
			d.s.log.Error().Err(err).Int64("job", j.ID).Int64("fanout", p.Fanout).Msg("delivery without its activity")
			d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, "activity not found: "+err.Error()))
			return
		case err != nil:
			if ctx.Err() != nil {
				return // shutting down: the lease is released by Run
			}
			d.s.log.Error().Err(err).Int64("job", j.ID).Msg("read the activity of a delivery")
			d.retry(ctx, j, d.s.now().Add(backoff(j.Attempts)), err.Error())
			return
		}
		p.Activity = a
	}
	if d.s.deliveryBlocked(p.Signer, j.Host) { // guard.go: a refused domain receives nothing
		d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, ErrDomainBlocked.Error()))
		return
	}
	h := d.host(j.Host)
	h.mu.Lock()
	until := h.until
	h.mu.Unlock()
	if now := d.s.now(); until.After(now) {
		// The host is down: try again when it is due to be probed.
		d.retry(ctx, j, until, "host unavailable")
		return
	}
	select {
	case h.slots <- struct{}{}:
	default:
		t.remote() // the host is busy: wait parked
		select {
		case h.slots <- struct{}{}:
		case <-d.stopping:
			return // not started: put back by Run
		}
	}
	h.active.Add(1)
	start := time.Now()
	err := d.deliver(ctx, p, h, t)
	h.active.Add(-1)
	<-h.slots
	if ctx.Err() != nil || errors.Is(err, errStopping) {
		return // shutting down: the lease is released by Run
	}
	d.s.observe().Delivery(deliveryOutcome(err), time.Since(start))
	var gone *goneError
	switch {
	case err == nil:
		d.s.log.Debug().Int64("job", j.ID).Str("inbox", p.Inbox).Int("attempt", j.Attempts).Msg("delivered")
		d.hostSucceeded(ctx, j.Host, h)
		d.done.add(j.ID)
	case errors.As(err, &gone):
		// 410: the inbox (and its followers) are gone for good.
		n, derr := d.s.store.DeleteFollowersByInbox(ctx, p.Inbox)
		if derr != nil {
			d.s.log.Error().Err(derr).Str("inbox", p.Inbox).Msg("remove followers of a gone inbox")
		}
		d.s.log.Info().Int64("job", j.ID).Str("inbox", p.Inbox).Int64("followers_removed", n).Msg("inbox gone")
		d.done.add(j.ID)
	case permanent(err):
		d.s.log.Warn().Err(err).Int64("job", j.ID).Str("inbox", p.Inbox).Msg("delivery failed for good")
		d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, err.Error()))
	case j.Attempts >= maxAttempts:
		d.s.log.Warn().Err(err).Int64("job", j.ID).Str("inbox", p.Inbox).Int("attempt", j.Attempts).Msg("delivery gave up after the last retry")
		d.hostFailed(ctx, j.Host, h)
		d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, err.Error()))
	default:
		next := d.s.now().Add(retryDelay(j.Attempts, err))
		d.s.log.Info().Err(err).Int64("job", j.ID).Str("inbox", p.Inbox).Int("attempt", j.Attempts).Time("retry_at", next).Msg("delivery will be retried")
		d.hostFailed(ctx, j.Host, h)
		d.retry(ctx, j, next, err.Error())
	}
}

// hostSucceeded clears a host's failures (a database write only when
// there were some).
func (d *Deliverer) hostSucceeded(ctx context.Context, name string, h *hostState) {
	h.mu.Lock()
	had := h.failures > 0
	h.failures, h.until = 0, time.Time{}
	h.mu.Unlock()
	if had {
		if err := d.s.store.RecordHostSuccess(ctx, name, d.s.now()); err != nil {
			d.s.log.Error().Err(err).Str("host", name).Msg("record host success")
		}
	}
}

// unavailablePause is how long a host that failed `failures` times in a
// row is left alone: a minute after unavailableAfter failures, doubling,
// up to a day.
func unavailablePause(failures int) time.Duration {
	return min(time.Minute<<min(failures-unavailableAfter, 10), 24*time.Hour)
}

// hostFailed counts a failure; after unavailableAfter in a row the host is
// marked unavailable for a while and its jobs wait. The count is shared
// through the database: this process adopts what other workers (or its
// previous run) recorded.
func (d *Deliverer) hostFailed(ctx context.Context, name string, h *hostState) {
	now := d.s.now()
	h.mu.Lock()
	h.failures++
	var until time.Time
	if h.failures >= unavailableAfter {
		until = now.Add(unavailablePause(h.failures))
		h.until = until
	}
	h.mu.Unlock()
	row, err := d.s.store.RecordHostFailure(ctx, name, now, until)
	if err != nil {
		d.s.log.Error().Err(err).Str("host", name).Msg("record host failure")
		return
	}
	h.mu.Lock()
	h.failures = max(h.failures, row.Failures)
	if row.UnavailableUntil.After(h.until) {
		h.until = row.UnavailableUntil
	}
	h.mu.Unlock()
	if !until.IsZero() && row.Failures == unavailableAfter {
		d.s.log.Warn().Str("host", name).Time("until", until).Msg("host marked unavailable")
	}
}

// retry puts j back in the queue, due at `at`.
func (d *Deliverer) retry(ctx context.Context, j storage.Job, at time.Time, reason string) {
	err := d.s.store.RetryJob(ctx, j.ID, d.owner, at, reason)
	d.record(j, err)
	if err == nil {
		d.due.add(at, d.s.now())
	}
}

func (d *Deliverer) record(j storage.Job, err error) {
	if err != nil {
		d.s.log.Error().Err(err).Int64("job", j.ID).Msg("record job result")
	}
}

// deliver signs (again, on every attempt: signatures expire) and POSTs,
// within deliveryTimeout.
func (d *Deliverer) deliver(ctx context.Context, p deliverPayload, h *hostState, t *ticket) error {
	s := d.s
	la := s.accounts[p.Signer]
	if la == nil {
		if p.Signer != s.instance.name {
			return &permanentError{fmt.Errorf("federation: unknown signer %q", p.Signer)}
		}
		la = s.instance
	}
	u, err := safehttp.CheckURL(p.Inbox, s.set.Federation.AllowPrivateNetworks)
	if err != nil {
		return &permanentError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, deliveryTimeout)
	defer cancel()
	// A fan-out reaches each server once: its connection is closed after
	// the answer rather than kept idle, where thousands would churn
	// through the pool. It is kept when more deliveries to the same host
	// are under way or went recently (the Accepts of a burst of follows
	// from one server, several inboxes).
	start := time.Now()
	recent := start.UnixNano()-h.lastSent.Swap(start.UnixNano()) < int64(keepAliveWithin)
	closeAfter := h.active.Load() <= 1 && !recent
	spec := s.specFor(u.Host)
	resp, now, err := d.post(ctx, la.signer, u.String(), p.Activity, spec, closeAfter, t)
	if err == nil && knockAgain(resp.StatusCode) {
		// Perhaps a refusal of the signature's spec: knock once more with
		// the other one (knock.go), and remember what worked.
		drain(resp)
		spec = otherSpec(spec)
		resp, now, err = d.post(ctx, la.signer, u.String(), p.Activity, spec, closeAfter, t)
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			s.rememberSpec(u.Host, spec)
		}
	}
	if err != nil {
		if errors.Is(err, safehttp.ErrForbiddenAddress) {
			return &permanentError{err}
		}
		return err
	}
	drain(resp)
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusGone:
		return &goneError{p.Inbox}
	case c >= 400 && c < 500 && c != http.StatusUnauthorized && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return &permanentError{fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)}
	case c == http.StatusTooManyRequests || c == http.StatusServiceUnavailable:
		err := fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)
		if after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return &retryLaterError{err: err, after: after}
		}
		return err
	default:
		return fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)
	}
}

// post signs body with signer in spec and POSTs it to inbox. RSA
// signing is the costliest step: no more at once than CPUs, so that the
// deliveries already signed are sent without delay. now is when it was
// signed.
func (d *Deliverer) post(ctx context.Context, signer httpsig.Signer, inbox string, body []byte, spec httpsig.Spec, closeAfter bool, t *ticket) (*http.Response, time.Time, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return nil, time.Time{}, &permanentError{err}
	}
	req.Header.Set("Content-Type", contentTypeAS2)
	req.Header.Set("Accept", acceptAS2)
	req.Close = closeAfter
	select {
	case d.signers <- struct{}{}:
	case <-d.stopping:
		return nil, time.Time{}, errStopping // not sent: put back by Run
	case <-ctx.Done():
		return nil, time.Time{}, fmt.Errorf("federation: POST %s: %w", inbox, ctx.Err())
	}
	now := d.s.now()
	err = signer.Sign(spec, req, body, now)
	<-d.signers
	if err != nil {
		return nil, now, fmt.Errorf("federation: sign delivery: %w", err)
	}
	t.remote()
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, now, fmt.Errorf("federation: POST %s: %w", inbox, err)
	}
	return resp, now, nil
}

// drain reads (a bounded part of) an answer's body and closes it, so
// that its connection can be reused.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		return time.Duration(min(n, int64(retryMax/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// retryLaterError is a retryable answer that said when to come back.
type retryLaterError struct {
	err   error
	after time.Duration
}

func (e *retryLaterError) Error() string {
	return e.err.Error() + " (retry after " + e.after.String() + ")"
}
func (e *retryLaterError) Unwrap() error { return e.err }

// errStopping abandons a delivery that was not sent yet when the workers
// are asked to stop: its job goes back to the queue.
var errStopping = errors.New("federation: delivery workers stopping")

// goneError is a 410 Gone answer.
type goneError struct{ inbox string }

func (e *goneError) Error() string { return "federation: POST " + e.inbox + ": 410 Gone" }

// permanentError is a delivery failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe)
}
