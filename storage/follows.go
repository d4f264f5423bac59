package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// This file keeps whom our accounts follow (follows: the Follows they
// sent, requested until the remote Accept) and their home timelines
// (home_entries: the posts and boosts of the actors they follow, naming
// remote_statuses rows).

// Follow states.
const (
	FollowRequested = "requested" // sent, no Accept yet
	FollowAccepted  = "accepted"
)

// Follow is a remote actor one of our accounts follows, or asked to.
type Follow struct {
	ID         int64 // time-ordered, chosen by the caller (never 0)
	Account    string
	ActorID    string
	ActivityID string // our Follow's id
	State      string // FollowRequested or FollowAccepted
	CreatedAt  time.Time
	AcceptedAt time.Time // zero while requested
}

// HomeEntry is a remote post or boost in one account's home timeline.
type HomeEntry struct {
	// ID is the remote status's id for a post, the boost's own
	// (time-ordered) id for a boost.
	ID             int64
	Account        string
	RemoteStatusID int64
	ActorID        string // the author, or the booster
	ActivityID     string // the post's id, or the Announce's
	Reblog         bool
	CreatedAt      time.Time
}

// Follows is the storage of whom our accounts follow, and what it brings
// to their home timelines.
type Follows interface {
	// PutFollow records a Follow sent, or returns the one the account
	// already has of the same actor (created false).
	PutFollow(ctx context.Context, f Follow) (stored Follow, created bool, err error)
	// GetFollow returns the account's follow of actorID; ErrNotFound when
	// there is none.
	GetFollow(ctx context.Context, account, actorID string) (Follow, error)
	// GetFollowByActivity finds a follow by our Follow's id.
	GetFollowByActivity(ctx context.Context, activityID string) (Follow, error)
	// SetFollowState moves a follow to state (AcceptedAt set when
	// accepted); ErrNotFound when there is none.
	SetFollowState(ctx context.Context, account, actorID, state string, at time.Time) error
	// DeleteFollow removes a follow, and the actor's posts and boosts from
	// the account's home timeline, and returns the follow; ErrNotFound
	// when there is none.
	DeleteFollow(ctx context.Context, account, actorID string) (Follow, error)
	// ListFollows lists the account's follows in state (empty: any),
	// newest first, with StatusPage's paging by id (Visibilities unused).
	ListFollows(ctx context.Context, p StatusPage, state string) ([]Follow, error)
	// CountFollows counts the account's follows in state (empty: any).
	CountFollows(ctx context.Context, account, state string) (int64, error)
	// FollowingAccounts lists our accounts whose follow of actorID was
	// accepted.
	FollowingAccounts(ctx context.Context, actorID string) ([]string, error)

	// InsertHomeEntries adds entries; one whose account and activity id
	// are already there is skipped. It returns how many were added.
	InsertHomeEntries(ctx context.Context, es []HomeEntry) (int64, error)
	// ListHome lists the account's home entries newest first, with
	// StatusPage's paging by id; entries of deleted posts, and those whose
	// author or booster the account blocked or muted, are left out.
	ListHome(ctx context.Context, p StatusPage) ([]HomeEntry, error)
	// DeleteHomeEntriesByActivity removes the entries an activity of
	// actorID made (a boost taken back) and returns how many went.
	DeleteHomeEntriesByActivity(ctx context.Context, actorID, activityID string) (int64, error)
	// PruneHome deletes the home entries made before `before`, and the
	// remote posts only they named (nothing else refers to them: no
	// notification, reaction, reply of ours or newer entry), and returns
	// how many entries and posts went.
	PruneHome(ctx context.Context, before time.Time) (entries, statuses int64, err error)
}

const followColumns = `id, account, actor_id, activity_id, state, created_at, accepted_at`

func scanFollow(s scanner) (Follow, error) {
	var (
		f        Follow
		created  int64
		accepted sql.NullInt64
	)
	err := s.Scan(&f.ID, &f.Account, &f.ActorID, &f.ActivityID, &f.State, &created, &accepted)
	f.CreatedAt = time.UnixMicro(created).UTC()
	f.AcceptedAt = fromMicros(accepted)
	return f, err
}

