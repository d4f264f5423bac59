package storage

import (
	"context"
	"fmt"
	"time"
)

// completeJobsChunk is the number of ids of one CompleteJobs statement. The
// size is fixed (a shorter chunk repeats its last id) so that one prepared
// statement serves every call.
const completeJobsChunk = 64

var completeJobsQuery = `UPDATE jobs SET status = 'done', finished_at = ?, lease_owner = '', lease_until = NULL
	WHERE lease_owner = ? AND status = 'running' AND id IN (` + placeholders(completeJobsChunk) + `)`

// CompleteJobs marks done the jobs among ids that owner leases, 64 per
// statement (one transaction each: every job stands alone).
func (s *store) CompleteJobs(ctx context.Context, ids []int64, owner string) (int64, error) {
	var done int64
	args := make([]any, 2+completeJobsChunk)
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), completeJobsChunk)]
		ids = ids[len(chunk):]
		args[0], args[1] = time.Now().UnixMicro(), owner
		for i := range completeJobsChunk {
			args[2+i] = chunk[min(i, len(chunk)-1)]
		}
		n, err := s.w.execN(ctx, completeJobsQuery, args...)
		if err != nil {
			return done, s.d.wrap(fmt.Sprintf("complete %d jobs", len(chunk)), err)
		}
		done += n
	}
	return done, nil
}

// RenewJobLeases extends to until the leases owner holds on its running
// jobs of kinds (all kinds when empty): the heartbeat of a worker whose
// jobs run longer than their lease.
func (s *store) RenewJobLeases(ctx context.Context, owner string, kinds []string, until time.Time) (int64, error) {
	query := `UPDATE jobs SET lease_until = ? WHERE status = 'running' AND lease_owner = ?`
	args := make([]any, 0, 2+len(kinds))
	args = append(args, until.UnixMicro(), owner)
	if len(kinds) > 0 {
		query += ` AND kind IN (` + placeholders(len(kinds)) + `)`
		for _, k := range kinds {
			args = append(args, k)
		}
	}
	n, err := s.w.execN(ctx, query, args...)
	if err != nil {
		return 0, s.d.wrap(fmt.Sprintf("renew the job leases of %q", owner), err)
	}
	return n, nil
}
