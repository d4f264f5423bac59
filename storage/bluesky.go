package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// This file keeps the Bluesky mirror's state: each account's session
// (tokens as opaque bytes, sealed by the caller), each status's mirror
// state, and the records a status became on Bluesky.

// Bluesky mirror states of a status (BlueskyPost.State).
const (
	BlueskyPending  = "pending"  // queued, or being retried
	BlueskyMirrored = "mirrored" // every record exists
	BlueskyFailed   = "failed"   // given up; LastError says why
	BlueskyDeleted  = "deleted"  // every record deleted
	BlueskySkipped  = "skipped"  // not mirrored on purpose (e.g. followers-only)
)

// Bluesky record kinds (BlueskyRecord.Kind).
const (
	BlueskyKindPost       = "post"
	BlueskyKindThreadgate = "threadgate"
	BlueskyKindPostgate   = "postgate"
)

// BlueskySession is an account's Bluesky session and the mirror's health
// for that account.
type BlueskySession struct {
	Account string // our username
	DID     string // empty until the first login
	Handle  string
	PDSURL  string
	// AccessJWT and RefreshJWT are opaque to storage (sealed by the
	// caller); empty when there is no session.
	AccessJWT  []byte
	RefreshJWT []byte
	// State and LastError describe the account's mirror for the admin
	// ("active", "login failed", ...); free text for storage.
	State     string
	LastError string
	// PausedUntil: the account's jobs wait until then (zero: not paused).
	PausedUntil time.Time
	UpdatedAt   time.Time
}

// BlueskyPost is the mirror state of one status.
type BlueskyPost struct {
	StatusID  int64
	Account   string
	Version   int64 // bumped by every create, edit and delete of the status
	State     string
	LastError string
	UpdatedAt time.Time
}

// BlueskyRecord is one record a status became on Bluesky: a post of its
// thread (position 0 first), or the threadgate or postgate of a post (same
// position and record key as that post). A planned record has its record
// key but no URI and CID yet.
type BlueskyRecord struct {
	StatusID  int64
	Kind      string
	Position  int
	Account   string
	RKey      string
	URI       string
	CID       string
	CreatedAt time.Time
}

// Bluesky is the storage of the Bluesky mirror.
type Bluesky interface {
	// GetBlueskySession returns ErrNotFound when the account has none.
	GetBlueskySession(ctx context.Context, account string) (BlueskySession, error)
	// PutBlueskySession inserts or replaces the account's session (zero
	// UpdatedAt: now).
	PutBlueskySession(ctx context.Context, s BlueskySession) error
	// SetBlueskySessionState sets state, last error and pause of the
	// account's session, keeping its tokens; a row without tokens is
	// created when the account has none.
	SetBlueskySessionState(ctx context.Context, account, state, lastError string, pausedUntil, at time.Time) error

	// BumpBlueskyPost starts a new version of the status's mirror (1 for
	// the first), in state BlueskyPending, and returns it.
	BumpBlueskyPost(ctx context.Context, statusID int64, account string, at time.Time) (int64, error)
	// GetBlueskyPost returns ErrNotFound for a status that was never
	// mirrored.
	GetBlueskyPost(ctx context.Context, statusID int64) (BlueskyPost, error)
	// SetBlueskyPostState records the state of version; it changes nothing
	// and returns false when the status has a newer version (or none).
	SetBlueskyPostState(ctx context.Context, statusID, version int64, state, lastError string, at time.Time) (bool, error)

	// PutBlueskyRecord inserts or replaces the record at (StatusID, Kind,
	// Position); zero CreatedAt: now.
	PutBlueskyRecord(ctx context.Context, r BlueskyRecord) error
	// ListBlueskyRecords returns a status's records by position, posts
	// before their threadgate and postgate.
	ListBlueskyRecords(ctx context.Context, statusID int64) ([]BlueskyRecord, error)
	// DeleteBlueskyRecord forgets one record; forgetting an absent one is
	// no error.
	DeleteBlueskyRecord(ctx context.Context, statusID int64, kind string, position int) error

	// RescheduleJobs makes the pending jobs of kind and host due later
	// than at due at at, and returns how many (the mirror resumes a
	// paused account's jobs).
	RescheduleJobs(ctx context.Context, kind, host string, at time.Time) (int64, error)
}

const blueskySessionColumns = `account, did, handle, pds_url, access_jwt, refresh_jwt, state, last_error, paused_until, updated_at`

func (q *queries) GetBlueskySession(ctx context.Context, account string) (BlueskySession, error) {
	var (
		s       BlueskySession
		paused  sql.NullInt64
		updated int64
	)
	err := q.r.queryRow(ctx, `SELECT `+blueskySessionColumns+` FROM bluesky_sessions WHERE account = ?`, account).
		Scan(&s.Account, &s.DID, &s.Handle, &s.PDSURL, &s.AccessJWT, &s.RefreshJWT, &s.State, &s.LastError, &paused, &updated)
	if err != nil {
		return BlueskySession{}, q.d.wrap(fmt.Sprintf("get bluesky session of %q", account), err)
	}
	s.AccessJWT, s.RefreshJWT = orNil(s.AccessJWT), orNil(s.RefreshJWT)
	s.PausedUntil = fromMicros(paused)
	s.UpdatedAt = time.UnixMicro(updated).UTC()
	return s, nil
}