func (q *queries) PutFollow(ctx context.Context, f Follow) (Follow, bool, error) {
	action := fmt.Sprintf("follow of %q by %q", f.ActorID, f.Account)
	if f.ID <= 0 || f.ActorID == "" || f.ActivityID == "" || (f.State != FollowRequested && f.State != FollowAccepted) {
		return Follow{}, false, q.d.wrap(action, errors.New("no id, actor, activity or state"))
	}
	n, err := q.w.execN(ctx,
		`INSERT INTO follows (`+followColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account, actor_id) DO NOTHING`,
		f.ID, f.Account, f.ActorID, f.ActivityID, f.State, orNow(f.CreatedAt).UnixMicro(), micros(f.AcceptedAt))
	if err != nil {
		return Follow{}, false, q.d.wrap(action, err)
	}
	stored, err := scanFollow(q.w.queryRow(ctx, `SELECT `+followColumns+` FROM follows WHERE account = ? AND actor_id = ?`, f.Account, f.ActorID))
	if err != nil {
		return Follow{}, false, q.d.wrap(action, err)
	}
	return stored, n == 1, nil
}

func (q *queries) GetFollow(ctx context.Context, account, actorID string) (Follow, error) {
	f, err := scanFollow(q.r.queryRow(ctx, `SELECT `+followColumns+` FROM follows WHERE account = ? AND actor_id = ?`, account, actorID))
	if err != nil {
		return Follow{}, q.d.wrap(fmt.Sprintf("get follow of %q by %q", actorID, account), err)
	}
	return f, nil
}

func (q *queries) GetFollowByActivity(ctx context.Context, activityID string) (Follow, error) {
	f, err := scanFollow(q.r.queryRow(ctx, `SELECT `+followColumns+` FROM follows WHERE activity_id = ?`, activityID))
	if err != nil {
		return Follow{}, q.d.wrap(fmt.Sprintf("get follow %q", activityID), err)
	}
	return f, nil
}

func (q *queries) SetFollowState(ctx context.Context, account, actorID, state string, at time.Time) error {
	var accepted any
	if state == FollowAccepted {
		accepted = orNow(at).UnixMicro()
	}
	n, err := q.w.execN(ctx, `UPDATE follows SET state = ?, accepted_at = ? WHERE account = ? AND actor_id = ?`,
		state, accepted, account, actorID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("set follow of %q by %q %s", actorID, account, state), err)
	}
	return nil
}

func (q *queries) DeleteFollow(ctx context.Context, account, actorID string) (Follow, error) {
	var f Follow
	err := q.atomic(ctx, func(tq *queries) error {
		var err error
		f, err = scanFollow(tq.w.queryRow(ctx, `SELECT `+followColumns+` FROM follows WHERE account = ? AND actor_id = ?`, account, actorID))
		if err != nil {
			return err
		}
		if _, err := tq.w.exec(ctx, `DELETE FROM follows WHERE account = ? AND actor_id = ?`, account, actorID); err != nil {
			return err
		}
		_, err = tq.w.exec(ctx, `DELETE FROM home_entries WHERE account = ? AND actor_id = ?`, account, actorID)
		return err
	})
	if err != nil {
		return Follow{}, q.d.wrap(fmt.Sprintf("delete follow of %q by %q", actorID, account), err)
	}
	return f, nil
}

func (q *queries) ListFollows(ctx context.Context, p StatusPage, state string) ([]Follow, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	lower, upper, order, asc := pageBounds(p)
	args := []any{p.Account, lower, upper}
	where := ""
	if state != "" {
		where = ` AND state = ?`
		args = append(args, state)
	}
	args = append(args, p.Limit)
	out, err := collect(scanFollow)(q.r.query(ctx,
		`SELECT `+followColumns+` FROM follows WHERE account = ? AND id > ? AND id < ?`+where+` ORDER BY id `+order+` LIMIT ?`, args...))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list follows of %q", p.Account), err)
	}
	if asc {
		slices.Reverse(out)
	}
	return out, nil
}

func (q *queries) CountFollows(ctx context.Context, account, state string) (int64, error) {
	var n int64
	var err error
	if state == "" {
		err = q.r.queryRow(ctx, `SELECT COUNT(*) FROM follows WHERE account = ?`, account).Scan(&n)
	} else {
		err = q.r.queryRow(ctx, `SELECT COUNT(*) FROM follows WHERE account = ? AND state = ?`, account, state).Scan(&n)
	}
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("count follows of %q", account), err)
	}
	return n, nil
}

func (q *queries) FollowingAccounts(ctx context.Context, actorID string) ([]string, error) {
	out, err := collect(func(s scanner) (string, error) {
		var a string
		return a, s.Scan(&a)
	})(q.r.query(ctx, `SELECT account FROM follows WHERE actor_id = ? AND state = ? ORDER BY account`, actorID, FollowAccepted))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("accounts following %q", actorID), err)
	}
	return out, nil
}

const homeColumns = `h.id, h.account, h.remote_status_id, h.actor_id, h.activity_id, h.reblog, h.created_at`

func scanHomeEntry(s scanner) (HomeEntry, error) {
	var (
		e       HomeEntry
		created int64
	)
	err := s.Scan(&e.ID, &e.Account, &e.RemoteStatusID, &e.ActorID, &e.ActivityID, &e.Reblog, &created)
	e.CreatedAt = time.UnixMicro(created).UTC()
	return e, err
}

func (q *queries) InsertHomeEntries(ctx context.Context, es []HomeEntry) (int64, error) {
	var total int64
	for _, e := range es {
		if e.ID <= 0 || e.RemoteStatusID <= 0 || e.ActivityID == "" {
			return total, q.d.wrap("insert home entry", errors.New("no id, post or activity"))
		}
		n, err := q.w.execN(ctx,
			`INSERT INTO home_entries (id, account, remote_status_id, actor_id, activity_id, reblog, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			e.ID, e.Account, e.RemoteStatusID, e.ActorID, e.ActivityID, e.Reblog, orNow(e.CreatedAt).UnixMicro())
		if err != nil {
			return total, q.d.wrap(fmt.Sprintf("insert home entry %q of %q", e.ActivityID, e.Account), err)
		}
		total += n
	}
	return total, nil
}

