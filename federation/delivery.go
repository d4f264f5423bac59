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
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// JobDeliver is the job kind of an outgoing activity POST.
const JobDeliver = "deliver"

// deliverPayload is a delivery job: who signs, where to, what.
type deliverPayload struct {
	Signer   string          `json:"signer"` // our username
	Inbox    string          `json:"inbox"`
	Activity json.RawMessage `json:"activity"`
}

// enqueueDelivery queues one signed POST of activity to inbox, in the
// caller's transaction, so the activity and its delivery are written
// together or not at all.
func (s *Service) enqueueDelivery(ctx context.Context, q storage.Queries, signer, inbox string, activity []byte, key, ref string) error {
	payload, err := json.Marshal(deliverPayload{Signer: signer, Inbox: inbox, Activity: activity})
	if err != nil {
		return fmt.Errorf("federation: encode delivery: %w", err)
	}
	host := ""
	if u, err := url.Parse(inbox); err == nil {
		host = u.Host
	}
	_, err = q.EnqueueJob(ctx, storage.NewJob{Kind: JobDeliver, Payload: payload, Key: key, Host: host, Ref: ref})
	return err
}

// Retry policy: exponential backoff with jitter, about two days in all.
const (
	retryBase   = 5 * time.Second
	retryMax    = 12 * time.Hour
	maxAttempts = 18 // 5s, 10s, 20s ... 11h, then 12h: about 59 hours
	leaseTime   = 2 * time.Minute
)

func backoff(attempt int) time.Duration {
	d := retryBase << min(attempt-1, 20)
	if d > retryMax || d <= 0 {
		d = retryMax
	}
	// ±20% jitter so retries of one outage do not arrive together.
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// Deliverer runs the delivery workers.
type Deliverer struct {
	s       *Service
	owner   string
	workers int
	hosts   sync.Map // host -> *hostState
	running atomic.Bool
}

// hostState is this process's view of one remote host: its consecutive
// failures, when it may be tried again, and a bound on concurrent requests.
type hostState struct {
	mu       sync.Mutex
	failures int
	until    time.Time
	slots    chan struct{}
}

// perHostConcurrency bounds the requests in flight to one host, so that a
// slow server holds few workers and never delays the others.
const perHostConcurrency = 8

// unavailableAfter consecutive failures, a host is marked unavailable and
// only probed again later.
const unavailableAfter = 5

// NewDeliverer prepares delivery workers; owner identifies this process in
// job leases.
func (s *Service) NewDeliverer(workers int) *Deliverer {
	if workers <= 0 {
		workers = 64
	}
	host, _ := os.Hostname()
	owner := host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10)
	return &Deliverer{s: s, owner: owner, workers: workers}
}

// Running reports whether Run is claiming jobs (readiness).
func (d *Deliverer) Running() bool { return d.running.Load() }

// Run claims due jobs (fan-outs and deliveries) and runs them, at most
// `workers` at a time, until ctx is cancelled. Then it lets in-flight
// deliveries finish (up to grace) and puts back the jobs it had claimed but
// not finished.
func (d *Deliverer) Run(ctx context.Context, grace time.Duration) error {
	d.running.Store(true)
	defer d.running.Store(false)
	log := d.s.log.With().Str("worker", d.owner).Logger()
	sem := make(chan struct{}, d.workers)
	var inflight sync.WaitGroup
	// Jobs run on their own context so that shutdown can let them finish.
	jobCtx, cancelJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelJobs()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	const maxBatch = 256
	for {
		// Wait for one free slot, then take every other free one.
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		n := 1
	fill:
		for n < maxBatch {
			select {
			case sem <- struct{}{}:
				n++
			default:
				break fill
			}
		}
		jobs, err := d.s.store.ClaimJobs(ctx, d.owner, []string{JobDeliver, JobFanout}, n, leaseTime, d.s.now())
		if err != nil && ctx.Err() == nil {
			log.Error().Err(err).Msg("claim jobs")
		}
		for range n - len(jobs) {
			<-sem
		}
		for _, j := range jobs {
			inflight.Add(1)
			go func() {
				defer func() { <-sem; inflight.Done() }()
				d.handle(jobCtx, j)
			}()
		}
		if len(jobs) < n {
			select {
			case <-ctx.Done():
			case <-d.s.wake:
			case <-tick.C:
			}
		}
	}
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cancelJobs()
		<-done
	}
	// Jobs claimed but not finished go back to the queue.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.s.store.ReleaseJobs(rctx, d.owner); err != nil {
		return fmt.Errorf("federation: release jobs: %w", err)
	}
	return nil
}

func (d *Deliverer) host(name string) *hostState {
	if h, ok := d.hosts.Load(name); ok {
		return h.(*hostState)
	}
	h, _ := d.hosts.LoadOrStore(name, &hostState{slots: make(chan struct{}, perHostConcurrency)})
	return h.(*hostState)
}

