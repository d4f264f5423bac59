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

// fanoutPayload is a fan-out job. The activity it sends is stored once
// (storage's outgoing activities) and named by the job and by each of its
// deliveries, which keeps it while one of them is pending or running.
type fanoutPayload struct {
	Signer string `json:"signer"`
	// ActivityID is the outgoing activity; 0 in fan-outs queued before
	// outgoing activities had their table, whose activity was copied
	// there under the job's own id (migration 0012).
	ActivityID int64    `json:"activity_id,omitempty"`
	Followers  bool     `json:"followers"` // all accepted followers' inboxes
	Inboxes    []string `json:"inboxes"`   // more inboxes (mentioned actors)
	Ref        string   `json:"ref"`       // groups the deliveries for status queries
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
	if !json.Valid(out.Activity) {
		return errors.New("federation: enqueue: the activity is not JSON")
	}
	id, err := q.InsertOutgoingActivity(ctx, out.Account, out.Activity, s.now())
	if err != nil {
		return fmt.Errorf("federation: store the outgoing activity: %w", err)
	}
	payload, err := json.Marshal(fanoutPayload{
		Signer: out.Account, ActivityID: id, Followers: out.Followers, Inboxes: out.Inboxes, Ref: out.Ref,
	})
	if err != nil {
		return fmt.Errorf("federation: encode fan-out: %w", err)
	}
	if _, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobFanout, Payload: payload, Ref: out.Ref + ":fanout", ActivityID: id}); err != nil {
		return fmt.Errorf("federation: enqueue fan-out: %w", err)
	}
	return nil
}

// fanout expands a fan-out job into delivery jobs, a page of inboxes per
// transaction. Delivery jobs are keyed by fan-out job and inbox, so a
// fan-out interrupted by a crash resumes without sending anything twice.
func (d *Deliverer) fanout(ctx context.Context, j *jobs.Job) error {
	var p fanoutPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	if p.ActivityID == 0 {
		p.ActivityID = j.ID // queued before migration 0012
	}
	prefix := "f" + strconv.FormatInt(j.ID, 10) + ":"
	enqueue := func(inboxes []string) error {
		js := make([]storage.NewJob, 0, len(inboxes))
		for _, inbox := range inboxes {
			j, err := fanoutDelivery(p.Signer, inbox, p.ActivityID, prefix+inbox, p.Ref)
			if err != nil {
				return err
			}
			js = append(js, j)
		}
		// One page, one transaction, a few multi-row INSERTs.
		return d.s.store.InTx(ctx, func(q storage.Queries) error {
			_, err := q.EnqueueJobs(ctx, js)
			return err
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

// fanoutDelivery is the delivery job to inbox of the stored outgoing
// activity id.
func fanoutDelivery(signer, inbox string, id int64, key, ref string) (storage.NewJob, error) {
	payload, err := json.Marshal(deliverPayload{Signer: signer, Inbox: inbox, ActivityID: id})
	if err != nil {
		return storage.NewJob{}, fmt.Errorf("federation: encode delivery: %w", err)
	}
	return storage.NewJob{Kind: JobDeliver, Payload: payload, Key: key, Host: inboxHost(inbox), Ref: ref, ActivityID: id}, nil
}

// activityCache holds the outgoing activities being delivered, by id:
// the deliveries of one fan-out read it from the database once. It holds at most activityCacheSize (a handful of fan-outs run at
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
	e.once.Do(func() { e.b, e.err = st.GetOutgoingActivity(ctx, id) })
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

// DeliveryStats counts the deliveries of one Ref by state, and reports
// whether its fan-out is still pending.
func (s *Service) DeliveryStats(ctx context.Context, ref string) (storage.RefStats, bool, error) {
	return RefDelivery(ctx, s.store, ref)
}

// RefDelivery is DeliveryStats read from store (without a Service: the
// console's reach page).
func RefDelivery(ctx context.Context, store storage.Store, ref string) (storage.RefStats, bool, error) {
	st, err := store.RefStats(ctx, ref)
	if err != nil {
		return storage.RefStats{}, false, err
	}
	fo, err := store.RefStats(ctx, ref+":fanout")
	if err != nil {
		return storage.RefStats{}, false, err
	}
	return st, fo.Pending > 0, nil
}
