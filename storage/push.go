package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file keeps the Web Push subscriptions of the client API (package
// push): one per access token, as Mastodon has it.

// Push policies: whose notifications are pushed (Mastodon's names).
const (
	PushPolicyAll      = "all"
	PushPolicyFollowed = "followed" // from accounts ours follows
	PushPolicyFollower = "follower" // from our followers
	PushPolicyNone     = "none"
)

// PushSubscription is a Web Push subscription of one access token.
type PushSubscription struct {
	ID       int64
	TokenID  int64
	Account  string
	Endpoint string
	// P256dh and Auth are the receiver's public key and authentication
	// secret (RFC 8291), base64url as the client sent them.
	P256dh, Auth string
	Alerts       []string // the enabled alerts (Mastodon's names)
	Policy       string   // PushPolicy*
	CreatedAt    time.Time
	// RaidUntil is the end of the raid the subscription was last told of
	// (zero: none).
	RaidUntil time.Time
}

// PushSubscriptions is the storage of Web Push subscriptions.
type PushSubscriptions interface {
	// PutPushSubscription creates the subscription of s.TokenID, or
	// replaces the one it had (a new endpoint, keys, alerts and policy;
	// raid state reset), and returns it as stored.
	PutPushSubscription(ctx context.Context, s PushSubscription) (PushSubscription, error)
	// GetPushSubscription returns the token's subscription, or ErrNotFound.
	GetPushSubscription(ctx context.Context, tokenID int64) (PushSubscription, error)
	// GetPushSubscriptionByID returns a subscription by its id, or
	// ErrNotFound.
	GetPushSubscriptionByID(ctx context.Context, id int64) (PushSubscription, error)
	// UpdatePushSubscriptionData replaces the alerts and policy of the
	// token's subscription (ErrNotFound when it has none).
	UpdatePushSubscriptionData(ctx context.Context, tokenID int64, alerts []string, policy string) (PushSubscription, error)
	// DeletePushSubscription removes the token's subscription and reports
	// whether there was one.
	DeletePushSubscription(ctx context.Context, tokenID int64) (bool, error)
	// DeleteGonePushSubscription removes subscription id if its endpoint is
	// still endpoint (the push service said it is gone; a subscription
	// replaced meanwhile stays), and reports whether it did.
	DeleteGonePushSubscription(ctx context.Context, id int64, endpoint string) (bool, error)
	// ListPushSubscriptions lists the subscriptions of the account whose
	// tokens are live at now (not revoked, not expired), oldest first.
	ListPushSubscriptions(ctx context.Context, account string, now time.Time) ([]PushSubscription, error)
	// HasPushSubscriptions reports whether the account has a
	// subscription (live token or not) that was not told of a raid known
	// to go on after raidAt (zero raidAt: any subscription): a cheap check
	// on a hot path.
	HasPushSubscriptions(ctx context.Context, account string, raidAt time.Time) (bool, error)
	// ClaimPushRaid records that subscription id is told of a raid that
	// started at from and is known to last until until. It reports true
	// when this is a new raid for it (it had been told of none still
	// running at from), false when it was already told of this one (whose
	// known end then moves to until, if later).
	ClaimPushRaid(ctx context.Context, id int64, from, until time.Time) (bool, error)
}

const pushColumns = `id, token_id, account, endpoint, p256dh, auth, alerts, policy, created_at, raid_until`

func scanPushSubscription(s scanner) (PushSubscription, error) {
	var (
		p       PushSubscription
		alerts  string
		created int64
		raid    sql.NullInt64
	)
	err := s.Scan(&p.ID, &p.TokenID, &p.Account, &p.Endpoint, &p.P256dh, &p.Auth, &alerts, &p.Policy, &created, &raid)
	p.Alerts = strings.Fields(alerts)
	p.CreatedAt = time.UnixMicro(created).UTC()
	p.RaidUntil = fromMicros(raid)
	return p, err
}

func (q *queries) PutPushSubscription(ctx context.Context, s PushSubscription) (PushSubscription, error) {
	p, err := scanPushSubscription(q.w.queryRow(ctx,
		`INSERT INTO push_subscriptions (token_id, account, endpoint, p256dh, auth, alerts, policy, created_at, raid_until)
		 VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)
		 ON CONFLICT (token_id) DO UPDATE SET account = excluded.account, endpoint = excluded.endpoint,
		   p256dh = excluded.p256dh, auth = excluded.auth, alerts = excluded.alerts, policy = excluded.policy,
		   created_at = excluded.created_at, raid_until = NULL
		 RETURNING `+pushColumns,
		s.TokenID, s.Account, s.Endpoint, s.P256dh, s.Auth, strings.Join(s.Alerts, " "), s.Policy, orNow(s.CreatedAt).UnixMicro()))
	if err != nil {
		return PushSubscription{}, q.d.wrap(fmt.Sprintf("put push subscription of token %d", s.TokenID), err)
	}
	return p, nil
}

func (q *queries) GetPushSubscription(ctx context.Context, tokenID int64) (PushSubscription, error) {
	p, err := scanPushSubscription(q.r.queryRow(ctx, `SELECT `+pushColumns+` FROM push_subscriptions WHERE token_id = ?`, tokenID))
	if err != nil {
		return PushSubscription{}, q.d.wrap(fmt.Sprintf("get push subscription of token %d", tokenID), err)
	}
	return p, nil
}

func (q *queries) GetPushSubscriptionByID(ctx context.Context, id int64) (PushSubscription, error) {
	p, err := scanPushSubscription(q.r.queryRow(ctx, `SELECT `+pushColumns+` FROM push_subscriptions WHERE id = ?`, id))
	if err != nil {
		return PushSubscription{}, q.d.wrap(fmt.Sprintf("get push subscription %d", id), err)
	}
	return p, nil
}

func (q *queries) UpdatePushSubscriptionData(ctx context.Context, tokenID int64, alerts []string, policy string) (PushSubscription, error) {
	p, err := scanPushSubscription(q.w.queryRow(ctx,
		`UPDATE push_subscriptions SET alerts = ?, policy = ? WHERE token_id = ? RETURNING `+pushColumns,
		strings.Join(alerts, " "), policy, tokenID))
	if err != nil {
		return PushSubscription{}, q.d.wrap(fmt.Sprintf("update push subscription of token %d", tokenID), err)
	}
	return p, nil
}

func (q *queries) DeletePushSubscription(ctx context.Context, tokenID int64) (bool, error) {
	n, err := q.w.execN(ctx, `DELETE FROM push_subscriptions WHERE token_id = ?`, tokenID)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("delete push subscription of token %d", tokenID), err)
	}
	return n > 0, nil
}

