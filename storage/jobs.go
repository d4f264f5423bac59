package storage

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"
)

const jobColumns = `id, kind, payload, COALESCE(job_key, ''), host, ref, status, attempts, run_at, created_at, lease_owner, lease_until, last_error`

func scanJob(s scanner) (Job, error) {
	var (
		j              Job
		runAt, created int64
		leaseUntil     sql.NullInt64
	)
	err := s.Scan(&j.ID, &j.Kind, &j.Payload, &j.Key, &j.Host, &j.Ref, &j.Status, &j.Attempts,
		&runAt, &created, &j.LeaseOwner, &leaseUntil, &j.LastError)
	j.RunAt = time.UnixMicro(runAt).UTC()
	j.CreatedAt = time.UnixMicro(created).UTC()
	j.LeaseUntil = fromMicros(leaseUntil)
	return j, err
}

// claimQuery picks due jobs in (run_at, id) order and leases them, in one
// statement. A running job's run_at is at most its claim time, which is
// before its lease expires, so "run_at <= now" holds for both kinds of due
// job: the partial index jobs_due yields them in order and the scan stops
// after limit rows, however long the backlog.
func (s *store) claimQuery(kinds int) string {
	kindFilter := ""
	if kinds > 0 {
		kindFilter = ` AND kind IN (` + placeholders(kinds) + `)`
	}
	return `UPDATE jobs SET status = 'running', attempts = attempts + 1, lease_owner = ?, lease_until = ?
		WHERE id IN (
			SELECT id FROM ` + s.d.claimFrom + `
			WHERE status IN ('pending', 'running') AND run_at <= ?
			  AND (status = 'pending' OR lease_until < ?)` + kindFilter + `
			ORDER BY run_at, id LIMIT ?` + s.d.claimLock + `)
		RETURNING ` + jobColumns
}

func (s *store) ClaimJobs(ctx context.Context, owner string, kinds []string, limit int, lease time.Duration, now time.Time) ([]Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	args := make([]any, 0, 5+len(kinds))
	args = append(args, owner, now.Add(lease).UnixMicro(), now.UnixMicro(), now.UnixMicro())
	for _, k := range kinds {
		args = append(args, k)
	}
	args = append(args, limit)
	rows, err := s.w.query(ctx, s.claimQuery(len(kinds)), args...)
	if err != nil {
		return nil, s.d.wrap("claim jobs", err)
	}
	defer rows.Close()
	var jobs []Job
	for rows.Next() {
		j, err := scanJob(rows)
		if err != nil {
			return nil, s.d.wrap("claim jobs", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap("claim jobs", err)
	}
	// RETURNING gives no order.
	slices.SortFunc(jobs, func(a, b Job) int {
		if c := a.RunAt.Compare(b.RunAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return jobs, nil
}

// finishJob runs an update guarded by the lease: ErrLeaseLost when owner no
// longer runs job id. query's last two placeholders are id and owner.
func (s *store) finishJob(ctx context.Context, action, query string, args ...any) error {
	n, err := s.w.execN(ctx, query, args...)
	if err == nil && n == 0 {
		err = ErrLeaseLost
	}
	if err != nil {
		return s.d.wrap(action, err)
	}
	return nil
}

func (s *store) CompleteJob(ctx context.Context, id int64, owner string) error {
	return s.finishJob(ctx, fmt.Sprintf("complete job %d", id),
		`UPDATE jobs SET status = 'done', finished_at = ?, lease_owner = '', lease_until = NULL
		 WHERE id = ? AND lease_owner = ? AND status = 'running'`,
		time.Now().UnixMicro(), id, owner)
}

func (s *store) RetryJob(ctx context.Context, id int64, owner string, runAt time.Time, errMsg string) error {
	return s.finishJob(ctx, fmt.Sprintf("retry job %d", id),
		`UPDATE jobs SET status = 'pending', run_at = ?, last_error = ?, lease_owner = '', lease_until = NULL
		 WHERE id = ? AND lease_owner = ? AND status = 'running'`,
		orNow(runAt).UnixMicro(), errMsg, id, owner)
}

func (s *store) FailJob(ctx context.Context, id int64, owner string, errMsg string) error {
	return s.finishJob(ctx, fmt.Sprintf("fail job %d", id),
		`UPDATE jobs SET status = 'failed', last_error = ?, finished_at = ?, lease_owner = '', lease_until = NULL
		 WHERE id = ? AND lease_owner = ? AND status = 'running'`,
		errMsg, time.Now().UnixMicro(), id, owner)
}

func (s *store) ReleaseJobs(ctx context.Context, owner string) error {
	now := time.Now().UnixMicro()
	_, err := s.w.exec(ctx,
		`UPDATE jobs SET status = 'pending', lease_owner = '', lease_until = NULL,
		        attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
		        run_at = CASE WHEN run_at > ? THEN ? ELSE run_at END
		 WHERE status = 'running' AND lease_owner = ?`,
		now, now, owner)
	if err != nil {
		return s.d.wrap(fmt.Sprintf("release jobs of %q", owner), err)
	}
	return nil
}

func (s *store) GetJob(ctx context.Context, id int64) (Job, error) {
	j, err := scanJob(s.r.queryRow(ctx, `SELECT `+jobColumns+` FROM jobs WHERE id = ?`, id))
	if err != nil {
		return Job{}, s.d.wrap(fmt.Sprintf("get job %d", id), err)
	}
	return j, nil
}

func (s *store) JobStats(ctx context.Context, now time.Time) (JobStats, error) {
	var (
		st     JobStats
		oldest sql.NullInt64
	)
	err := s.r.queryRow(ctx,
		`SELECT (SELECT COUNT(*) FROM jobs WHERE status = 'pending'),
		        (SELECT COUNT(*) FROM jobs WHERE status = 'running'),
		        (SELECT COUNT(*) FROM jobs WHERE status = 'failed'),
		        (SELECT MIN(run_at) FROM jobs WHERE status = 'pending' AND run_at <= ?)`,
		now.UnixMicro(),
	).Scan(&st.Pending, &st.Running, &st.Failed, &oldest)
	if err != nil {
		return JobStats{}, s.d.wrap("job stats", err)
	}
	if oldest.Valid {
		st.OldestPending = now.Sub(fromMicros(oldest))
	}
	return st, nil
}

func (s *store) RefStats(ctx context.Context, ref string) (RefStats, error) {
	action := fmt.Sprintf("job stats of ref %q", ref)
	rows, err := s.r.query(ctx, `SELECT status, COUNT(*) FROM jobs WHERE ref = ? GROUP BY status`, ref)
	if err != nil {
		return RefStats{}, s.d.wrap(action, err)
	}
	defer rows.Close()
	var st RefStats
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return RefStats{}, s.d.wrap(action, err)
		}
		switch status {
		case JobPending, JobRunning:
			st.Pending += n
		case JobDone:
			st.Done += n
		case JobFailed:
			st.Failed += n
		}
	}
	if err := rows.Err(); err != nil {
		return RefStats{}, s.d.wrap(action, err)
	}
	return st, nil
}

func (s *store) PruneJobs(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w.execN(ctx, `DELETE FROM jobs WHERE status = 'done' AND finished_at < ?`, before.UnixMicro())
	if err != nil {
		return 0, s.d.wrap("prune jobs", err)
	}
	return n, nil
}

func (s *store) PruneActivities(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w.execN(ctx, `DELETE FROM processed_activities WHERE received_at < ?`, before.UnixMicro())
	if err != nil {
		return 0, s.d.wrap("prune processed activities", err)
	}
	return n, nil
}
