package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// followerInboxesQuery lists distinct delivery inboxes of account's
// followers in state, after a value, at most a limit.
const followerInboxesQuery = `SELECT DISTINCT delivery_inbox FROM followers
	WHERE account = ? AND state = ? AND delivery_inbox > ?
	ORDER BY delivery_inbox LIMIT ?`

// ListFollowerInboxes pages through the delivery inboxes of account's
// accepted followers, in bytewise order. delivery_inbox is a generated
// column (the shared inbox when not empty, else the inbox; "C" collation
// on PostgreSQL) indexed after (account, state): the scan reads the index
// in order from `after` and stops after limit distinct values. Followers
// without any inbox are left out.
func (q *queries) ListFollowerInboxes(ctx context.Context, account, after string, limit int) ([]string, error) {
	if limit <= 0 {
		return nil, nil
	}
	out, err := collect(scanString)(q.r.query(ctx, followerInboxesQuery, account, FollowerAccepted, after, limit))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list follower inboxes of %q", account), err)
	}
	return out, nil
}

// deleteFollowersByInboxQuery uses the followers_inbox and
// followers_shared_inbox indexes.
const deleteFollowersByInboxQuery = `DELETE FROM followers WHERE inbox = ? OR shared_inbox = ?`

// DeleteFollowersByInbox removes, from every account, the followers whose
// inbox or shared inbox is inbox. An empty inbox removes nothing.
func (q *queries) DeleteFollowersByInbox(ctx context.Context, inbox string) (int64, error) {
	if inbox == "" {
		return 0, nil
	}
	n, err := q.w.execN(ctx, deleteFollowersByInboxQuery, inbox, inbox)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("delete followers by inbox %q", inbox), err)
	}
	return n, nil
}

func scanString(s scanner) (v string, err error) {
	err = s.Scan(&v)
	return v, err
}

const hostColumns = `host, failures, unavailable_until, last_success, last_failure`

func scanHost(s scanner) (Host, error) {
	var (
		h                       Host
		until, success, failure sql.NullInt64
	)
	err := s.Scan(&h.Host, &h.Failures, &until, &success, &failure)
	h.UnavailableUntil = fromMicros(until)
	h.LastSuccess = fromMicros(success)
	h.LastFailure = fromMicros(failure)
	return h, err
}

// GetHost returns ErrNotFound for a host with no delivery recorded.
func (q *queries) GetHost(ctx context.Context, host string) (Host, error) {
	h, err := scanHost(q.r.queryRow(ctx, `SELECT `+hostColumns+` FROM hosts WHERE host = ?`, host))
	if err != nil {
		return Host{}, q.d.wrap(fmt.Sprintf("get host %q", host), err)
	}
	return h, nil
}

// RecordHostSuccess records a delivery at `at` (zero: now): the host's
// failures are reset and it is available again.
func (q *queries) RecordHostSuccess(ctx context.Context, host string, at time.Time) error {
	action := fmt.Sprintf("record success of host %q", host)
	if host == "" {
		return q.d.wrap(action, errors.New("empty host"))
	}
	_, err := q.w.exec(ctx,
		`INSERT INTO hosts (`+hostColumns+`) VALUES (?, 0, NULL, ?, NULL)
		 ON CONFLICT (host) DO UPDATE SET failures = 0, unavailable_until = NULL, last_success = excluded.last_success`,
		host, orNow(at).UnixMicro())
	if err != nil {
		return q.d.wrap(action, err)
	}
	return nil
}

// RecordHostFailure records a failed delivery at `at` (zero: now).
func (q *queries) RecordHostFailure(ctx context.Context, host string, at, until time.Time) (Host, error) {
	action := fmt.Sprintf("record failure of host %q", host)
	if host == "" {
		return Host{}, q.d.wrap(action, errors.New("empty host"))
	}
	h, err := scanHost(q.w.queryRow(ctx,
		`INSERT INTO hosts (`+hostColumns+`) VALUES (?, 1, ?, NULL, ?)
		 ON CONFLICT (host) DO UPDATE SET failures = hosts.failures + 1, last_failure = excluded.last_failure,
		   unavailable_until = COALESCE(excluded.unavailable_until, hosts.unavailable_until)
		 RETURNING `+hostColumns,
		host, micros(until), orNow(at).UnixMicro()))
	if err != nil {
		return Host{}, q.d.wrap(action, err)
	}
	return h, nil
}

// SetHostEd25519 records whether host verifies Ed25519 RFC 9421
// signatures; the rest of its row is unchanged (or zero for a new host).
func (q *queries) SetHostEd25519(ctx context.Context, host string, verifies bool) error {
	action := fmt.Sprintf("record the Ed25519 signatures of host %q", host)
	if host == "" {
		return q.d.wrap(action, errors.New("empty host"))
	}
	v := 0
	if verifies {
		v = 1
	}
	_, err := q.w.exec(ctx,
		`INSERT INTO hosts (host, failures, ed25519) VALUES (?, 0, ?)
		 ON CONFLICT (host) DO UPDATE SET ed25519 = excluded.ed25519`, host, v)
	if err != nil {
		return q.d.wrap(action, err)
	}
	return nil
}

// ListHostsEd25519 reads the hosts whose answer to Ed25519 signatures is
// known.
func (q *queries) ListHostsEd25519(ctx context.Context) (map[string]bool, error) {
	rows, err := q.r.query(ctx, `SELECT host, ed25519 FROM hosts WHERE ed25519 IS NOT NULL`)
	if err != nil {
		return nil, q.d.wrap("list the Ed25519 hosts", err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var (
			host string
			v    int
		)
		if err := rows.Scan(&host, &v); err != nil {
			return nil, q.d.wrap("list the Ed25519 hosts", err)
		}
		out[host] = v == 1
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap("list the Ed25519 hosts", err)
	}
	return out, nil
}

// ListUnavailableHosts reads the hosts whose unavailable_until is after
// now (a scan of hosts: called once at start).
func (q *queries) ListUnavailableHosts(ctx context.Context, now time.Time) ([]Host, error) {
	out, err := collect(scanHost)(q.r.query(ctx, `SELECT `+hostColumns+` FROM hosts WHERE unavailable_until > ? ORDER BY host`, now.UnixMicro()))
	if err != nil {
		return nil, q.d.wrap("list unavailable hosts", err)
	}
	return out, nil
}