// handle runs one job and records the result.
func (d *Deliverer) handle(ctx context.Context, j storage.Job) {
	if j.Kind == JobFanout {
		d.fanout(ctx, j)
		return
	}
	log := d.s.log.With().Int64("job", j.ID).Str("host", j.Host).Int("attempt", j.Attempts).Logger()
	var p deliverPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		log.Error().Err(err).Msg("undecodable delivery job")
		d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, "undecodable payload: "+err.Error()))
		return
	}
	h := d.host(j.Host)
	h.mu.Lock()
	until := h.until
	h.mu.Unlock()
	if now := d.s.now(); until.After(now) {
		// The host is down: try again when it is due to be probed.
		d.record(j, d.s.store.RetryJob(ctx, j.ID, d.owner, until, "host unavailable"))
		return
	}
	select {
	case h.slots <- struct{}{}:
	case <-ctx.Done():
		return
	}
	start := time.Now()
	err := d.s.deliver(ctx, p)
	<-h.slots
	if ctx.Err() != nil {
		return // shutting down: the lease is released by Run
	}
	d.s.observe().Delivery(deliveryOutcome(err), time.Since(start))
	var gone *goneError
	switch {
	case err == nil:
		log.Debug().Str("inbox", p.Inbox).Msg("delivered")
		d.hostSucceeded(ctx, j.Host, h)
		d.record(j, d.s.store.CompleteJob(ctx, j.ID, d.owner))
	case errors.As(err, &gone):
		// 410: the inbox (and its followers) are gone for good.
		n, derr := d.s.store.DeleteFollowersByInbox(ctx, p.Inbox)
		if derr != nil {
			log.Error().Err(derr).Msg("remove followers of a gone inbox")
		}
		log.Info().Str("inbox", p.Inbox).Int64("followers_removed", n).Msg("inbox gone")
		d.record(j, d.s.store.CompleteJob(ctx, j.ID, d.owner))
	case permanent(err):
		log.Warn().Err(err).Str("inbox", p.Inbox).Msg("delivery failed for good")
		d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, err.Error()))
	case j.Attempts >= maxAttempts:
		log.Warn().Err(err).Str("inbox", p.Inbox).Msg("delivery gave up after the last retry")
		d.hostFailed(ctx, j.Host, h)
		d.record(j, d.s.store.FailJob(ctx, j.ID, d.owner, err.Error()))
	default:
		next := d.s.now().Add(backoff(j.Attempts))
		log.Info().Err(err).Str("inbox", p.Inbox).Time("retry_at", next).Msg("delivery will be retried")
		d.hostFailed(ctx, j.Host, h)
		d.record(j, d.s.store.RetryJob(ctx, j.ID, d.owner, next, err.Error()))
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

// hostFailed counts a failure; after unavailableAfter in a row the host is
// marked unavailable for a while (doubling, up to a day) and its jobs wait.
func (d *Deliverer) hostFailed(ctx context.Context, name string, h *hostState) {
	now := d.s.now()
	h.mu.Lock()
	h.failures++
	var until time.Time
	if h.failures >= unavailableAfter {
		pause := time.Minute << min(h.failures-unavailableAfter, 10)
		until = now.Add(min(pause, 24*time.Hour))
		h.until = until
	}
	h.mu.Unlock()
	row, err := d.s.store.RecordHostFailure(ctx, name, now, until)
	if err != nil {
		d.s.log.Error().Err(err).Str("host", name).Msg("record host failure")
		return
	}
	if !until.IsZero() && row.Failures == unavailableAfter {
		d.s.log.Warn().Str("host", name).Time("until", until).Msg("host marked unavailable")
	}
}

func (d *Deliverer) record(j storage.Job, err error) {
	if err != nil {
		d.s.log.Error().Err(err).Int64("job", j.ID).Msg("record job result")
	}
}

// deliver signs (again, on every attempt: signatures expire) and POSTs.
func (s *Service) deliver(ctx context.Context, p deliverPayload) error {
	la := s.accounts[p.Signer]
	if la == nil {
		if p.Signer != s.instance.name {
			return &permanentError{fmt.Errorf("federation: unknown signer %q", p.Signer)}
		}
		la = s.instance
	}
	u, err := CheckURL(p.Inbox, s.set.Federation.AllowPrivateNetworks)
	if err != nil {
		return &permanentError{err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(p.Activity))
	if err != nil {
		return &permanentError{err}
	}
	req.Header.Set("Content-Type", contentTypeAS2)
	req.Header.Set("Accept", acceptAS2)
	if err := la.signer.Sign(req, p.Activity, s.now()); err != nil {
		return fmt.Errorf("federation: sign delivery: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrForbiddenAddress) {
			return &permanentError{err}
		}
		return fmt.Errorf("federation: POST %s: %w", p.Inbox, err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	switch c := resp.StatusCode; {
	case c >= 200 && c < 300:
		return nil
	case c == http.StatusGone:
		return &goneError{p.Inbox}
	case c >= 400 && c < 500 && c != http.StatusUnauthorized && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return &permanentError{fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)}
	default:
		return fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)
	}
}

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
