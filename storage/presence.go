package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// This file keeps what our accounts do to others' posts and the threads
// around them: their boosts and favourites (own_reactions), the earlier
// versions of their statuses (status_edits), and the replies and posts
// read by thread or by author.

// OwnReaction is a boost or a favourite by one of our accounts (Kind is
// NotificationReblog or NotificationFavourite).
type OwnReaction struct {
	ID             int64 // time-ordered, chosen by the caller (never 0)
	Account        string
	Kind           string
	ObjectURI      string // the post's IRI
	StatusID       int64  // ours, 0: a remote post
	RemoteStatusID int64  // theirs, 0: one of ours
	ActivityID     string // the Like or Announce sent
	CreatedAt      time.Time
}

// StatusEdit is an earlier version of one of our statuses.
type StatusEdit struct {
	ID          int64
	StatusID    int64
	Text        string
	ContentHTML string
	SpoilerText string
	Sensitive   bool
	MediaIDs    []int64
	CreatedAt   time.Time // when this version was written
}

// Reactor is an actor who boosted or favourited one of our statuses;
// ID is that notification's id (for paging).
type Reactor struct {
	ID      int64
	ActorID string
}

// Presence is the storage of what our accounts do to others' posts.
type Presence interface {
	// PutOwnReaction records a boost or a favourite, or returns the one
	// the account already made of the same post (created false).
	PutOwnReaction(ctx context.Context, r OwnReaction) (stored OwnReaction, created bool, err error)
	// DeleteOwnReaction removes one and returns it; ErrNotFound when there
	// is none.
	DeleteOwnReaction(ctx context.Context, account, kind, objectURI string) (OwnReaction, error)
	// GetOwnReaction returns one by id.
	GetOwnReaction(ctx context.Context, id int64) (OwnReaction, error)
	// OwnReactionKinds returns, for each of the posts objectURIs the
	// account boosted or favourited, the kinds it did.
	OwnReactionKinds(ctx context.Context, account string, objectURIs []string) (map[string][]string, error)
	// ListOwnReblogs lists the account's boosts newest first, with the
	// paging of StatusPage (Account, ids and Limit; Visibilities unused).
	ListOwnReblogs(ctx context.Context, p StatusPage) ([]OwnReaction, error)
	// CountOwnReblogs counts the account's boosts.
	CountOwnReblogs(ctx context.Context, account string) (int64, error)

	// ListReactors lists the actors who boosted (NotificationReblog) or
	// favourited one of our statuses, newest first, below maxID (0: from
	// the newest), at most limit; those the status's account blocked are
	// left out.
	ListReactors(ctx context.Context, statusID int64, kind string, maxID int64, limit int) ([]Reactor, error)

	// InsertStatusEdit keeps an earlier version of a status.
	InsertStatusEdit(ctx context.Context, e StatusEdit) error
	// ListStatusEdits lists a status's earlier versions, oldest first.
	ListStatusEdits(ctx context.Context, statusID int64) ([]StatusEdit, error)

	// ListRemoteReplies lists the live remote posts replying to the post
	// uri, oldest first, at most limit.
	ListRemoteReplies(ctx context.Context, uri string, limit int) ([]RemoteStatus, error)
	// ListStatusReplies lists our live statuses replying to our status
	// parentID, or with remote to the remote post parentID, oldest first,
	// at most limit.
	ListStatusReplies(ctx context.Context, parentID int64, remote bool, limit int) ([]Status, error)
	// ListRemoteStatusesByActor lists the live remote posts of an actor we
	// hold, newest first, with StatusPage's paging and visibilities
	// (Account unused).
	ListRemoteStatusesByActor(ctx context.Context, actorID string, p StatusPage) ([]RemoteStatus, error)
	// RemoteStatusNotified reports whether the account was notified of
	// the remote post (it mentions the account, or replies to or quotes
	// one of its posts).
	RemoteStatusNotified(ctx context.Context, account string, remoteStatusID int64) (bool, error)
}

const ownReactionColumns = `id, account, kind, object_uri, COALESCE(status_id, 0), COALESCE(remote_status_id, 0), activity_id, created_at`

func scanOwnReaction(s scanner) (OwnReaction, error) {
	var (
		r       OwnReaction
		created int64
	)
	err := s.Scan(&r.ID, &r.Account, &r.Kind, &r.ObjectURI, &r.StatusID, &r.RemoteStatusID, &r.ActivityID, &created)
	r.CreatedAt = time.UnixMicro(created).UTC()
	return r, err
}

