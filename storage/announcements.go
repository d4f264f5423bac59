package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// This file keeps what was last announced of each of our actors: the
// digest of the actor document its followers' servers were last sent (in
// an Update), and a sequence number that makes every Update's id unique.

// ActorAnnouncement is the last announced state of one account's actor.
type ActorAnnouncement struct {
	Account     string
	Digest      string
	Seq         int64 // 1 for the first, +1 for each announcement
	AnnouncedAt time.Time
}

// Announcements is the storage of actor announcements.
type Announcements interface {
	// GetActorAnnouncement returns ErrNotFound for an account never
	// announced.
	GetActorAnnouncement(ctx context.Context, account string) (ActorAnnouncement, error)
	// SwapActorAnnouncement records digest as announced when the stored
	// digest is still old (old "": none stored yet), and returns the new
	// sequence number; swapped is false when the stored digest was not
	// old (another process announced first): nothing is changed then.
	SwapActorAnnouncement(ctx context.Context, account, old, digest string, at time.Time) (seq int64, swapped bool, err error)
	// BumpActorAnnouncement records digest as announced whatever was
	// stored, and returns the new sequence number.
	BumpActorAnnouncement(ctx context.Context, account, digest string, at time.Time) (int64, error)
}

func (q *queries) GetActorAnnouncement(ctx context.Context, account string) (ActorAnnouncement, error) {
	a := ActorAnnouncement{Account: account}
	var at int64
	err := q.r.queryRow(ctx, `SELECT digest, seq, announced_at FROM actor_announcements WHERE account = ?`, account).
		Scan(&a.Digest, &a.Seq, &at)
	if err != nil {
		return ActorAnnouncement{}, q.d.wrap(fmt.Sprintf("get actor announcement of %q", account), err)
	}
	a.AnnouncedAt = time.UnixMicro(at).UTC()
	return a, nil
}

func (q *queries) SwapActorAnnouncement(ctx context.Context, account, old, digest string, at time.Time) (int64, bool, error) {
	action := fmt.Sprintf("swap actor announcement of %q", account)
	var (
		seq int64
		err error
	)
	if old == "" {
		err = q.w.queryRow(ctx,
			`INSERT INTO actor_announcements (account, digest, seq, announced_at) VALUES (?, ?, 1, ?)
			 ON CONFLICT (account) DO NOTHING RETURNING seq`,
			account, digest, orNow(at).UnixMicro()).Scan(&seq)
	} else {
		err = q.w.queryRow(ctx,
			`UPDATE actor_announcements SET digest = ?, seq = seq + 1, announced_at = ?
			 WHERE account = ? AND digest = ? RETURNING seq`,
			digest, orNow(at).UnixMicro(), account, old).Scan(&seq)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, q.d.wrap(action, err)
	}
	return seq, true, nil
}

func (q *queries) BumpActorAnnouncement(ctx context.Context, account, digest string, at time.Time) (int64, error) {
	var seq int64
	err := q.w.queryRow(ctx,
		`INSERT INTO actor_announcements (account, digest, seq, announced_at) VALUES (?, ?, 1, ?)
		 ON CONFLICT (account) DO UPDATE SET digest = excluded.digest, seq = actor_announcements.seq + 1,
		   announced_at = excluded.announced_at
		 RETURNING seq`,
		account, digest, orNow(at).UnixMicro()).Scan(&seq)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("bump actor announcement of %q", account), err)
	}
	return seq, nil
}
