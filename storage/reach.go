package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Reach is what the console's reach page reads besides the counts kept
// elsewhere: the accounts' followers day by day on both networks, and the
// deliveries that failed or are being retried.
type Reach interface {
	// PutFollowerSnapshot records the account's followers of s.Day,
	// replacing an earlier sample of the same day; a sample without a
	// Bluesky count keeps the day's earlier one.
	PutFollowerSnapshot(ctx context.Context, s FollowerSnapshot) error
	// FollowerSnapshots returns the account's samples from day since
	// (YYYY-MM-DD) on, oldest first.
	FollowerSnapshots(ctx context.Context, account, since string) ([]FollowerSnapshot, error)
	// DeliveryProblems returns the jobs of kind that failed since `since`
	// or are waiting to be tried again after an error, the most recent
	// first, at most limit.
	DeliveryProblems(ctx context.Context, kind string, since time.Time, limit int) ([]DeliveryProblem, error)
}

// FollowerSnapshot is an account's followers on one UTC day.
type FollowerSnapshot struct {
	Account   string
	Day       string // YYYY-MM-DD
	Fediverse int64  // accepted followers
	// Bluesky is the Bluesky account's follower count, when BlueskyOK
	// (the account is mirrored and its profile was read).
	Bluesky   int64
	BlueskyOK bool
	TakenAt   time.Time
}

// DeliveryProblem is a job that failed or is being retried.
type DeliveryProblem struct {
	ID        int64
	Host      string
	Ref       string
	Payload   []byte
	LastError string
	Attempts  int
	Failed    bool      // given up; otherwise waiting for its next try
	At        time.Time // given up at, or its next try
}

func (s *store) PutFollowerSnapshot(ctx context.Context, fs FollowerSnapshot) error {
	var bsky any
	if fs.BlueskyOK {
		bsky = fs.Bluesky
	}
	_, err := s.w.exec(ctx,
		`INSERT INTO follower_snapshots (account, day, fediverse, bluesky, taken_at) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (account, day) DO UPDATE SET fediverse = excluded.fediverse,
		   bluesky = COALESCE(excluded.bluesky, follower_snapshots.bluesky), taken_at = excluded.taken_at`,
		fs.Account, fs.Day, fs.Fediverse, bsky, orNow(fs.TakenAt).UnixMicro())
	if err != nil {
		return s.d.wrap(fmt.Sprintf("put the follower snapshot of %q on %s", fs.Account, fs.Day), err)
	}
	return nil
}

func (s *store) FollowerSnapshots(ctx context.Context, account, since string) ([]FollowerSnapshot, error) {
	action := fmt.Sprintf("read the follower snapshots of %q", account)
	rows, err := s.r.query(ctx,
		`SELECT account, day, fediverse, bluesky, taken_at FROM follower_snapshots
		 WHERE account = ? AND day >= ? ORDER BY day`, account, since)
	if err != nil {
		return nil, s.d.wrap(action, err)
	}
	defer rows.Close()
	var out []FollowerSnapshot
	for rows.Next() {
		var (
			fs    FollowerSnapshot
			bsky  sql.NullInt64
			taken int64
		)
		if err := rows.Scan(&fs.Account, &fs.Day, &fs.Fediverse, &bsky, &taken); err != nil {
			return nil, s.d.wrap(action, err)
		}
		fs.Bluesky, fs.BlueskyOK = bsky.Int64, bsky.Valid
		fs.TakenAt = time.UnixMicro(taken).UTC()
		out = append(out, fs)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(action, err)
	}
	return out, nil
}

// deliveryProblemsQuery finds the failed jobs by when they were given up
// (index jobs_failed_at) and the retried ones among the pending and
// running (index jobs_status).
const deliveryProblemsQuery = `SELECT id, host, ref, payload, last_error, attempts, status, COALESCE(finished_at, run_at) AS at FROM jobs
	WHERE kind = ? AND ((status = 'failed' AND finished_at >= ?)
	   OR (status IN ('pending', 'running') AND attempts > 0 AND last_error <> ''))
	ORDER BY at DESC, id DESC LIMIT ?`

func (s *store) DeliveryProblems(ctx context.Context, kind string, since time.Time, limit int) ([]DeliveryProblem, error) {
	action := fmt.Sprintf("read the problems of %s jobs", kind)
	if limit <= 0 {
		return nil, nil
	}
	rows, err := s.r.query(ctx, deliveryProblemsQuery, kind, since.UnixMicro(), limit)
	if err != nil {
		return nil, s.d.wrap(action, err)
	}
	defer rows.Close()
	var out []DeliveryProblem
	for rows.Next() {
		var (
			p      DeliveryProblem
			status string
			at     int64
		)
		if err := rows.Scan(&p.ID, &p.Host, &p.Ref, &p.Payload, &p.LastError, &p.Attempts, &status, &at); err != nil {
			return nil, s.d.wrap(action, err)
		}
		p.Failed = status == JobFailed
		p.At = time.UnixMicro(at).UTC()
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(action, err)
	}
	return out, nil
}
