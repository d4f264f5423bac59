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
	retryBase   = 30 * time.Second
	retryMax    = 12 * time.Hour
	maxAttempts = 14 // 30s, 1m, 2m ... 12h, 12h, 12h: about 53 hours
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
}

// NewDeliverer prepares delivery workers; owner identifies this process in
// job leases.
func (s *Service) NewDeliverer(workers int) *Deliverer {
	if workers <= 0 {
		workers = 16
	}
	host, _ := os.Hostname()
	owner := host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10)
	return &Deliverer{s: s, owner: owner, workers: workers}
}

// Run claims due delivery jobs and sends them until ctx is cancelled. Then
// it lets in-flight deliveries finish (up to grace) and puts back the jobs
// it had claimed but not started.
func (d *Deliverer) Run(ctx context.Context, grace time.Duration) error {
	log := d.s.log.With().Str("worker", d.owner).Logger()
	sem := make(chan struct{}, d.workers)
	var inflight sync.WaitGroup
	// Sends run on their own context so that shutdown can let them finish.
	sendCtx, cancelSends := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelSends()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for ctx.Err() == nil {
		jobs, err := d.s.store.ClaimJobs(ctx, d.owner, []string{JobDeliver}, d.workers, leaseTime, d.s.now())
		if err != nil && ctx.Err() == nil {
			log.Error().Err(err).Msg("claim delivery jobs")
		}
		for _, j := range jobs {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
			if ctx.Err() != nil {
				break
			}
			inflight.Add(1)
			go func(j storage.Job) {
				defer func() { <-sem; inflight.Done() }()
				d.handle(sendCtx, j)
			}(j)
		}
		if len(jobs) == d.workers {
			continue // more work is probably due
		}
		select {
		case <-ctx.Done():
		case <-d.s.wake:
		case <-tick.C:
		}
	}
	done := make(chan struct{})
	go func() { inflight.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(grace):
		cancelSends()
		<-done
	}
	// Jobs claimed but never started (or cut short) go back to the queue.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := d.s.store.ReleaseJobs(rctx, d.owner); err != nil {
		return fmt.Errorf("federation: release delivery jobs: %w", err)
	}
	return nil
}

// handle sends one job and records the result.
func (d *Deliverer) handle(ctx context.Context, j storage.Job) {
	log := d.s.log.With().Int64("job", j.ID).Str("host", j.Host).Int("attempt", j.Attempts).Logger()
	var p deliverPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		log.Error().Err(err).Msg("undecodable delivery job")
		d.finish(ctx, j, d.s.store.FailJob(ctx, j.ID, d.owner, "undecodable payload: "+err.Error()))
		return
	}
	err := d.s.deliver(ctx, p)
	if ctx.Err() != nil {
		return // shutting down: the lease is released by Run
	}
	switch {
	case err == nil:
		log.Debug().Str("inbox", p.Inbox).Msg("delivered")
		d.finish(ctx, j, d.s.store.CompleteJob(ctx, j.ID, d.owner))
	case permanent(err):
		log.Warn().Err(err).Str("inbox", p.Inbox).Msg("delivery failed for good")
		d.finish(ctx, j, d.s.store.FailJob(ctx, j.ID, d.owner, err.Error()))
	case j.Attempts >= maxAttempts:
		log.Warn().Err(err).Str("inbox", p.Inbox).Msg("delivery gave up after the last retry")
		d.finish(ctx, j, d.s.store.FailJob(ctx, j.ID, d.owner, err.Error()))
	default:
		next := d.s.now().Add(backoff(j.Attempts))
		log.Info().Err(err).Str("inbox", p.Inbox).Time("retry_at", next).Msg("delivery will be retried")
		d.finish(ctx, j, d.s.store.RetryJob(ctx, j.ID, d.owner, next, err.Error()))
	}
}

func (d *Deliverer) finish(_ context.Context, j storage.Job, err error) {
	if err != nil {
		d.s.log.Error().Err(err).Int64("job", j.ID).Msg("record delivery result")
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
		return nil // the inbox is gone for good: nothing more to send there
	case c >= 400 && c < 500 && c != http.StatusUnauthorized && c != http.StatusRequestTimeout && c != http.StatusTooManyRequests:
		return &permanentError{fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)}
	default:
		return fmt.Errorf("federation: POST %s: status %d", p.Inbox, c)
	}
}

// permanentError is a delivery failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

func permanent(err error) bool {
	var pe *permanentError
	return errors.As(err, &pe)
}
