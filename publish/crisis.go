package publish

import (
	"context"
	"errors"
	"fmt"

	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Crisis mode (issue 16): while it is on, an account's new posts and its
// last posts get the strictest interaction policy (policy.Strictest:
// replies and quotes by nobody but the author) on both networks; turning
// it off gives each post it tightened back the policy it had. Each post's
// own policy (storage.StatusPolicy) is what changes, so everything that
// reads it follows: the Notes served and delivered, the inbound replies
// and quote requests refused, the Bluesky gates. What was there before is
// kept in storage (storage.Crises) with the crisis, in the transaction
// that changes it: a restart loses nothing.

// Bounds of how many recent posts crisis mode tightens.
const (
	CrisisDefaultPosts = 20
	CrisisMaxPosts     = 200
)

// crisisVisibilities are the posts crisis mode tightens: all but direct
// ones (private answers to the mentioned, not posts people pile onto).
var crisisVisibilities = []string{storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPrivate, storage.VisibilityBluesky}

// CrisisResult is what turning crisis mode on or off did, or its state.
type CrisisResult struct {
	On     bool
	Crisis storage.Crisis // while on: since when, how many posts asked
	// Already: on, it already was on; off, it already was off.
	Already bool
	// Changed is how many posts got a new policy (an Update of each Note
	// and its Bluesky gates queued).
	Changed int
	// Posts is how many posts crisis mode holds tightened (status, on).
	Posts int
}

// CrisisOn turns the account's crisis mode on and tightens its last n
// posts (1 to CrisisMaxPosts). On again, it only tightens those of the
// last n it does not hold yet (none when nothing was posted since).
func (s *Service) CrisisOn(ctx context.Context, account string, n int) (CrisisResult, error) {
	if n < 1 || n > CrisisMaxPosts {
		return CrisisResult{}, invalid("the number of recent posts must be between 1 and %d", CrisisMaxPosts)
	}
	res := CrisisResult{On: true}
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		created, err := q.StartCrisis(ctx, storage.Crisis{Account: account, Posts: n, StartedAt: s.now().UTC()})
		if err != nil {
			return err
		}
		res.Already = !created
		if _, err := q.LockCrisis(ctx, account); err != nil {
			return err
		}
		res.Changed, err = s.tightenRecent(ctx, q, account, n)
		return err
	})
	if err != nil {
		return CrisisResult{}, s.wrap("crisis on", err)
	}
	// Again, in a transaction of its own: a post published while the
	// first one ran did not see the crisis (PostgreSQL, several
	// replicas) and is among the last n now.
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		var err error
		if res.Crisis, err = q.LockCrisis(ctx, account); err != nil {
			return err // ErrNotFound: turned off meanwhile, and reverted
		}
		more, err := s.tightenRecent(ctx, q, account, n)
		if err != nil {
			return err
		}
		res.Changed += more
		posts, err := q.ListCrisisPosts(ctx, account)
		res.Posts = len(posts)
		return err
	})
	if errors.Is(err, storage.ErrNotFound) {
		res.On, err = false, nil // turned off meanwhile: what it closed is reverted already
	}
	if err != nil {
		return CrisisResult{}, s.wrap("crisis on", err)
	}
	s.nudge()
	s.notifyChange(account)
	reqlog.Logger(ctx, s.log).Warn().Str("account", account).Int("posts", n).Bool("already", res.Already).
		Int("changed", res.Changed).Msg("crisis mode on")
	return res, nil
}

// tightenRecent tightens the account's last n posts (direct ones left
// out) that the crisis does not hold yet, and returns how many changed.
func (s *Service) tightenRecent(ctx context.Context, q storage.Queries, account string, n int) (int, error) {
	sts, err := q.ListStatuses(ctx, storage.StatusPage{Account: account, Limit: n, Visibilities: crisisVisibilities})
	if err != nil {
		return 0, err
	}
	changed := 0
	for _, st := range sts {
		prev, had, err := ownPolicy(ctx, q, st.ID)
		if err != nil {
			return 0, err
		}
		ok, err := s.tighten(ctx, q, st, prev, had)
		if err != nil {
			return 0, err
		}
		if ok {
			changed++
		}
	}
	return changed, nil
}

// CrisisOff turns the account's crisis mode off: each post it tightened
// gets back its own policy from before (or none), and its Note's Update
// and Bluesky gates follow. Off already, it does nothing (Already).
func (s *Service) CrisisOff(ctx context.Context, account string) (CrisisResult, error) {
	var res CrisisResult
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		res = CrisisResult{}
		c, err := q.LockCrisis(ctx, account)
		if errors.Is(err, storage.ErrNotFound) {
			res.Already = true
			return nil
		}
		if err != nil {
			return err
		}
		res.Crisis = c
		posts, err := q.ListCrisisPosts(ctx, account)
		if err != nil {
			return err
		}
		for _, p := range posts {
			changed, err := s.restore(ctx, q, p)
			if err != nil {
				return err
			}
			if changed {
				res.Changed++
			}
		}
		_, err = q.EndCrisis(ctx, account)
		return err
	})
	if err != nil {
		return CrisisResult{}, s.wrap("crisis off", err)
	}
	if res.Already {
		return res, nil
	}
	s.nudge()
	s.notifyChange(account)
	reqlog.Logger(ctx, s.log).Warn().Str("account", account).Int("changed", res.Changed).Msg("crisis mode off")
	return res, nil
}