func (q *queries) ListHome(ctx context.Context, p StatusPage) ([]HomeEntry, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	lower, upper, order, asc := pageBounds(p)
	out, err := collect(scanHomeEntry)(q.r.query(ctx,
		`SELECT `+homeColumns+` FROM home_entries h JOIN remote_statuses rs ON rs.id = h.remote_status_id
		 WHERE h.account = ? AND h.id > ? AND h.id < ? AND rs.deleted_at IS NULL
		   AND NOT EXISTS (SELECT 1 FROM account_blocks b WHERE b.account = h.account AND (b.actor_id = h.actor_id OR b.actor_id = rs.actor_id))
		 ORDER BY h.id `+order+` LIMIT ?`, p.Account, lower, upper, p.Limit))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list home of %q", p.Account), err)
	}
	if asc {
		slices.Reverse(out)
	}
	return out, nil
}

func (q *queries) DeleteHomeEntriesByActivity(ctx context.Context, actorID, activityID string) (int64, error) {
	n, err := q.w.execN(ctx, `DELETE FROM home_entries WHERE actor_id = ? AND activity_id = ?`, actorID, activityID)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("delete home entries of %q", activityID), err)
	}
	return n, nil
}

func (q *queries) PruneHome(ctx context.Context, before time.Time) (entries, statuses int64, err error) {
	cut := before.UnixMicro()
	err = q.atomic(ctx, func(tq *queries) error {
		var err error
		statuses, err = tq.w.execN(ctx,
			`DELETE FROM remote_statuses WHERE id IN (SELECT remote_status_id FROM home_entries WHERE created_at < ?)
			 AND NOT EXISTS (SELECT 1 FROM home_entries h WHERE h.remote_status_id = remote_statuses.id AND h.created_at >= ?)
			 AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.remote_status_id = remote_statuses.id)
			 AND NOT EXISTS (SELECT 1 FROM own_reactions o WHERE o.remote_status_id = remote_statuses.id)
			 AND NOT EXISTS (SELECT 1 FROM statuses s WHERE s.in_reply_to_remote_id = remote_statuses.id)`, cut, cut)
		if err != nil {
			return err
		}
		entries, err = tq.w.execN(ctx, `DELETE FROM home_entries WHERE created_at < ?`, cut)
		return err
	})
	if err != nil {
		return 0, 0, q.d.wrap("prune home timelines", err)
	}
	return entries, statuses, nil
}
