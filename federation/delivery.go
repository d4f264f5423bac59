package federation

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/httpsig"
	"github.com/passerelle/passerelle/jobs"
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
	// ActivityID names the stored outgoing activity (a fan-out's) when the
	// activity is not in the payload; Fanout is its older name.
	ActivityID int64 `json:"activity_id,omitempty"`
	Fanout     int64 `json:"fanout,omitempty"`
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
	return s.queueDelivery(ctx, q, payload, inbox, key, ref, 0)
}

// queueDelivery enqueues a delivery job with its payload; activityID is
// the stored outgoing activity it sends, 0 when the payload holds it.
func (s *Service) queueDelivery(ctx context.Context, q storage.Queries, payload []byte, inbox, key, ref string, activityID int64) error {
	_, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobDeliver, Payload: payload, Key: key, Host: inboxHost(inbox), Ref: ref, ActivityID: activityID})
	return err
}

// inboxHost is the host[:port] of an inbox URL, the job's Host.
func inboxHost(inbox string) string {
	if u, err := url.Parse(inbox); err == nil {
		return u.Host
	}
	return ""
}

// deliveryBackoff is delivery's retry policy (package jobs): about two
// days in all. The first retry comes soon (a 500 or a reset connection is
// often transient, and a fan-out should not wait long for the servers
// that hiccuped), then the delay doubles: 0.25s, 0.5s, 1s, 2s ... 9h,
// then 12h. A server that answers 429 or 503 with Retry-After is not
// retried sooner than it asked (up to Max).
func deliveryBackoff() jobs.Backoff {
	return jobs.Backoff{
		Base:        250 * time.Millisecond,
		Max:         12 * time.Hour,
		MaxAttempts: 22, // 21 retries: about 54 hours after the first attempt
	}
}

// leaseTime is how long a delivery job is leased (the runner renews the
// leases of running jobs).
const leaseTime = 2 * time.Minute

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
	// host, or the answer) gives its worker to the next job (jobs.Job.Park):
	// workers do the local work (signing, sending), while the deliveries
	// waiting on slow or dead servers are parked, up to parkedPerWorker ×
	// workers of them. Live servers never wait for dead ones, and the
	// CPUs never wait for the network.
	parkedPerWorker = 16
	// keepAliveWithin: a connection to a host that had another delivery
	// this recently is kept for the next one.
	keepAliveWithin = 2 * time.Second
	// idlePoll is how often an idle delivery pool looks for due jobs (jobs
	// enqueued by another process, retries put back by one).
	idlePoll = 250 * time.Millisecond
)

// Deliverer is the delivery pool of a job runner (package jobs): it
// expands fan-outs into deliveries and makes each delivery's signed POST.
type Deliverer struct {
	s          *Service
	workers    int
	signers    chan struct{} // bounds concurrent RSA signatures to the CPUs
	hosts      sync.Map      // host -> *hostState
	client     *http.Client  // the service's client, without its overall timeout
	activities activityCache
	signed     signedCache                 // the signatures of failed attempts, for their retries (resign.go)
	runner     atomic.Pointer[jobs.Runner] // the runner it is registered on
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

// NewDeliverer prepares the delivery pool: `workers` deliveries at a time
// (default 64), plus the parked ones.
func (s *Service) NewDeliverer(workers int) *Deliverer {
	if workers <= 0 {
		workers = 64
	}
	return &Deliverer{
		s:       s,
		workers: workers,
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

// Register adds the delivery pool (fan-outs and deliveries, claimed
// together in due order) to r. Jobs are claimed ahead, in batches, and a
// delivery waiting on its server is parked (jobs.Pool).
func (d *Deliverer) Register(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobDeliver, JobFanout},
		Handle:    d.handle,
		Workers:   d.workers,
		Parked:    d.workers * parkedPerWorker,
		Prefetch:  max(d.workers, 16),
		BatchDone: true,
		Lease:     leaseTime,
		Backoff:   deliveryBackoff(),
		PollEvery: idlePoll,
		Wake:      d.s.wake,
		Now:       func() time.Time { return d.s.now() },
	})
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	d.loadUnavailable()
	d.runner.Store(r)
	return nil
}

// loadUnavailable adopts the hosts marked unavailable in storage (by this
// process before a restart, or by another replica): their deliveries
// wait until the host is due to be probed again, without signing or
// connecting, as if this process had seen the failures itself.
func (d *Deliverer) loadUnavailable() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hosts, err := d.s.store.ListUnavailableHosts(ctx, d.s.now())
	if err != nil {
		d.s.log.Error().Err(err).Msg("read the hosts marked unavailable") // they are learnt again by failing
		return
	}
	for _, row := range hosts {
		h := d.host(row.Host)
		h.mu.Lock()
		h.failures = max(h.failures, row.Failures)
		if row.UnavailableUntil.After(h.until) {
			h.until = row.UnavailableUntil
		}
		h.mu.Unlock()
	}
}

