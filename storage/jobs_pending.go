package storage

import (
	"context"
	"fmt"
	"time"
)

// PendingJobs reads and changes jobs that have not run yet: the scheduled
// statuses a client lists, moves or cancels before their time.
type PendingJobs interface {
	// ListJobsByRef returns the jobs of kind with ref in state status
	// (any state when empty), ordered by id, at most limit.
	ListJobsByRef(ctx context.Context, kind, ref, status string, limit int) ([]Job, error)
	// RescheduleJob moves a pending job of kind to runAt. ErrNotFound
	// when there is no such job or it is no longer pending (claimed,
	// done, failed or deleted).
	RescheduleJob(ctx context.Context, id int64, kind string, runAt time.Time) error
	// DeletePendingJob deletes a pending job of kind, with ErrNotFound as
	// RescheduleJob. A claimed job cannot be deleted: it is running.
	DeletePendingJob(ctx context.Context, id int64, kind string) error
}

func (s *store) ListJobsByRef(ctx context.Context, kind, ref, status string, limit int) ([]Job, error) {
	if limit <= 0 {
		return nil, nil
	}
	query := `SELECT ` + jobColumns + ` FROM jobs WHERE ref = ? AND kind = ?`
	args := []any{ref, kind}
	if status != "" {
		query += ` AND status = ?`
		args = append(args, status)
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	out, err := collect(scanJob)(s.r.query(ctx, query, args...))
	if err != nil {
		return nil, s.d.wrap(fmt.Sprintf("list %q jobs of ref %q", kind, ref), err)
	}
	return out, nil
}

func (s *store) RescheduleJob(ctx context.Context, id int64, kind string, runAt time.Time) error {
	n, err := s.w.execN(ctx,
		`UPDATE jobs SET run_at = ? WHERE id = ? AND kind = ? AND status = 'pending'`,
		orNow(runAt).UnixMicro(), id, kind)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return s.d.wrap(fmt.Sprintf("reschedule job %d", id), err)
	}
	return nil
}

func (s *store) DeletePendingJob(ctx context.Context, id int64, kind string) error {
	n, err := s.w.execN(ctx, `DELETE FROM jobs WHERE id = ? AND kind = ? AND status = 'pending'`, id, kind)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return s.d.wrap(fmt.Sprintf("delete pending job %d", id), err)
	}
	return nil
}