// CrisisStatus is the account's crisis mode: on (since when, how many
// posts it holds) or off.
func (s *Service) CrisisStatus(ctx context.Context, account string) (CrisisResult, error) {
	c, err := s.store.GetCrisis(ctx, account)
	if errors.Is(err, storage.ErrNotFound) {
		return CrisisResult{}, nil
	}
	if err != nil {
		return CrisisResult{}, s.wrap("crisis status", err)
	}
	posts, err := s.store.ListCrisisPosts(ctx, account)
	if err != nil {
		return CrisisResult{}, s.wrap("crisis status", err)
	}
	return CrisisResult{On: true, Crisis: c, Posts: len(posts)}, nil
}

// ownPolicy is a post's own policy, had false when it has none.
func ownPolicy(ctx context.Context, q storage.Queries, statusID int64) (storage.StatusPolicy, bool, error) {
	p, err := q.GetStatusPolicy(ctx, statusID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.StatusPolicy{StatusID: statusID}, false, nil
	}
	return p, err == nil, err
}

// tighten gives st the strictest policy, recording prev (its own policy
// before, had false: none) for the crisis's end; changed is false when
// the crisis already held it, or it already had the strictest policy of
// its own. When it changed, the Update of its Note and the rewriting of
// its Bluesky gates are queued.
func (s *Service) tighten(ctx context.Context, q storage.Queries, st storage.Status, prev storage.StatusPolicy, had bool) (bool, error) {
	created, err := q.AddCrisisPost(ctx, storage.CrisisPost{StatusID: st.ID, Account: st.Account, HadPolicy: had,
		Replies: prev.Replies, Quotes: prev.Quotes, CreatedAt: s.now().UTC()})
	if err != nil || !created {
		return false, err
	}
	if had && policy.Strictest(prev.Replies, prev.Quotes) {
		return false, nil
	}
	if err := q.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: st.ID, Replies: policy.StrictestReplies, Quotes: policy.StrictestQuotes}); err != nil {
		return false, err
	}
	return true, s.queuePolicy(ctx, q, st)
}

// restore gives a post crisis mode tightened its own policy from before.
func (s *Service) restore(ctx context.Context, q storage.Queries, p storage.CrisisPost) (bool, error) {
	if p.HadPolicy && policy.Strictest(p.Replies, p.Quotes) {
		return false, nil // crisis mode changed nothing
	}
	var err error
	if p.HadPolicy {
		err = q.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: p.StatusID, Replies: p.Replies, Quotes: p.Quotes})
	} else {
		_, err = q.DeleteStatusPolicy(ctx, p.StatusID)
	}
	if err != nil {
		return false, err
	}
	st, err := q.GetStatus(ctx, p.StatusID)
	if errors.Is(err, storage.ErrNotFound) || err == nil && !st.DeletedAt.IsZero() {
		return false, nil // deleted since: nobody to tell
	}
	if err != nil {
		return false, err
	}
	return true, s.queuePolicy(ctx, q, st)
}

// queuePolicy queues, in q, what tells both networks of st's new policy:
// the Update of its Note (not for a Bluesky-only status) and the
// rewriting of its Bluesky gates.
func (s *Service) queuePolicy(ctx context.Context, q storage.Queries, st storage.Status) error {
	if st.Visibility != storage.VisibilityBluesky {
		if err := s.fed.QueuePolicyUpdate(ctx, q, st, s.now().UTC()); err != nil {
			return fmt.Errorf("queue the update of status %d: %w", st.ID, err)
		}
	}
	if s.mirror != nil {
		if err := s.mirror.MirrorGates(ctx, q, st); err != nil {
			return fmt.Errorf("queue the gates of status %d: %w", st.ID, err)
		}
	}
	return nil
}

// crisisCreate, in a new post's transaction, gives it the strictest
// policy while its account's crisis mode is on, keeping the policy it
// asked for (replies, quotes; none when both are empty) for the crisis's
// end. Its Create and mirroring, queued next, carry the strict policy.
func (s *Service) crisisCreate(ctx context.Context, q storage.Queries, st storage.Status, replies, quotes string) error {
	if st.Visibility == storage.VisibilityDirect {
		return nil
	}
	if _, err := q.LockCrisis(ctx, st.Account); errors.Is(err, storage.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	had := replies != "" || quotes != ""
	if _, err := q.AddCrisisPost(ctx, storage.CrisisPost{StatusID: st.ID, Account: st.Account, HadPolicy: had,
		Replies: replies, Quotes: quotes, CreatedAt: s.now().UTC()}); err != nil {
		return err
	}
	return q.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: st.ID, Replies: policy.StrictestReplies, Quotes: policy.StrictestQuotes})
}
