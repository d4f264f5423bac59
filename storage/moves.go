package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// This file keeps account moves (docs/history.md#moving-accounts): an
// account that moved out to another actor, the windows during which
// followers of an old account are expected to move in, and which
// followers arrived that way.

// MoveOut records that one of our accounts moved to another actor.
type MoveOut struct {
	Account      string
	Target       string // the new actor IRI (movedTo)
	TargetHandle string // user@domain of the new account
	TargetURL    string // its HTML profile page
	ActivityID   string // the Move sent to the followers
	MovedAt      time.Time
}

// Sources of a move-in window.
const (
	MoveInReceived = "move"   // a Move from the old account reached us
	MoveInExpected = "expect" // an admin opened it (bridge move-in expect)
)

// MoveIn is a window during which Follows of Account are accepted without
// manual approval and counted as moved in from Origin.
type MoveIn struct {
	Account    string
	Origin     string // the old actor IRI
	Source     string // MoveInReceived or MoveInExpected
	ActivityID string // the Move received; empty when expected
	OpenedAt   time.Time
	Until      time.Time
}

// MovedInFollower is a follower who came with a move.
type MovedInFollower struct {
	ActorID    string
	MovedFrom  string // the old actor IRI
	State      string
	AcceptedAt time.Time // zero while pending
}

// Moves is the storage of account moves.
type Moves interface {
	// PutMoveOut inserts or replaces the move of m.Account; a zero
	// MovedAt means now.
	PutMoveOut(ctx context.Context, m MoveOut) error
	// GetMoveOut returns ErrNotFound for an account that has not moved.
	GetMoveOut(ctx context.Context, account string) (MoveOut, error)

	// PutMoveIn inserts or replaces the window of (Account, Origin); a
	// zero OpenedAt means now. An Until not after OpenedAt closes it.
	PutMoveIn(ctx context.Context, m MoveIn) error
	// ListMovesIn lists the account's windows, most recently opened first.
	ListMovesIn(ctx context.Context, account string) ([]MoveIn, error)
	// OpenMoveIn returns the account's window open at `at` (the one open
	// the longest when several are), or ErrNotFound.
	OpenMoveIn(ctx context.Context, account string, at time.Time) (MoveIn, error)

	// SetFollowerMovedFrom marks a follower as moved in from origin
	// (empty: not moved in). ErrNotFound when there is no such follower.
	SetFollowerMovedFrom(ctx context.Context, account, actorID, origin string) error
	// CountFollowersMovedIn counts the account's accepted followers who
	// moved in.
	CountFollowersMovedIn(ctx context.Context, account string) (int64, error)
	// ListFollowersMovedIn lists the account's followers who moved in
	// (any state), ordered by actor id, after `after`, at most limit.
	ListFollowersMovedIn(ctx context.Context, account, after string, limit int) ([]MovedInFollower, error)
}

func (q *queries) PutMoveOut(ctx context.Context, m MoveOut) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO moved_out (account, target, target_handle, target_url, activity_id, moved_at)
		 VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account) DO UPDATE SET target = excluded.target, target_handle = excluded.target_handle,
		   target_url = excluded.target_url, activity_id = excluded.activity_id, moved_at = excluded.moved_at`,
		m.Account, m.Target, m.TargetHandle, m.TargetURL, m.ActivityID, orNow(m.MovedAt).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put move of %q", m.Account), err)
	}
	return nil
}

func (q *queries) GetMoveOut(ctx context.Context, account string) (MoveOut, error) {
	m := MoveOut{Account: account}
	var at int64
	err := q.r.queryRow(ctx,
		`SELECT target, target_handle, target_url, activity_id, moved_at FROM moved_out WHERE account = ?`, account,
	).Scan(&m.Target, &m.TargetHandle, &m.TargetURL, &m.ActivityID, &at)
	if err != nil {
		return MoveOut{}, q.d.wrap(fmt.Sprintf("get move of %q", account), err)
	}
	m.MovedAt = time.UnixMicro(at).UTC()
	return m, nil
}

const moveInColumns = `account, origin, source, activity_id, opened_at, open_until`

func scanMoveIn(s scanner) (MoveIn, error) {
	var (
		m             MoveIn
		opened, until int64
	)
	err := s.Scan(&m.Account, &m.Origin, &m.Source, &m.ActivityID, &opened, &until)
	m.OpenedAt = time.UnixMicro(opened).UTC()
	m.Until = time.UnixMicro(until).UTC()
	return m, err
}

func (q *queries) PutMoveIn(ctx context.Context, m MoveIn) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO move_ins (`+moveInColumns+`) VALUES (?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account, origin) DO UPDATE SET source = excluded.source, activity_id = excluded.activity_id,
		   opened_at = excluded.opened_at, open_until = excluded.open_until`,
		m.Account, m.Origin, m.Source, m.ActivityID, orNow(m.OpenedAt).UnixMicro(), m.Until.UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put move-in of %q from %q", m.Account, m.Origin), err)
	}
	return nil
}

func (q *queries) ListMovesIn(ctx context.Context, account string) ([]MoveIn, error) {
	out, err := collect(scanMoveIn)(q.r.query(ctx,
		`SELECT `+moveInColumns+` FROM move_ins WHERE account = ? ORDER BY opened_at DESC, origin`, account))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list moves-in of %q", account), err)
	}
	return out, nil
}

func (q *queries) OpenMoveIn(ctx context.Context, account string, at time.Time) (MoveIn, error) {
	m, err := scanMoveIn(q.r.queryRow(ctx,
		`SELECT `+moveInColumns+` FROM move_ins WHERE account = ? AND opened_at <= ? AND open_until > ?
		 ORDER BY open_until DESC, origin LIMIT 1`, account, at.UnixMicro(), at.UnixMicro()))
	if err != nil {
		return MoveIn{}, q.d.wrap(fmt.Sprintf("open move-in of %q", account), err)
	}
	return m, nil
}

func (q *queries) SetFollowerMovedFrom(ctx context.Context, account, actorID, origin string) error {
	n, err := q.w.execN(ctx,
		`UPDATE followers SET moved_from = ? WHERE account = ? AND actor_id = ?`, origin, account, actorID)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("mark follower %q of %q moved in", actorID, account), err)
	}
	return nil
}

func (q *queries) CountFollowersMovedIn(ctx context.Context, account string) (int64, error) {
	var n int64
	err := q.r.queryRow(ctx,
		`SELECT COUNT(*) FROM followers WHERE account = ? AND moved_from <> '' AND state = ?`,
		account, FollowerAccepted).Scan(&n)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("count followers of %q moved in", account), err)
	}
	return n, nil
}

func scanMovedIn(s scanner) (MovedInFollower, error) {
	var (
		f        MovedInFollower
		accepted sql.NullInt64
	)
	err := s.Scan(&f.ActorID, &f.MovedFrom, &f.State, &accepted)
	f.AcceptedAt = fromMicros(accepted)
	return f, err
}

func (q *queries) ListFollowersMovedIn(ctx context.Context, account, after string, limit int) ([]MovedInFollower, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := collect(scanMovedIn)(q.r.query(ctx,
		`SELECT actor_id, moved_from, state, accepted_at FROM followers
		 WHERE account = ? AND moved_from <> '' AND actor_id > ? ORDER BY actor_id LIMIT ?`, account, after, limit))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list followers of %q moved in", account), err)
	}
	return out, nil
}