func (q *queries) PutBlueskySession(ctx context.Context, s BlueskySession) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO bluesky_sessions (`+blueskySessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account) DO UPDATE SET did = excluded.did, handle = excluded.handle, pds_url = excluded.pds_url,
		   access_jwt = excluded.access_jwt, refresh_jwt = excluded.refresh_jwt, state = excluded.state,
		   last_error = excluded.last_error, paused_until = excluded.paused_until, updated_at = excluded.updated_at`,
		s.Account, s.DID, s.Handle, s.PDSURL, blob(s.AccessJWT), blob(s.RefreshJWT), s.State, s.LastError,
		micros(s.PausedUntil), orNow(s.UpdatedAt).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put bluesky session of %q", s.Account), err)
	}
	return nil
}

func (q *queries) SetBlueskySessionState(ctx context.Context, account, state, lastError string, pausedUntil, at time.Time) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO bluesky_sessions (`+blueskySessionColumns+`) VALUES (?, '', '', '', ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account) DO UPDATE SET state = excluded.state, last_error = excluded.last_error,
		   paused_until = excluded.paused_until, updated_at = excluded.updated_at`,
		account, []byte{}, []byte{}, state, lastError, micros(pausedUntil), orNow(at).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("set bluesky session state of %q", account), err)
	}
	return nil
}

func (q *queries) BumpBlueskyPost(ctx context.Context, statusID int64, account string, at time.Time) (int64, error) {
	var v int64
	err := q.w.queryRow(ctx,
		`INSERT INTO bluesky_posts (status_id, account, version, state, last_error, updated_at)
		 VALUES (?, ?, 1, ?, '', ?)
		 ON CONFLICT (status_id) DO UPDATE SET version = bluesky_posts.version + 1, state = excluded.state,
		   last_error = '', updated_at = excluded.updated_at
		 RETURNING version`,
		statusID, account, BlueskyPending, orNow(at).UnixMicro()).Scan(&v)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("bump bluesky post %d", statusID), err)
	}
	return v, nil
}

func (q *queries) GetBlueskyPost(ctx context.Context, statusID int64) (BlueskyPost, error) {
	var (
		p       BlueskyPost
		updated int64
	)
	err := q.r.queryRow(ctx,
		`SELECT status_id, account, version, state, last_error, updated_at FROM bluesky_posts WHERE status_id = ?`, statusID,
	).Scan(&p.StatusID, &p.Account, &p.Version, &p.State, &p.LastError, &updated)
	if err != nil {
		return BlueskyPost{}, q.d.wrap(fmt.Sprintf("get bluesky post %d", statusID), err)
	}
	p.UpdatedAt = time.UnixMicro(updated).UTC()
	return p, nil
}

func (q *queries) SetBlueskyPostState(ctx context.Context, statusID, version int64, state, lastError string, at time.Time) (bool, error) {
	n, err := q.w.execN(ctx,
		`UPDATE bluesky_posts SET state = ?, last_error = ?, updated_at = ? WHERE status_id = ? AND version = ?`,
		state, lastError, orNow(at).UnixMicro(), statusID, version)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("set state of bluesky post %d", statusID), err)
	}
	return n == 1, nil
}

const blueskyRecordColumns = `status_id, kind, position, account, rkey, uri, cid, created_at`

func (q *queries) PutBlueskyRecord(ctx context.Context, r BlueskyRecord) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO bluesky_records (`+blueskyRecordColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (status_id, kind, position) DO UPDATE SET account = excluded.account, rkey = excluded.rkey,
		   uri = excluded.uri, cid = excluded.cid, created_at = excluded.created_at`,
		r.StatusID, r.Kind, r.Position, r.Account, r.RKey, r.URI, r.CID, orNow(r.CreatedAt).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put bluesky %s %d of status %d", r.Kind, r.Position, r.StatusID), err)
	}
	return nil
}

func scanBlueskyRecord(s scanner) (BlueskyRecord, error) {
	var (
		r       BlueskyRecord
		created int64
	)
	err := s.Scan(&r.StatusID, &r.Kind, &r.Position, &r.Account, &r.RKey, &r.URI, &r.CID, &created)
	r.CreatedAt = time.UnixMicro(created).UTC()
	return r, err
}

func (q *queries) ListBlueskyRecords(ctx context.Context, statusID int64) ([]BlueskyRecord, error) {
	out, err := collect(scanBlueskyRecord)(q.r.query(ctx,
		`SELECT `+blueskyRecordColumns+` FROM bluesky_records WHERE status_id = ?
		 ORDER BY position, CASE kind WHEN 'post' THEN 0 WHEN 'threadgate' THEN 1 ELSE 2 END`, statusID))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list bluesky records of status %d", statusID), err)
	}
	return out, nil
}

func (q *queries) DeleteBlueskyRecord(ctx context.Context, statusID int64, kind string, position int) error {
	_, err := q.w.exec(ctx, `DELETE FROM bluesky_records WHERE status_id = ? AND kind = ? AND position = ?`,
		statusID, kind, position)
	if err != nil {
		return q.d.wrap(fmt.Sprintf("delete bluesky %s %d of status %d", kind, position, statusID), err)
	}
	return nil
}

func (q *queries) RescheduleJobs(ctx context.Context, kind, host string, at time.Time) (int64, error) {
	n, err := q.w.execN(ctx,
		`UPDATE jobs SET run_at = ? WHERE status = 'pending' AND kind = ? AND host = ? AND run_at > ?`,
		at.UnixMicro(), kind, host, at.UnixMicro())
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("reschedule %q jobs of %q", kind, host), err)
	}
	return n, nil
}