func (q *queries) PutOwnReaction(ctx context.Context, r OwnReaction) (OwnReaction, bool, error) {
	action := fmt.Sprintf("%s of %q by %q", r.Kind, r.ObjectURI, r.Account)
	if r.ID <= 0 || r.Kind == "" || r.ObjectURI == "" {
		return OwnReaction{}, false, q.d.wrap(action, errors.New("no id, kind or object"))
	}
	n, err := q.w.execN(ctx,
		`INSERT INTO own_reactions (id, account, kind, object_uri, status_id, remote_status_id, activity_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account, kind, object_uri) DO NOTHING`,
		r.ID, r.Account, r.Kind, r.ObjectURI, nullID(r.StatusID), nullID(r.RemoteStatusID), r.ActivityID, orNow(r.CreatedAt).UnixMicro())
	if err != nil {
		return OwnReaction{}, false, q.d.wrap(action, err)
	}
	stored, err := scanOwnReaction(q.w.queryRow(ctx,
		`SELECT `+ownReactionColumns+` FROM own_reactions WHERE account = ? AND kind = ? AND object_uri = ?`,
		r.Account, r.Kind, r.ObjectURI))
	if err != nil {
		return OwnReaction{}, false, q.d.wrap(action, err)
	}
	return stored, n == 1, nil
}

func (q *queries) DeleteOwnReaction(ctx context.Context, account, kind, objectURI string) (OwnReaction, error) {
	action := fmt.Sprintf("undo %s of %q by %q", kind, objectURI, account)
	var r OwnReaction
	err := q.atomic(ctx, func(tq *queries) error {
		var err error
		r, err = scanOwnReaction(tq.w.queryRow(ctx,
			`SELECT `+ownReactionColumns+` FROM own_reactions WHERE account = ? AND kind = ? AND object_uri = ?`,
			account, kind, objectURI))
		if err != nil {
			return err
		}
		_, err = tq.w.exec(ctx, `DELETE FROM own_reactions WHERE id = ?`, r.ID)
		return err
	})
	if err != nil {
		return OwnReaction{}, q.d.wrap(action, err)
	}
	return r, nil
}

func (q *queries) GetOwnReaction(ctx context.Context, id int64) (OwnReaction, error) {
	r, err := scanOwnReaction(q.r.queryRow(ctx, `SELECT `+ownReactionColumns+` FROM own_reactions WHERE id = ?`, id))
	if err != nil {
		return OwnReaction{}, q.d.wrap(fmt.Sprintf("get reaction %d", id), err)
	}
	return r, nil
}

