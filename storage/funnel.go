package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// NoticeFunnel is the X exit notice page's funnel (package web counts it;
// the console shows it): visits, remote-follow starts and the follows they
// brought, per account and UTC day. Nothing in it names a visitor.
type NoticeFunnel interface {
	// AddNoticeVisits adds n visits of the account's notice page from
	// source on day (YYYY-MM-DD).
	AddNoticeVisits(ctx context.Context, account, day, source string, n int64) error
	// AddNoticeFollowStart records that a visitor of the account's notice
	// page was sent on to the follow page of their server, host, at at.
	AddNoticeFollowStart(ctx context.Context, account, host string, at time.Time) error
	// RollUpNoticeFollowStarts turns the follow starts made before
	// `before` into the per-day counts, each counting as a follow when
	// the account got a new follower from the same host within window
	// after it, and forgets them. It returns how many it rolled up.
	RollUpNoticeFollowStarts(ctx context.Context, before time.Time, window time.Duration) (int64, error)
	// NoticeFunnelDays returns the account's funnel from day since
	// (YYYY-MM-DD) on, oldest first; days without anything are absent.
	NoticeFunnelDays(ctx context.Context, account, since string) ([]NoticeFunnelDay, error)
}

// NoticeFunnelDay is one UTC day of an account's notice-page funnel.
type NoticeFunnelDay struct {
	Day     string           // YYYY-MM-DD
	Visits  map[string]int64 // by source: "direct", "qr", ...
	Starts  int64            // remote-follow forms sent on to the visitor's server
	Follows int64            // of those, followed from that server within 30 minutes
}

// FunnelDay is the UTC day of t as the funnel stores it.
func FunnelDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func (s *store) AddNoticeVisits(ctx context.Context, account, day, source string, n int64) error {
	_, err := s.w.exec(ctx,
		`INSERT INTO notice_visits (account, day, source, visits) VALUES (?, ?, ?, ?)
		 ON CONFLICT (account, day, source) DO UPDATE SET visits = notice_visits.visits + excluded.visits`,
		account, day, source, n)
	if err != nil {
		return s.d.wrap(fmt.Sprintf("add notice visits of %q", account), err)
	}
	return nil
}

func (s *store) AddNoticeFollowStart(ctx context.Context, account, host string, at time.Time) error {
	_, err := s.w.exec(ctx, `INSERT INTO notice_follow_starts (account, host, started_at) VALUES (?, ?, ?)`,
		account, strings.ToLower(host), at.UnixMicro())
	if err != nil {
		return s.d.wrap(fmt.Sprintf("add a notice follow start of %q", account), err)
	}
	return nil
}

func (s *store) RollUpNoticeFollowStarts(ctx context.Context, before time.Time, window time.Duration) (int64, error) {
	type start struct {
		id            int64
		account, host string
		at            int64
	}
	var done int64
	err := s.InTx(ctx, func(qi Queries) error {
		q := qi.(*queries)
		rows, err := q.w.query(ctx, `SELECT id, account, host, started_at FROM notice_follow_starts
			WHERE started_at < ? ORDER BY id LIMIT 1000`, before.UnixMicro())
		if err != nil {
			return err
		}
		var starts []start
		for rows.Next() {
			var st start
			if err := rows.Scan(&st.id, &st.account, &st.host, &st.at); err != nil {
				rows.Close()
				return err
			}
			starts = append(starts, st)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, st := range starts {
			// Claimed by deleting it: a replica rolling up at the same
			// time finds it gone (PostgreSQL waits for its delete) and
			// counts it no second time.
			n, err := q.w.execN(ctx, `DELETE FROM notice_follow_starts WHERE id = ?`, st.id)
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			done++
			// A new follower whose actor id is on the host: the Follow
			// the visitor's server sent after the form sent them there;
			// each follower counts for one start only.
			h := likeEscape(st.host)
			var actor string
			var followedAt int64
			err = q.w.queryRow(ctx, `SELECT actor_id, created_at FROM followers f WHERE account = ?
				AND (actor_id LIKE ? ESCAPE '\' OR actor_id LIKE ? ESCAPE '\')
				AND created_at >= ? AND created_at <= ?
				AND NOT EXISTS (SELECT 1 FROM notice_follow_matches m WHERE m.account = f.account AND m.actor_id = f.actor_id)
				ORDER BY created_at LIMIT 1`,
				st.account, "https://"+h+"/%", "http://"+h+"/%", st.at, st.at+window.Microseconds()).Scan(&actor, &followedAt)
			follows := int64(0)
			switch {
			case err == nil:
				follows = 1
				if _, err := q.w.exec(ctx, `INSERT INTO notice_follow_matches (account, actor_id, followed_at) VALUES (?, ?, ?)
					ON CONFLICT (account, actor_id) DO UPDATE SET followed_at = excluded.followed_at`, st.account, actor, followedAt); err != nil {
					return err
				}
			case !errors.Is(err, sql.ErrNoRows):
				return err
			}
			if _, err := q.w.exec(ctx,
				`INSERT INTO notice_follows (account, day, starts, follows) VALUES (?, ?, 1, ?)
				 ON CONFLICT (account, day) DO UPDATE SET starts = notice_follows.starts + 1,
				   follows = notice_follows.follows + excluded.follows`,
				st.account, FunnelDay(time.UnixMicro(st.at)), follows); err != nil {
				return err
			}
		}
		// A match is kept while a start that could claim its follower
		// remains: one made at most the window before it followed.
		if done > 0 {
			if _, err := q.w.exec(ctx, `DELETE FROM notice_follow_matches
				WHERE followed_at < COALESCE((SELECT MIN(started_at) FROM notice_follow_starts), ?)`, before.UnixMicro()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return 0, s.d.wrap("roll up the notice follow starts", err)
	}
	return done, nil
}

func (s *store) NoticeFunnelDays(ctx context.Context, account, since string) ([]NoticeFunnelDay, error) {
	action := fmt.Sprintf("read the notice funnel of %q", account)
	byDay := map[string]*NoticeFunnelDay{}
	var order []string
	day := func(d string) *NoticeFunnelDay {
		if byDay[d] == nil {
			byDay[d] = &NoticeFunnelDay{Day: d, Visits: map[string]int64{}}
			order = append(order, d)
		}
		return byDay[d]
	}
	rows, err := s.r.query(ctx, `SELECT day, source, visits FROM notice_visits WHERE account = ? AND day >= ?`, account, since)
	if err != nil {
		return nil, s.d.wrap(action, err)
	}
	for rows.Next() {
		var d, src string
		var n int64
		if err := rows.Scan(&d, &src, &n); err != nil {
			rows.Close()
			return nil, s.d.wrap(action, err)
		}
		day(d).Visits[src] += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(action, err)
	}
	rows, err = s.r.query(ctx, `SELECT day, starts, follows FROM notice_follows WHERE account = ? AND day >= ?`, account, since)
	if err != nil {
		return nil, s.d.wrap(action, err)
	}
	defer rows.Close()
	for rows.Next() {
		var d string
		var starts, follows int64
		if err := rows.Scan(&d, &starts, &follows); err != nil {
			return nil, s.d.wrap(action, err)
		}
		fd := day(d)
		fd.Starts, fd.Follows = starts, follows
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(action, err)
	}
	out := make([]NoticeFunnelDay, 0, len(order))
	for _, d := range order {
		out = append(out, *byDay[d])
	}
	slices.SortFunc(out, func(a, b NoticeFunnelDay) int { return strings.Compare(a.Day, b.Day) })
	return out, nil
}