func (q *queries) DeleteGonePushSubscription(ctx context.Context, id int64, endpoint string) (bool, error) {
	n, err := q.w.execN(ctx, `DELETE FROM push_subscriptions WHERE id = ? AND endpoint = ?`, id, endpoint)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("delete push subscription %d", id), err)
	}
	return n > 0, nil
}

func (q *queries) ListPushSubscriptions(ctx context.Context, account string, now time.Time) ([]PushSubscription, error) {
	action := fmt.Sprintf("list push subscriptions of %q", account)
	rows, err := q.r.query(ctx,
		`SELECT `+prefixed("p.", pushColumns)+` FROM push_subscriptions p JOIN tokens t ON t.id = p.token_id
		 WHERE p.account = ? AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > ?)
		 ORDER BY p.id`, account, now.UnixMicro())
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []PushSubscription
	for rows.Next() {
		p, err := scanPushSubscription(rows)
		if err != nil {
			return nil, q.d.wrap(action, err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) HasPushSubscriptions(ctx context.Context, account string, raidAt time.Time) (bool, error) {
	var one int
	query, args := `SELECT 1 FROM push_subscriptions WHERE account = ? LIMIT 1`, []any{account}
	if !raidAt.IsZero() {
		query = `SELECT 1 FROM push_subscriptions WHERE account = ? AND (raid_until IS NULL OR raid_until <= ?) LIMIT 1`
		args = append(args, raidAt.UnixMicro())
	}
	err := q.r.queryRow(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("look for push subscriptions of %q", account), err)
	}
	return true, nil
}

func (q *queries) ClaimPushRaid(ctx context.Context, id int64, from, until time.Time) (bool, error) {
	action := fmt.Sprintf("claim a raid for push subscription %d", id)
	n, err := q.w.execN(ctx,
		`UPDATE push_subscriptions SET raid_until = ? WHERE id = ? AND (raid_until IS NULL OR raid_until <= ?)`,
		until.UnixMicro(), id, from.UnixMicro())
	if err != nil {
		return false, q.d.wrap(action, err)
	}
	if n > 0 {
		return true, nil
	}
	if _, err := q.w.exec(ctx, `UPDATE push_subscriptions SET raid_until = ? WHERE id = ? AND raid_until < ?`,
		until.UnixMicro(), id, until.UnixMicro()); err != nil {
		return false, q.d.wrap(action, err)
	}
	return false, nil
}

// prefixed qualifies each of a comma-separated column list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ",")
	for i, c := range cols {
		cols[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}
