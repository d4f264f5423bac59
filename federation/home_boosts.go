package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/hostport"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// JobHomeBoost fetches a post that a followed actor boosted and that we do
// not hold, then records the boost in the home timelines of the accounts
// that follow the booster. The inbox only queues it: a boost costs the
// inbox no request to a third server.
const JobHomeBoost = "home.boost"

type homeBoostPayload struct {
	Actor    string    `json:"actor"`    // the booster
	Activity string    `json:"activity"` // the Announce's id
	Object   string    `json:"object"`   // the boosted post
	ID       int64     `json:"id"`       // the home entries' id, chosen once
	At       time.Time `json:"at"`
}

// queueHomeBoost queues the fetch of a boosted post we do not hold, in the
// Announce's idempotency transaction.
func (s *Service) queueHomeBoost(ctx context.Context, act Activity) (string, bool, error) {
	u, err := s.CheckRemoteTarget(act.Object.ID)
	if err != nil {
		return ignored("boost of a post we cannot fetch: " + err.Error()), true, nil
	}
	if s.hostBlocked(hostport.FromURL(u.String())) {
		return ignored("boost of a post on a blocked server"), true, nil
	}
	now := s.now()
	payload, err := json.Marshal(homeBoostPayload{Actor: act.Actor, Activity: act.ID, Object: u.String(), ID: remoteID(now), At: now})
	if err != nil {
		return "", true, err
	}
	dup, err := s.applyOnce(ctx, act, now, func(q storage.Queries) error {
		_, err := q.EnqueueJob(ctx, storage.NewJob{Kind: JobHomeBoost, Payload: payload, Key: JobHomeBoost + ":" + act.ID,
			Host: u.Host, Ref: "home:" + act.Actor})
		return err
	})
	if err != nil || dup {
		return dupOutcome(dup), true, err
	}
	return "boost queued: its post is fetched", true, nil
}

// RegisterHome registers the pool that fetches boosted posts for the home
// timelines.
func (s *Service) RegisterHome(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobHomeBoost},
		Handle:    s.handleHomeBoost,
		Workers:   2,
		Lease:     time.Minute,
		Backoff:   jobs.Backoff{Base: 30 * time.Second, Max: 30 * time.Minute, MaxAttempts: 6},
		PollEvery: time.Second,
		Now:       func() time.Time { return s.now() },
	})
	if err != nil {
		return fmt.Errorf("federation: %w", err)
	}
	return nil
}

func (s *Service) handleHomeBoost(ctx context.Context, j *jobs.Job) error {
	var p homeBoostPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil || p.Object == "" || p.ID == 0 {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %q", j.Payload))
	}
	accounts, err := s.store.FollowingAccounts(ctx, p.Actor)
	if err != nil {
		return err
	}
	if len(accounts) == 0 {
		return nil // unfollowed meanwhile
	}
	res, err := s.Resolve(ctx, p.Object)
	var status *HTTPStatusError
	switch {
	case errors.Is(err, ErrNotResolvable), errors.As(err, &status) && status.Code >= 400 && status.Code < 500 && status.Code != 429:
		return jobs.Permanent(err) // private, gone, or not a post: nothing to show
	case err != nil:
		return err
	case res.Status == nil:
		return jobs.Permanent(fmt.Errorf("%s is not a post", p.Object))
	}
	es := make([]storage.HomeEntry, 0, len(accounts))
	for _, a := range accounts {
		es = append(es, storage.HomeEntry{ID: p.ID, Account: a, RemoteStatusID: res.Status.ID, ActorID: p.Actor,
			ActivityID: p.Activity, Reblog: true, CreatedAt: p.At})
	}
	_, err = s.store.InsertHomeEntries(ctx, es) // a retry adds nothing twice
	return err
}