// Running reports whether the runner of the delivery pool is claiming
// jobs (readiness).
func (d *Deliverer) Running() bool {
	r := d.runner.Load()
	return r != nil && r.Running()
}

// Run runs the delivery pool on a runner of its own until ctx is
// cancelled, then stops it with grace (jobs.Runner.Run). `bridge serve`
// registers the pool on the process's runner instead.
func (d *Deliverer) Run(ctx context.Context, grace time.Duration) error {
	r := jobs.New(d.s.store, d.s.log)
	if err := d.Register(r); err != nil {
		return err
	}
	return r.Run(ctx, grace)
}

func (d *Deliverer) host(name string) *hostState {
	if h, ok := d.hosts.Load(name); ok {
		return h.(*hostState)
	}
	h, _ := d.hosts.LoadOrStore(name, &hostState{slots: make(chan struct{}, perHostConcurrency)})
	return h.(*hostState)
}

// errHostUnavailable: the host failed too often lately; its deliveries
// wait for it to be probed again.
var errHostUnavailable = errors.New("host unavailable")

// handle runs one job: a fan-out, or a delivery. Its result goes to the
// runner, which records it.
func (d *Deliverer) handle(ctx context.Context, j *jobs.Job) error {
	if j.Kind == JobFanout {
		return d.fanout(ctx, j)
	}
	var p deliverPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	if len(p.Activity) == 0 {
		id := cmp.Or(p.ActivityID, p.Fanout)
		a, err := d.activities.get(ctx, d.s.store, id)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			return jobs.Permanent(fmt.Errorf("activity not found: %w", err))
		case err != nil:
			return fmt.Errorf("federation: read the activity of a delivery: %w", err)
		}
		p.Activity = a
	}
	if d.s.deliveryBlocked(p.Signer, j.Host) { // guard.go: a refused domain receives nothing
		return jobs.Permanent(ErrDomainBlocked)
	}
	h := d.host(j.Host)
	h.mu.Lock()
	until := h.until
	h.mu.Unlock()
	if now := d.s.now(); until.After(now) {
		// The host is down: try again when it is due to be probed.
		return jobs.RetryAt(until, errHostUnavailable)
	}
	select {
	case h.slots <- struct{}{}:
	default:
		j.Park() // the host is busy: wait parked
		select {
		case h.slots <- struct{}{}:
		case <-j.Stopping():
			return jobs.ErrStopping // not started: put back by the runner
		}
	}
	h.active.Add(1)
	start := time.Now()
	err := d.deliver(ctx, p, h, j)
	h.active.Add(-1)
	<-h.slots
	if err != nil && (ctx.Err() != nil || errors.Is(err, jobs.ErrStopping)) {
		return jobs.ErrStopping // shutting down: put back by the runner
	}
	d.s.observe().Delivery(deliveryOutcome(err), time.Since(start))
	var gone *goneError
	switch {
	case err == nil:
		d.s.log.Debug().Int64("job", j.ID).Str("inbox", p.Inbox).Int("attempt", j.Attempts).Msg("delivered")
		d.hostSucceeded(ctx, j.Host, h)
		return nil
	case errors.As(err, &gone):
		// 410: the inbox (and its followers) are gone for good.
		n, derr := d.s.store.DeleteFollowersByInbox(ctx, p.Inbox)
		if derr != nil {
			d.s.log.Error().Err(derr).Str("inbox", p.Inbox).Msg("remove followers of a gone inbox")
		}
		d.s.log.Info().Int64("job", j.ID).Str("inbox", p.Inbox).Int64("followers_removed", n).Msg("inbox gone")
		return nil
	case jobs.IsPermanent(err):
		return err
	default: // retried, or failed after its last attempt
		d.hostFailed(ctx, j.Host, h)
		return err
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

// deliver signs (or, for a retry, sends the signature of the attempt
// before while it is fresh: resign.go) and POSTs, within deliveryTimeout.
func (d *Deliverer) deliver(ctx context.Context, p deliverPayload, h *hostState, j *jobs.Job) error {
	s := d.s
	la := s.accounts[p.Signer]
	if la == nil {
		if p.Signer != s.instance.name {
			return jobs.Permanent(fmt.Errorf("federation: unknown signer %q", p.Signer))
		}
		la = s.instance
	}
	u, err := safehttp.CheckURL(p.Inbox, s.set.Federation.AllowPrivateNetworks)
	if err != nil {
		return jobs.Permanent(err)
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
	signer, spec := s.deliverySignature(la, u.Host) // knock.go
	inbox := u.String()
	// A retry sends the signature of the attempt before while it is well
	// inside every verifier's window (resign.go); otherwise it signs.
	reuse := d.signed.take(j.ID, inbox, signer.KeyID, spec, s.now())
	resp, now, sent, err := d.post(ctx, signer, inbox, p.Activity, spec, closeAfter, j, reuse)
	if err == nil && reuse != nil && edRefused(resp.StatusCode) {
		// The old signature refused (a clock far off?): sign afresh, in
		// the same spec, before concluding anything about the spec.
		drain(resp)
		resp, now, sent, err = d.post(ctx, signer, inbox, p.Activity, spec, closeAfter, j, nil)
	}
	if err == nil && isEd25519(signer) {
		// What the host makes of Ed25519 signatures is remembered; a
		// refusal is met at once by the same request signed RSA, in the
		// spec the host is known to take (draft-cavage, which every
		// server verifies, unless it is known to take RFC 9421).
		switch c := resp.StatusCode; {
		case c >= 200 && c < 300:
			s.rememberEd25519(ctx, u.Host, true)
		case edRefused(c):
			s.rememberEd25519(ctx, u.Host, false)
			drain(resp)
			signer, spec = la.signer, s.specFor(u.Host)
			resp, now, sent, err = d.post(ctx, signer, inbox, p.Activity, spec, closeAfter, j, nil)
		}
	}
	if err == nil && knockAgain(resp.StatusCode) {
		// Perhaps a refusal of the signature's spec: knock once more with
		// the other one (knock.go), and remember what worked.
		drain(resp)
		signer, spec = la.signer, otherSpec(spec)
		resp, now, sent, err = d.post(ctx, signer, inbox, p.Activity, spec, closeAfter, j, nil)
		if err == nil && resp.StatusCode >= 200 && resp.StatusCode < 300 {
			s.rememberSpec(u.Host, spec)
		}
	}
	if sent != nil && retryable(err, resp) {
		d.signed.keep(j.ID, sent, s.now()) // the retry may send it again
	}
	if err != nil {
		if errors.Is(err, safehttp.ErrForbiddenAddress) {
			return jobs.Permanent(err)
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
		return jobs.Permanent(fmt.Errorf("federation: POST %s: status %d", p.Inbox, c))
	case c == http.StatusTooManyRequests || c == http.StatusServiceUnavailable:
		err := fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)
		if after, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
			return jobs.RetryAfter(after, err)
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
//
// With reuse (a signature of the same request made for an earlier
// attempt, resign.go), nothing is signed: its headers are sent again.
// sent is the signature the request carried, to keep for a retry.
func (d *Deliverer) post(ctx context.Context, signer httpsig.Signer, inbox string, body []byte, spec httpsig.Spec, closeAfter bool, j *jobs.Job, reuse *signedRequest) (resp *http.Response, now time.Time, sent *signedRequest, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return nil, time.Time{}, nil, jobs.Permanent(err)
	}
	req.Header.Set("Content-Type", contentTypeAS2)
	req.Header.Set("Accept", acceptAS2)
	req.Close = closeAfter
	if reuse != nil {
		now = d.s.now()
		reuse.apply(req)
		sent = reuse
	} else {
		select {
		case d.signers <- struct{}{}:
		case <-j.Stopping():
			return nil, time.Time{}, nil, jobs.ErrStopping // not sent: put back by the runner
		case <-ctx.Done():
			return nil, time.Time{}, nil, fmt.Errorf("federation: POST %s: %w", inbox, ctx.Err())
		}
		now = d.s.now()
		err = d.s.sign(signer, spec, req, body, now)
		<-d.signers
		if err != nil {
			return nil, now, nil, fmt.Errorf("federation: sign delivery: %w", err)
		}
		sent = newSignedRequest(req, inbox, signer.KeyID, spec, now)
	}
	j.Park()
	resp, err = d.client.Do(req)
	if err != nil {
		return nil, now, sent, fmt.Errorf("federation: POST %s: %w", inbox, err)
	}
	return resp, now, sent, nil
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
		return time.Duration(min(n, int64(deliveryBackoff().Max/time.Second))) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// goneError is a 410 Gone answer.
type goneError struct{ inbox string }

func (e *goneError) Error() string { return "federation: POST " + e.inbox + ": 410 Gone" }
