package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// JobFanout is the job kind that turns one outgoing activity into one
// delivery job per remote inbox.
const JobFanout = "fanout"

// fanoutPage is how many inboxes one fan-out transaction enqueues; the
// first page is smaller, so that the first deliveries start at once.
const (
	fanoutFirstPage = 100
	fanoutPage      = 500
)

type fanoutPayload struct {
	Signer    string          `json:"signer"`
	Activity  json.RawMessage `json:"activity"`
	Followers bool            `json:"followers"` // all accepted followers' inboxes
	Inboxes   []string        `json:"inboxes"`   // more inboxes (mentioned actors)
	Ref       string          `json:"ref"`       // groups the deliveries for status queries
}

// Outgoing is an activity to send to an account's audience.
type Outgoing struct {
	Account   string
	Activity  []byte
	Followers bool     // deliver to every follower's (shared) inbox
	Inboxes   []string // and to these
	// Ref groups the deliveries (e.g. "status:42") for DeliveryStats.
	Ref string
}

// Enqueue queues an outgoing activity in the caller's transaction: one
// fan-out job, which the workers expand into one delivery per inbox
// (shared inboxes: one request per server, not per follower).
func (s *Service) Enqueue(ctx context.Context, q storage.Queries, out Outgoing) error {
	if s.accounts[out.Account] == nil {
		return fmt.Errorf("federation: enqueue: no account %q", out.Account)
	}
	payload, err := json.Marshal(fanoutPayload{
		Signer: out.Account, Activity: out.Activity, Followers: out.Followers, Inboxes: out.Inboxes, Ref: out.Ref,
	})
	if err != nil {
		return fmt.Errorf("federation: encode fan-out: %w", err)
	}
	if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobFanout, Payload: payload, Ref: out.Ref + ":fanout"}); err != nil {
		return fmt.Errorf("federation: enqueue fan-out: %w", err)
	}
	return nil
}

// fanout expands a fan-out job into delivery jobs, a page of inboxes per
// transaction. Delivery jobs are keyed by fan-out job and inbox, so a
// fan-out interrupted by a crash resumes without sending anything twice.
func (d *Deliverer) fanout(ctx context.Context, j *jobs.Job) error {
	var p fanoutPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || !json.Valid(p.Activity) {
		if err == nil {
			err = errors.New("activity is not valid JSON")
		}
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	prefix := "f" + strconv.FormatInt(j.ID, 10) + ":"
	enqueue := func(inboxes []string) error {
		return d.s.store.InTx(ctx, func(q storage.Queries) error {
			for _, inbox := range inboxes {
				if err := d.s.enqueueFanoutDelivery(ctx, q, p.Signer, inbox, j.ID, prefix+inbox, p.Ref); err != nil {
					return err
				}
			}
			return nil
		})
	}
	total := 0
	err := enqueue(d.s.deliverable(p.Signer, p.Inboxes)) // guard.go: not to refused domains
	total += len(p.Inboxes)
	d.s.Nudge()
	for after, size := "", fanoutFirstPage; err == nil && p.Followers; size = fanoutPage {
		var page []string
		page, err = d.s.store.ListFollowerInboxes(ctx, p.Signer, after, size)
		if err != nil || len(page) == 0 {
			break
		}
		if err = enqueue(d.s.deliverable(p.Signer, page)); err != nil {
			break
		}
		d.s.Nudge()
		total += len(page)
		after = page[len(page)-1]
	}
	if err != nil {
		return fmt.Errorf("federation: fan-out: %w", err) // retried (or put back, when stopping)
	}
	d.s.log.Info().Str("ref", p.Ref).Int("inboxes", total).Msg("fan-out queued")
	return nil
}

// enqueueFanoutDelivery queues the delivery to inbox of the activity held
// by fan-out job fanout.
func (s *Service) enqueueFanoutDelivery(ctx context.Context, q storage.Queries, signer, inbox string, fanout int64, key, ref string) error {
	payload, err := json.Marshal(deliverPayload{Signer: signer, Inbox: inbox, Fanout: fanout})
	if err != nil {
		return fmt.Errorf("federation: encode delivery: %w", err)
	}
	return s.queueDelivery(ctx, q, payload, inbox, key, ref)
}

// errBadFanout: a delivery names a job that holds no activity.
var errBadFanout = errors.New("federation: not a fan-out job with an activity")

// activityCache holds the activities of the fan-outs being delivered, by
// fan-out job id: the deliveries of one fan-out read it from the database
// once. It holds at most activityCacheSize (a handful of fan-outs run at
// once): when full, it starts over.
type activityCache struct {
	mu      sync.Mutex
	entries map[int64]*cachedActivity
}

const activityCacheSize = 32

type cachedActivity struct {
	once sync.Once
	b    []byte
	err  error
}

// get returns the activity of fan-out job id, reading it once.
func (c *activityCache) get(ctx context.Context, st storage.Store, id int64) ([]byte, error) {
	c.mu.Lock()
	if c.entries == nil {
		c.entries = make(map[int64]*cachedActivity)
	}
	e := c.entries[id]
	if e == nil {
		if len(c.entries) >= activityCacheSize {
			clear(c.entries)
		}
		e = &cachedActivity{}
		c.entries[id] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.b, e.err = readFanoutActivity(ctx, st, id) })
	if e.err != nil {
		// Do not keep a failure: the next delivery reads again.
		c.mu.Lock()
		if c.entries[id] == e {
			delete(c.entries, id)
		}
		c.mu.Unlock()
	}
	return e.b, e.err
}

func readFanoutActivity(ctx context.Context, st storage.Store, id int64) ([]byte, error) {
	j, err := st.GetJob(ctx, id)
	if err != nil {
		return nil, err
	}
	var p fanoutPayload
	if j.Kind != JobFanout || json.Unmarshal(j.Payload, &p) != nil || len(p.Activity) == 0 || !json.Valid(p.Activity) {
		return nil, fmt.Errorf("%w: job %d", errBadFanout, id)
	}
	return p.Activity, nil
}

// DeliveryStats counts the deliveries of one Ref by state, and reports
// whether its fan-out is still pending.
func (s *Service) DeliveryStats(ctx context.Context, ref string) (storage.RefStats, bool, error) {
	st, err := s.store.RefStats(ctx, ref)
	if err != nil {
		return storage.RefStats{}, false, err
	}
	fo, err := s.store.RefStats(ctx, ref+":fanout")
	if err != nil {
		return storage.RefStats{}, false, err
	}
	return st, fo.Pending > 0, nil
}
