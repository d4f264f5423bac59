package storage

import (
	"context"
	"fmt"
	"time"
)

// This file keeps an account's crisis mode (issue 16): whether it is on,
// and which posts it tightened with the policy each had before, so that
// turning it off restores exactly that, after a restart too.

// Crisis is an account's crisis mode while it is on.
type Crisis struct {
	Account   string
	Posts     int // how many recent posts it was asked to tighten
	StartedAt time.Time
}

// CrisisPost is a post crisis mode tightened, with its own policy from
// before: HadPolicy false when it had none (the account's), else Replies
// and Quotes as StatusPolicy keeps them.
type CrisisPost struct {
	StatusID  int64
	Account   string
	HadPolicy bool
	Replies   string
	Quotes    string
	CreatedAt time.Time
}

// Crises is the storage of crisis mode.
type Crises interface {
	// StartCrisis turns the account's crisis mode on; created is false
	// (and the stored one kept) when it already was.
	StartCrisis(ctx context.Context, c Crisis) (created bool, err error)
	// GetCrisis returns the account's crisis mode, ErrNotFound when off.
	GetCrisis(ctx context.Context, account string) (Crisis, error)
	// LockCrisis returns the account's crisis mode as GetCrisis does and,
	// in a transaction, holds it until the transaction ends, so that
	// turning it off waits for what is being added to it (and the other
	// way round); ErrNotFound when off.
	LockCrisis(ctx context.Context, account string) (Crisis, error)
	// EndCrisis turns it off and forgets its posts; false when it was off.
	EndCrisis(ctx context.Context, account string) (bool, error)
	// AddCrisisPost records a post crisis mode tightened; created is
	// false (and the first record kept: what the post had before the
	// crisis) when it already was.
	AddCrisisPost(ctx context.Context, p CrisisPost) (created bool, err error)
	// ListCrisisPosts lists the posts the account's crisis mode
	// tightened, by status id.
	ListCrisisPosts(ctx context.Context, account string) ([]CrisisPost, error)
	// DeleteStatusPolicy removes a post's own policy (it follows the
	// account's again); false when it had none.
	DeleteStatusPolicy(ctx context.Context, statusID int64) (bool, error)
}

func (q *queries) StartCrisis(ctx context.Context, c Crisis) (bool, error) {
	n, err := q.w.execN(ctx,
		`INSERT INTO crisis_modes (account, posts, started_at) VALUES (?, ?, ?) ON CONFLICT (account) DO NOTHING`,
		c.Account, c.Posts, orNow(c.StartedAt).UnixMicro())
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("start crisis mode of %q", c.Account), err)
	}
	return n > 0, nil
}

func (q *queries) GetCrisis(ctx context.Context, account string) (Crisis, error) {
	c := Crisis{Account: account}
	var started int64
	err := q.r.queryRow(ctx, `SELECT posts, started_at FROM crisis_modes WHERE account = ?`, account).Scan(&c.Posts, &started)
	if err != nil {
		return Crisis{}, q.d.wrap(fmt.Sprintf("get crisis mode of %q", account), err)
	}
	c.StartedAt = time.UnixMicro(started).UTC()
	return c, nil
}

func (q *queries) LockCrisis(ctx context.Context, account string) (Crisis, error) {
	n, err := q.w.execN(ctx, `UPDATE crisis_modes SET posts = posts WHERE account = ?`, account)
	if err != nil {
		return Crisis{}, q.d.wrap(fmt.Sprintf("lock crisis mode of %q", account), err)
	}
	if n == 0 {
		return Crisis{}, fmt.Errorf("lock crisis mode of %q: %w", account, ErrNotFound)
	}
	return q.GetCrisis(ctx, account)
}

func (q *queries) EndCrisis(ctx context.Context, account string) (bool, error) {
	var ended bool
	err := q.atomic(ctx, func(tq *queries) error {
		n, err := tq.w.execN(ctx, `DELETE FROM crisis_modes WHERE account = ?`, account)
		if err != nil {
			return err
		}
		ended = n > 0
		_, err = tq.w.exec(ctx, `DELETE FROM crisis_posts WHERE account = ?`, account)
		return err
	})
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("end crisis mode of %q", account), err)
	}
	return ended, nil
}

func (q *queries) AddCrisisPost(ctx context.Context, p CrisisPost) (bool, error) {
	n, err := q.w.execN(ctx,
		`INSERT INTO crisis_posts (status_id, account, had_policy, replies, quotes, created_at) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (status_id) DO NOTHING`,
		p.StatusID, p.Account, p.HadPolicy, p.Replies, p.Quotes, orNow(p.CreatedAt).UnixMicro())
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("record crisis post %d", p.StatusID), err)
	}
	return n > 0, nil
}

func (q *queries) ListCrisisPosts(ctx context.Context, account string) ([]CrisisPost, error) {
	action := fmt.Sprintf("list crisis posts of %q", account)
	rows, err := q.r.query(ctx,
		`SELECT status_id, account, had_policy, replies, quotes, created_at FROM crisis_posts WHERE account = ? ORDER BY status_id`, account)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []CrisisPost
	for rows.Next() {
		var (
			p       CrisisPost
			created int64
		)
		if err := rows.Scan(&p.StatusID, &p.Account, &p.HadPolicy, &p.Replies, &p.Quotes, &created); err != nil {
			return nil, q.d.wrap(action, err)
		}
		p.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) DeleteStatusPolicy(ctx context.Context, statusID int64) (bool, error) {
	n, err := q.w.execN(ctx, `DELETE FROM status_policies WHERE status_id = ?`, statusID)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("delete policy of status %d", statusID), err)
	}
	return n > 0, nil
}
