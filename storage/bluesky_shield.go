package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// This file keeps the raid shield on Bluesky (package atproto, shield.go):
// for a status of ours, what its gate records keep whenever they are
// written again. Package atproto builds every threadgate and postgate
// from the post's rule and this (one function), so that a later rewrite
// (crisis mode, an edit) never drops a hidden reply or a detached quote.

// Kinds of the URIs a shield keeps.
const (
	ShieldHiddenReply   = "hidden_reply"   // in the thread root's threadgate hiddenReplies
	ShieldDetachedQuote = "detached_quote" // in the post's postgates detachedEmbeddingUris
)

// BlueskyShield is what one status's gate records must keep.
type BlueskyShield struct {
	StatusID int64
	Account  string
	// Replies is the replies setting (config.Replies*, policy.Replies*)
	// the status's thread was tightened to; "" when it was not. The gate
	// is never wider than the post's own setting either.
	Replies string
	// HiddenReplies and DetachedQuotes are at:// URIs, newest first.
	HiddenReplies  []string
	DetachedQuotes []string
	UpdatedAt      time.Time
}

// Empty reports whether the shield asks nothing of the gates.
func (s BlueskyShield) Empty() bool {
	return s.Replies == "" && len(s.HiddenReplies) == 0 && len(s.DetachedQuotes) == 0
}

// ShieldURI is a reply or a quote to hide or detach, and when it was made.
type ShieldURI struct {
	URI string
	At  time.Time
}

// BlueskyShieldChange adds to a status's shield.
type BlueskyShieldChange struct {
	StatusID int64
	Account  string
	Replies  string // set when not empty
	Hidden   []ShieldURI
	Detached []ShieldURI
	// MaxHidden and MaxDetached bound the lists (the lexicon's limits):
	// the newest are kept. 0: no bound.
	MaxHidden, MaxDetached int
	At                     time.Time // zero: now
}

// BlueskyShields is the storage of the raid shield on Bluesky.
type BlueskyShields interface {
	// GetBlueskyShield returns the status's shield: an empty one (no
	// error) when it has none.
	GetBlueskyShield(ctx context.Context, statusID int64) (BlueskyShield, error)
	// AddToBlueskyShield adds to the status's shield (run it in a
	// transaction: it writes several rows) and reports whether what the
	// gates keep changed: adding what is already there, or replies older
	// than the newest MaxHidden kept, changes nothing.
	AddToBlueskyShield(ctx context.Context, c BlueskyShieldChange) (changed bool, err error)
	// ListNotificationsBetween lists the account's notifications of the
	// types (all when empty) made in [from, to), dismissed ones included,
	// newest first, at most limit (a raid's, package atproto).
	ListNotificationsBetween(ctx context.Context, account string, types []string, from, to time.Time, limit int) ([]Notification, error)
}

func (q *queries) GetBlueskyShield(ctx context.Context, statusID int64) (BlueskyShield, error) {
	action := fmt.Sprintf("get bluesky shield of status %d", statusID)
	sh := BlueskyShield{StatusID: statusID}
	var updated int64
	err := q.r.queryRow(ctx, `SELECT account, replies, updated_at FROM bluesky_shields WHERE status_id = ?`, statusID).
		Scan(&sh.Account, &sh.Replies, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return sh, nil
	}
	if err != nil {
		return sh, q.d.wrap(action, err)
	}
	sh.UpdatedAt = time.UnixMicro(updated).UTC()
	rows, err := q.r.query(ctx, `SELECT kind, uri FROM bluesky_shield_uris WHERE status_id = ?
		ORDER BY created_at DESC, uri`, statusID)
	if err != nil {
		return sh, q.d.wrap(action, err)
	}
	defer rows.Close()
	for rows.Next() {
		var kind, uri string
		if err := rows.Scan(&kind, &uri); err != nil {
			return sh, q.d.wrap(action, err)
		}
		switch kind {
		case ShieldHiddenReply:
			sh.HiddenReplies = append(sh.HiddenReplies, uri)
		case ShieldDetachedQuote:
			sh.DetachedQuotes = append(sh.DetachedQuotes, uri)
		}
	}
	if err := rows.Err(); err != nil {
		return sh, q.d.wrap(action, err)
	}
	return sh, nil
}

func (q *queries) AddToBlueskyShield(ctx context.Context, c BlueskyShieldChange) (bool, error) {
	action := fmt.Sprintf("add to the bluesky shield of status %d", c.StatusID)
	before, err := q.GetBlueskyShield(ctx, c.StatusID)
	if err != nil {
		return false, err
	}
	now := orNow(c.At).UnixMicro()
	replies := before.Replies
	if c.Replies != "" {
		replies = c.Replies
	}
	if _, err := q.w.exec(ctx,
		`INSERT INTO bluesky_shields (status_id, account, replies, updated_at) VALUES (?, ?, ?, ?)
		 ON CONFLICT (status_id) DO UPDATE SET replies = excluded.replies, updated_at = excluded.updated_at`,
		c.StatusID, c.Account, replies, now); err != nil {
		return false, q.d.wrap(action, err)
	}
	for _, l := range []struct {
		kind string
		uris []ShieldURI
		max  int
	}{{ShieldHiddenReply, c.Hidden, c.MaxHidden}, {ShieldDetachedQuote, c.Detached, c.MaxDetached}} {
		for _, u := range l.uris {
			if u.URI == "" {
				continue
			}
			if _, err := q.w.exec(ctx,
				`INSERT INTO bluesky_shield_uris (status_id, kind, uri, created_at) VALUES (?, ?, ?, ?)
				 ON CONFLICT (status_id, kind, uri) DO NOTHING`,
				c.StatusID, l.kind, u.URI, orNow(u.At).UnixMicro()); err != nil {
				return false, q.d.wrap(action, err)
			}
		}
		if l.max > 0 && len(l.uris) > 0 {
			// Keep the newest max: delete the rest.
			if _, err := q.w.exec(ctx,
				`DELETE FROM bluesky_shield_uris WHERE status_id = ? AND kind = ? AND uri NOT IN (
				   SELECT uri FROM bluesky_shield_uris WHERE status_id = ? AND kind = ?
				   ORDER BY created_at DESC, uri LIMIT ?)`,
				c.StatusID, l.kind, c.StatusID, l.kind, l.max); err != nil {
				return false, q.d.wrap(action, err)
			}
		}
	}
	after, err := q.GetBlueskyShield(ctx, c.StatusID)
	if err != nil {
		return false, err
	}
	changed := before.Replies != after.Replies || !slices.Equal(before.HiddenReplies, after.HiddenReplies) ||
		!slices.Equal(before.DetachedQuotes, after.DetachedQuotes)
	return changed, nil
}

func (q *queries) ListNotificationsBetween(ctx context.Context, account string, types []string, from, to time.Time, limit int) ([]Notification, error) {
	args := []any{account, from.UnixMicro(), to.UnixMicro()}
	args = append(args, anys(types)...)
	args = append(args, limit)
	out, err := collect(scanNotification)(q.r.query(ctx,
		`SELECT `+notificationColumns+` FROM notifications n WHERE account = ? AND created_at >= ? AND created_at < ?`+
			inList("kind", len(types))+` ORDER BY created_at DESC, id DESC LIMIT ?`, args...))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list notifications of %q between", account), err)
	}
	return out, nil
}
