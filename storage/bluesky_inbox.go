package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// This file keeps what the Bluesky mirror reads back: how far each
// account's Bluesky notifications were read, and the lookup of our own
// records by their at:// URI (the posts a notification is about).

// BlueskyInbox is how far an account's Bluesky notifications were read.
type BlueskyInbox struct {
	Account string
	// Newest is the indexedAt (RFC 3339, as the AppView writes it) of the
	// newest notification read; empty before the first poll.
	Newest string
	// SeenAt is the seenAt last sent to app.bsky.notification.updateSeen.
	SeenAt    string
	PolledAt  time.Time // zero: never polled
	ActiveAt  time.Time // the last poll that found something new
	Failures  int       // polls failed in a row
	LastError string
	UpdatedAt time.Time
}

// BlueskyReading is the storage of what the mirror reads back from
// Bluesky.
type BlueskyReading interface {
	// GetBlueskyInbox returns ErrNotFound before the account's first poll.
	GetBlueskyInbox(ctx context.Context, account string) (BlueskyInbox, error)
	// PutBlueskyInbox inserts or replaces the account's row (zero
	// UpdatedAt: now).
	PutBlueskyInbox(ctx context.Context, in BlueskyInbox) error
	// GetBlueskyRecordByURI returns the record of ours with that at://
	// URI (ErrNotFound: none).
	GetBlueskyRecordByURI(ctx context.Context, uri string) (BlueskyRecord, error)
}

const blueskyInboxColumns = `account, newest, seen_at, polled_at, active_at, failures, last_error, updated_at`

func (q *queries) GetBlueskyInbox(ctx context.Context, account string) (BlueskyInbox, error) {
	var (
		in             BlueskyInbox
		polled, active sql.NullInt64
		updated        int64
	)
	err := q.r.queryRow(ctx, `SELECT `+blueskyInboxColumns+` FROM bluesky_inbox WHERE account = ?`, account).
		Scan(&in.Account, &in.Newest, &in.SeenAt, &polled, &active, &in.Failures, &in.LastError, &updated)
	if err != nil {
		return BlueskyInbox{}, q.d.wrap(fmt.Sprintf("get bluesky inbox of %q", account), err)
	}
	in.PolledAt, in.ActiveAt = fromMicros(polled), fromMicros(active)
	in.UpdatedAt = time.UnixMicro(updated).UTC()
	return in, nil
}

func (q *queries) PutBlueskyInbox(ctx context.Context, in BlueskyInbox) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO bluesky_inbox (`+blueskyInboxColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account) DO UPDATE SET newest = excluded.newest, seen_at = excluded.seen_at,
		   polled_at = excluded.polled_at, active_at = excluded.active_at, failures = excluded.failures,
		   last_error = excluded.last_error, updated_at = excluded.updated_at`,
		in.Account, in.Newest, in.SeenAt, micros(in.PolledAt), micros(in.ActiveAt), in.Failures, in.LastError,
		orNow(in.UpdatedAt).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put bluesky inbox of %q", in.Account), err)
	}
	return nil
}

func (q *queries) GetBlueskyRecordByURI(ctx context.Context, uri string) (BlueskyRecord, error) {
	if uri == "" {
		return BlueskyRecord{}, q.d.wrap("get bluesky record by uri", ErrNotFound)
	}
	r, err := scanBlueskyRecord(q.r.queryRow(ctx,
		`SELECT `+blueskyRecordColumns+` FROM bluesky_records WHERE uri = ? ORDER BY position LIMIT 1`, uri))
	if err != nil {
		return BlueskyRecord{}, q.d.wrap(fmt.Sprintf("get bluesky record %q", uri), err)
	}
	return r, nil
}
