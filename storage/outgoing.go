package storage

import (
	"context"
	"fmt"
	"time"
)

func (q *queries) InsertOutgoingActivity(ctx context.Context, account string, body []byte, at time.Time) (int64, error) {
	id, err := q.insertRow(ctx, "outgoing_activities", "account, body, created_at", 0, account, blob(body), orNow(at).UnixMicro())
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("insert outgoing activity of %q", account), err)
	}
	return id, nil
}

func (q *queries) GetOutgoingActivity(ctx context.Context, id int64) ([]byte, error) {
	var body []byte
	if err := q.r.queryRow(ctx, `SELECT body FROM outgoing_activities WHERE id = ?`, id).Scan(&body); err != nil {
		return nil, q.d.wrap(fmt.Sprintf("get outgoing activity %d", id), err)
	}
	return body, nil
}

func (s *store) PruneOutgoingActivities(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.w.execN(ctx,
		`DELETE FROM outgoing_activities WHERE created_at < ?
		 AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.activity_id = outgoing_activities.id
		                 AND jobs.status IN ('pending', 'running'))`, before.UnixMicro())
	if err != nil {
		return 0, s.d.wrap("prune outgoing activities", err)
	}
	return n, nil
}
