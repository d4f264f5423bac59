package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// This file keeps the polls of our statuses and the votes remote actors
// send them (issue 19).

// NotificationPoll tells an account that its poll ended (Mastodon's
// "poll" notification).
const NotificationPoll = "poll"

// Poll is the poll of one of our statuses, with its tallies.
type Poll struct {
	StatusID   int64
	Account    string
	Options    []PollOption // in order; Votes filled by GetPoll
	Multiple   bool
	HideTotals bool
	ExpiresAt  time.Time
	ClosedAt   time.Time // zero until its end was processed
	CreatedAt  time.Time
	// VotersCount is how many actors voted (GetPoll).
	VotersCount int64
}

// PollOption is one choice of a poll and its votes.
type PollOption struct {
	Title string
	Votes int64
}

// VotesCount is the sum of the options' votes.
func (p Poll) VotesCount() int64 {
	var n int64
	for _, o := range p.Options {
		n += o.Votes
	}
	return n
}

// PollVote is a remote actor's vote for one option.
type PollVote struct {
	StatusID   int64
	ActorID    string
	Choice     int    // the option's position, from 0
	ActivityID string // the voting Note's id
	CreatedAt  time.Time
}

// Polls is the storage of polls.
type Polls interface {
	// InsertPoll stores the poll of a status (its options with it);
	// ErrAlreadyExists when the status has one.
	InsertPoll(ctx context.Context, p Poll) error
	// GetPoll returns a status's poll with its tallies, or ErrNotFound.
	GetPoll(ctx context.Context, statusID int64) (Poll, error)
	// InsertPollVote records a vote of an open poll (not closed) and
	// reports whether it counted: false when the actor had already voted
	// (single choice: for any option; multiple: for this option), or the
	// poll is closed or unknown. Choice is not checked against the options.
	InsertPollVote(ctx context.Context, v PollVote) (bool, error)
	// ListPollVoters lists the actors who voted in a poll, by actor id.
	ListPollVoters(ctx context.Context, statusID int64) ([]string, error)
	// ClosePoll marks a poll closed at `at` and reports whether this call
	// closed it (false: already closed, or no such poll).
	ClosePoll(ctx context.Context, statusID int64, at time.Time) (bool, error)
}

func (q *queries) InsertPoll(ctx context.Context, p Poll) error {
	return q.atomic(ctx, func(tq *queries) error {
		if _, err := tq.w.exec(ctx,
			`INSERT INTO polls (status_id, account, multiple, hide_totals, expires_at, closed_at, created_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.StatusID, p.Account, p.Multiple, p.HideTotals, p.ExpiresAt.UnixMicro(), micros(p.ClosedAt),
			orNow(p.CreatedAt).UnixMicro()); err != nil {
			return q.d.wrap(fmt.Sprintf("insert poll of status %d", p.StatusID), err)
		}
		for i, o := range p.Options {
			if _, err := tq.w.exec(ctx, `INSERT INTO poll_options (status_id, position, title) VALUES (?, ?, ?)`,
				p.StatusID, i, o.Title); err != nil {
				return q.d.wrap(fmt.Sprintf("insert option %d of the poll of status %d", i, p.StatusID), err)
			}
		}
		return nil
	})
}

func (q *queries) GetPoll(ctx context.Context, statusID int64) (Poll, error) {
	action := fmt.Sprintf("get poll of status %d", statusID)
	p := Poll{StatusID: statusID}
	var expires, created int64
	var closed sql.NullInt64
	err := q.r.queryRow(ctx,
		`SELECT account, multiple, hide_totals, expires_at, closed_at, created_at,
		   (SELECT COUNT(DISTINCT actor_id) FROM poll_votes v WHERE v.status_id = p.status_id)
		 FROM polls p WHERE status_id = ?`, statusID).
		Scan(&p.Account, &p.Multiple, &p.HideTotals, &expires, &closed, &created, &p.VotersCount)
	if err != nil {
		return Poll{}, q.d.wrap(action, err)
	}
	p.ExpiresAt, p.CreatedAt, p.ClosedAt = time.UnixMicro(expires).UTC(), time.UnixMicro(created).UTC(), fromMicros(closed)
	rows, err := q.r.query(ctx,
		`SELECT o.title, (SELECT COUNT(*) FROM poll_votes v WHERE v.status_id = o.status_id AND v.choice = o.position)
		 FROM poll_options o WHERE o.status_id = ? ORDER BY o.position`, statusID)
	if err != nil {
		return Poll{}, q.d.wrap(action, err)
	}
	defer rows.Close()
	for rows.Next() {
		var o PollOption
		if err := rows.Scan(&o.Title, &o.Votes); err != nil {
			return Poll{}, q.d.wrap(action, err)
		}
		p.Options = append(p.Options, o)
	}
	if err := rows.Err(); err != nil {
		return Poll{}, q.d.wrap(action, err)
	}
	return p, nil
}

func (q *queries) InsertPollVote(ctx context.Context, v PollVote) (bool, error) {
	n, err := q.w.execN(ctx,
		`INSERT INTO poll_votes (status_id, actor_id, slot, choice, activity_id, created_at)
		 SELECT p.status_id, ?, CASE WHEN p.multiple THEN ? ELSE -1 END, ?, ?, ?
		 FROM polls p WHERE p.status_id = ? AND p.closed_at IS NULL
		 ON CONFLICT (status_id, actor_id, slot) DO NOTHING`,
		v.ActorID, v.Choice, v.Choice, v.ActivityID, orNow(v.CreatedAt).UnixMicro(), v.StatusID)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("insert vote of %s in the poll of status %d", v.ActorID, v.StatusID), err)
	}
	return n > 0, nil
}

func (q *queries) ClosePoll(ctx context.Context, statusID int64, at time.Time) (bool, error) {
	n, err := q.w.execN(ctx, `UPDATE polls SET closed_at = ? WHERE status_id = ? AND closed_at IS NULL`,
		orNow(at).UnixMicro(), statusID)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("close poll of status %d", statusID), err)
	}
	return n > 0, nil
}

func (q *queries) ListPollVoters(ctx context.Context, statusID int64) ([]string, error) {
	action := fmt.Sprintf("list voters of the poll of status %d", statusID)
	rows, err := q.r.query(ctx, `SELECT DISTINCT actor_id FROM poll_votes WHERE status_id = ? ORDER BY actor_id`, statusID)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			return nil, q.d.wrap(action, err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}