func (q *queries) OwnReactionKinds(ctx context.Context, account string, objectURIs []string) (map[string][]string, error) {
	out := map[string][]string{}
	if len(objectURIs) == 0 {
		return out, nil
	}
	action := fmt.Sprintf("reactions of %q", account)
	args := append([]any{account}, anys(objectURIs)...)
	rows, err := q.r.query(ctx,
		`SELECT object_uri, kind FROM own_reactions WHERE account = ?`+inList("object_uri", len(objectURIs))+` ORDER BY kind`, args...)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	for rows.Next() {
		var uri, kind string
		if err := rows.Scan(&uri, &kind); err != nil {
			return nil, q.d.wrap(action, err)
		}
		out[uri] = append(out[uri], kind)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

// pageBounds turns StatusPage's paging into (lower, upper) exclusive id
// bounds, the order, and whether the rows must be reversed (min_id).
func pageBounds(p StatusPage) (lower, upper int64, order string, asc bool) {
	lower = max(p.SinceID, p.MinID)
	upper = int64(math.MaxInt64)
	if p.MaxID != 0 {
		upper = p.MaxID
	}
	order, asc = "DESC", p.MinID != 0
	if asc {
		order = "ASC"
	}
	return lower, upper, order, asc
}

func (q *queries) ListOwnReblogs(ctx context.Context, p StatusPage) ([]OwnReaction, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	action := fmt.Sprintf("list boosts of %q", p.Account)
	lower, upper, order, asc := pageBounds(p)
	rows, err := q.r.query(ctx,
		`SELECT `+ownReactionColumns+` FROM own_reactions WHERE account = ? AND kind = ? AND id > ? AND id < ?
		 ORDER BY id `+order+` LIMIT ?`, p.Account, NotificationReblog, lower, upper, p.Limit)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []OwnReaction
	for rows.Next() {
		r, err := scanOwnReaction(rows)
		if err != nil {
			return nil, q.d.wrap(action, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	if asc {
		slices.Reverse(out)
	}
	return out, nil
}

func (q *queries) CountOwnReblogs(ctx context.Context, account string) (int64, error) {
	var n int64
	err := q.r.queryRow(ctx, `SELECT COUNT(*) FROM own_reactions WHERE account = ? AND kind = ?`, account, NotificationReblog).Scan(&n)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("count boosts of %q", account), err)
	}
	return n, nil
}

func (q *queries) ListReactors(ctx context.Context, statusID int64, kind string, maxID int64, limit int) ([]Reactor, error) {
	if limit <= 0 {
		return nil, nil
	}
	if maxID <= 0 {
		maxID = math.MaxInt64
	}
	action := fmt.Sprintf("list %s of status %d", kind, statusID)
	rows, err := q.r.query(ctx,
		`SELECT MAX(n.id) AS last, n.actor_id FROM notifications n
		 WHERE n.status_id = ? AND n.kind = ? AND NOT EXISTS (
		   SELECT 1 FROM account_blocks b WHERE b.account = n.account AND b.actor_id = n.actor_id AND b.kind = ?)
		 GROUP BY n.actor_id HAVING MAX(n.id) < ? ORDER BY last DESC LIMIT ?`,
		statusID, kind, BlockKindBlock, maxID, limit)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []Reactor
	for rows.Next() {
		var r Reactor
		if err := rows.Scan(&r.ID, &r.ActorID); err != nil {
			return nil, q.d.wrap(action, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) InsertStatusEdit(ctx context.Context, e StatusEdit) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO status_edits (status_id, text, content_html, spoiler_text, sensitive, media_ids, created_at)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.StatusID, e.Text, e.ContentHTML, e.SpoilerText, e.Sensitive, jsonList(e.MediaIDs), orNow(e.CreatedAt).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("keep a version of status %d", e.StatusID), err)
	}
	return nil
}

func (q *queries) ListStatusEdits(ctx context.Context, statusID int64) ([]StatusEdit, error) {
	action := fmt.Sprintf("list versions of status %d", statusID)
	rows, err := q.r.query(ctx,
		`SELECT id, status_id, text, content_html, spoiler_text, sensitive, media_ids, created_at
		 FROM status_edits WHERE status_id = ? ORDER BY id`, statusID)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []StatusEdit
	for rows.Next() {
		var (
			e       StatusEdit
			media   []byte
			created int64
		)
		if err := rows.Scan(&e.ID, &e.StatusID, &e.Text, &e.ContentHTML, &e.SpoilerText, &e.Sensitive, &media, &created); err != nil {
			return nil, q.d.wrap(action, err)
		}
		if err := fromJSON(media, &e.MediaIDs); err != nil {
			return nil, q.d.wrap(action, err)
		}
		e.CreatedAt = time.UnixMicro(created).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

// remoteStatuses reads remote posts; errors are unwrapped.
func (q *queries) remoteStatuses(ctx context.Context, query string, args ...any) ([]RemoteStatus, error) {
	rows, err := q.r.query(ctx, `SELECT `+remoteStatusColumns+` FROM remote_statuses `+query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []RemoteStatus
	for rows.Next() {
		rs, err := scanRemoteStatus(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	return out, rows.Err()
}

func (q *queries) ListRemoteReplies(ctx context.Context, uri string, limit int) ([]RemoteStatus, error) {
	if limit <= 0 || uri == "" {
		return nil, nil
	}
	out, err := q.remoteStatuses(ctx, `WHERE in_reply_to_uri = ? AND deleted_at IS NULL ORDER BY id LIMIT ?`, uri, limit)
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list replies to %q", uri), err)
	}
	return out, nil
}

func (q *queries) ListStatusReplies(ctx context.Context, parentID int64, remote bool, limit int) ([]Status, error) {
	if limit <= 0 {
		return nil, nil
	}
	column := "in_reply_to_id"
	if remote {
		column = "in_reply_to_remote_id"
	}
	action := fmt.Sprintf("list our replies to %d", parentID)
	rows, err := q.r.query(ctx,
		`SELECT `+statusColumns+` FROM statuses WHERE `+column+` = ? AND deleted_at IS NULL ORDER BY id LIMIT ?`, parentID, limit)
	if err != nil {
		return nil, q.d.wrap(action, err)
	}
	defer rows.Close()
	var out []Status
	for rows.Next() {
		st, err := scanStatus(rows)
		if err != nil {
			return nil, q.d.wrap(action, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(action, err)
	}
	if err := q.fillMediaIDs(ctx, out); err != nil {
		return nil, q.d.wrap(action, err)
	}
	return out, nil
}

func (q *queries) ListRemoteStatusesByActor(ctx context.Context, actorID string, p StatusPage) ([]RemoteStatus, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	lower, upper, order, asc := pageBounds(p)
	args := append([]any{actorID, lower, upper}, anys(p.Visibilities)...)
	args = append(args, p.Limit)
	out, err := q.remoteStatuses(ctx, `WHERE actor_id = ? AND deleted_at IS NULL AND id > ? AND id < ?`+
		inList("visibility", len(p.Visibilities))+` ORDER BY id `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list posts of %q", actorID), err)
	}
	if asc {
		slices.Reverse(out)
	}
	return out, nil
}

func (q *queries) RemoteStatusNotified(ctx context.Context, account string, remoteStatusID int64) (bool, error) {
	var one int
	err := q.r.queryRow(ctx, `SELECT 1 FROM notifications WHERE account = ? AND remote_status_id = ? LIMIT 1`,
		account, remoteStatusID).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("notifications of %q about %d", account, remoteStatusID), err)
	}
	return true, nil
}
