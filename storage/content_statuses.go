package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// atomic runs fn on queries bound to one transaction, so that its writes
// happen all or not at all. On a Store it opens a transaction on the
// writer; inside InTx it uses that transaction, within a savepoint: a
// failure (a constraint violation included, which aborts a PostgreSQL
// transaction) is rolled back to it and leaves the caller's transaction
// usable, as on SQLite. fn returns unwrapped errors; so does atomic.
func (q *queries) atomic(ctx context.Context, fn func(tq *queries) error) error {
	if tx := q.w.tx; tx != nil {
		if _, err := tx.ExecContext(ctx, `SAVEPOINT passerelle_atomic`); err != nil {
			return err
		}
		if err := fn(q); err != nil {
			if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT passerelle_atomic`); rbErr != nil {
				return errors.Join(err, rbErr)
			}
			_, _ = tx.ExecContext(ctx, `RELEASE SAVEPOINT passerelle_atomic`)
			return err
		}
		_, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT passerelle_atomic`)
		return err
	}
	tx, err := q.w.p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit
	tr := runner{p: q.w.p, tx: tx, txStmt: make(map[string]*sql.Stmt)}
	if err := fn(&queries{d: q.d, w: tr, r: tr}); err != nil {
		return err
	}
	return tx.Commit()
}

// insertRow inserts values into columns of table and returns the row's
// id: id itself when not zero (then the id sequence is moved past it),
// else the one the database assigned. Errors are unwrapped.
func (q *queries) insertRow(ctx context.Context, table, columns string, id int64, values ...any) (int64, error) {
	if id == 0 {
		err := q.w.queryRow(ctx,
			`INSERT INTO `+table+` (`+columns+`) VALUES (`+placeholders(len(values))+`) RETURNING id`,
			values...).Scan(&id)
		return id, err
	}
	args := append([]any{id}, values...)
	if _, err := q.w.exec(ctx,
		`INSERT INTO `+table+` (id, `+columns+`) VALUES (`+placeholders(len(args))+`)`, args...); err != nil {
		return 0, err
	}
	if q.d.syncID != "" {
		if _, err := q.w.exec(ctx, fmt.Sprintf(q.d.syncID, table), id, id); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// nullID stores a zero id as NULL.
func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// jsonList is the JSON of a list column: "[]" for none.
func jsonList[T any](v []T) []byte {
	if len(v) == 0 {
		return []byte("[]")
	}
	b, err := json.Marshal(v)
	if err != nil { // plain structs of strings: cannot fail
		panic(err)
	}
	return b
}

// fromJSON reads a JSON list column; empty is none.
func fromJSON[T any](b []byte, v *[]T) error {
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("malformed JSON column: %w", err)
	}
	if len(*v) == 0 {
		*v = nil
	}
	return nil
}

// inList returns " AND column IN (?, ...)" for n values, or "" when n is 0.
func inList(column string, n int) string {
	if n == 0 {
		return ""
	}
	return ` AND ` + column + ` IN (` + placeholders(n) + `)`
}

// anys converts strings to query arguments.
func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

const statusColumns = `id, account, text, content_html, spoiler_text, sensitive, language, visibility,
	COALESCE(in_reply_to_id, 0), mentions, tags, COALESCE(idempotency_key, ''),
	created_at, edited_at, deleted_at, pinned_at, in_reply_to_uri, COALESCE(in_reply_to_remote_id, 0)`

const statusInsertColumns = `account, text, content_html, spoiler_text, sensitive, language, visibility,
	in_reply_to_id, mentions, tags, idempotency_key, created_at, edited_at, deleted_at, pinned_at,
	in_reply_to_uri, in_reply_to_remote_id`

func scanStatus(s scanner) (Status, error) {
	var (
		st                      Status
		created                 int64
		edited, deleted, pinned sql.NullInt64
		mentions, tags          []byte
	)
	err := s.Scan(&st.ID, &st.Account, &st.Text, &st.ContentHTML, &st.SpoilerText, &st.Sensitive,
		&st.Language, &st.Visibility, &st.InReplyToID, &mentions, &tags, &st.IdempotencyKey,
		&created, &edited, &deleted, &pinned, &st.InReplyToURI, &st.InReplyToRemoteID)
	if err == nil {
		err = fromJSON(mentions, &st.Mentions)
	}
	if err == nil {
		err = fromJSON(tags, &st.Tags)
	}
	st.CreatedAt = time.UnixMicro(created).UTC()
	st.EditedAt = fromMicros(edited)
	st.DeletedAt = fromMicros(deleted)
	st.PinnedAt = fromMicros(pinned)
	return st, err
}

// checkMediaIDs refuses a media id listed twice.
func checkMediaIDs(ids []int64) error {
	for i, id := range ids {
		if slices.Contains(ids[:i], id) {
			return fmt.Errorf("media %d listed twice", id)
		}
	}
	return nil
}

// attachMedia attaches the media ids, in order, to the status. Each must
// exist, belong to account, be ready (a video processed) and be
// unattached, else ErrNotFound (the caller
// runs this in atomic, so that nothing stays written).
func (q *queries) attachMedia(ctx context.Context, account string, statusID int64, ids []int64) error {
	for i, mid := range ids {
		n, err := q.w.execN(ctx,
			`UPDATE media SET status_id = ?, position = ?, removed_at = NULL WHERE id = ? AND account = ? AND status_id IS NULL AND state = ?`,
			statusID, i, mid, account, MediaReady)
		if err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("media %d is unknown, another account's, not processed or attached to another status: %w", mid, ErrNotFound)
		}
	}
	return nil
}

// detachMedia detaches a status's media and marks them removed at `at`
// (their URLs answer 410 until a status attaches them again).
func (q *queries) detachMedia(ctx context.Context, statusID int64, at time.Time) error {
	_, err := q.w.exec(ctx, `UPDATE media SET status_id = NULL, position = 0, removed_at = ? WHERE status_id = ?`, orNow(at).UnixMicro(), statusID)
	return err
}

// mediaIDsBatch is the most status ids looked up in one query by
// fillMediaIDs.
const mediaIDsBatch = 256

// mediaIDsQuery lists the media ids of n statuses, in attachment order.
func mediaIDsQuery(n int) string {
	return `SELECT status_id, id FROM media WHERE status_id IN (` + placeholders(n) + `) ORDER BY status_id, position`
}

// fillMediaIDs sets the MediaIDs of statuses, with one query per
// mediaIDsBatch statuses. The id list is padded to a power of two so
// that few statement shapes get prepared.
func (q *queries) fillMediaIDs(ctx context.Context, ss []Status) error {
	if len(ss) == 0 {
		return nil
	}
	at := make(map[int64]int, len(ss))
	for i := range ss {
		ss[i].MediaIDs = nil
		at[ss[i].ID] = i
	}
	for start := 0; start < len(ss); start += mediaIDsBatch {
		batch := ss[start:min(len(ss), start+mediaIDsBatch)]
		n := 1
		for n < len(batch) {
			n <<= 1
		}
		args := make([]any, n)
		for i := range args {
			args[i] = batch[min(i, len(batch)-1)].ID
		}
		rows, err := q.r.query(ctx, mediaIDsQuery(n), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var sid, mid int64
			if err := rows.Scan(&sid, &mid); err != nil {
				rows.Close()
				return err
			}
			if i, ok := at[sid]; ok {
				ss[i].MediaIDs = append(ss[i].MediaIDs, mid)
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// InsertStatus stores s, as handed (times included; zero CreatedAt means
// now), and attaches its media in the same transaction. An empty account
// or visibility, or a media id listed twice, is refused.
func (q *queries) InsertStatus(ctx context.Context, s Status) (int64, error) {
	action := fmt.Sprintf("insert status of %q", s.Account)
	switch {
	case s.Account == "":
		return 0, q.d.wrap(action, errors.New("empty account"))
	case s.Visibility == "":
		return 0, q.d.wrap(action, errors.New("empty visibility"))
	}
	if err := checkMediaIDs(s.MediaIDs); err != nil {
		return 0, q.d.wrap(action, err)
	}
	var key any // NULL when empty, so that keyless statuses never collide
	if s.IdempotencyKey != "" {
		key = s.IdempotencyKey
	}
	var id int64
	err := q.atomic(ctx, func(tq *queries) error {
		var err error
		id, err = tq.insertRow(ctx, "statuses", statusInsertColumns, s.ID,
			s.Account, s.Text, s.ContentHTML, s.SpoilerText, s.Sensitive, s.Language, s.Visibility,
			nullID(s.InReplyToID), jsonList(s.Mentions), jsonList(s.Tags), key, orNow(s.CreatedAt).UnixMicro(),
			micros(s.EditedAt), micros(s.DeletedAt), micros(s.PinnedAt), s.InReplyToURI, nullID(s.InReplyToRemoteID))
		if err != nil {
			return err
		}
		return tq.attachMedia(ctx, s.Account, id, s.MediaIDs)
	})
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

// UpdateStatus edits the live status s.ID of s.Account (ErrNotFound
// otherwise); a zero EditedAt means now. Media no longer listed are
// detached; the listed ones are attached in the new order, with
// InsertStatus's checks.
func (q *queries) UpdateStatus(ctx context.Context, s Status) error {
	action := fmt.Sprintf("update status %d of %q", s.ID, s.Account)
	if err := checkMediaIDs(s.MediaIDs); err != nil {
		return q.d.wrap(action, err)
	}
	err := q.atomic(ctx, func(tq *queries) error {
		n, err := tq.w.execN(ctx,
			`UPDATE statuses SET text = ?, content_html = ?, spoiler_text = ?, sensitive = ?, language = ?,
			        mentions = ?, tags = ?, edited_at = ?
			 WHERE id = ? AND account = ? AND deleted_at IS NULL`,
			s.Text, s.ContentHTML, s.SpoilerText, s.Sensitive, s.Language, jsonList(s.Mentions), jsonList(s.Tags),
			orNow(s.EditedAt).UnixMicro(), s.ID, s.Account)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		if err := tq.detachMedia(ctx, s.ID, s.EditedAt); err != nil {
			return err
		}
		return tq.attachMedia(ctx, s.Account, s.ID, s.MediaIDs)
	})
	if err != nil {
		return q.d.wrap(action, err)
	}
	return nil
}

// DeleteStatus turns a live status of account into a tombstone (its
// content is kept, e.g. for delete-and-redraft), unpins it and detaches
// its media, which can then be attached again. ErrNotFound when there is
// no such live status (deleting twice keeps the first time). A zero at
// means now.
func (q *queries) DeleteStatus(ctx context.Context, account string, id int64, at time.Time) error {
	err := q.atomic(ctx, func(tq *queries) error {
		n, err := tq.w.execN(ctx,
			`UPDATE statuses SET deleted_at = ?, pinned_at = NULL WHERE id = ? AND account = ? AND deleted_at IS NULL`,
			orNow(at).UnixMicro(), id, account)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tq.detachMedia(ctx, id, at)
	})
	if err != nil {
		return q.d.wrap(fmt.Sprintf("delete status %d of %q", id, account), err)
	}
	return nil
}

// SetStatusPinned pins or unpins a live status of account (ErrNotFound
// otherwise). Pinning a pinned status keeps its first PinnedAt.
func (q *queries) SetStatusPinned(ctx context.Context, account string, id int64, at time.Time) error {
	var (
		n   int64
		err error
	)
	if at.IsZero() {
		n, err = q.w.execN(ctx,
			`UPDATE statuses SET pinned_at = NULL WHERE id = ? AND account = ? AND deleted_at IS NULL`,
			id, account)
	} else {
		n, err = q.w.execN(ctx,
			`UPDATE statuses SET pinned_at = COALESCE(pinned_at, ?) WHERE id = ? AND account = ? AND deleted_at IS NULL`,
			at.UnixMicro(), id, account)
	}
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("set pinned status %d of %q", id, account), err)
	}
	return nil
}

// getStatus reads one status and its media ids; errors are unwrapped.
func (q *queries) getStatus(ctx context.Context, query string, args ...any) (Status, error) {
	st, err := scanStatus(q.r.queryRow(ctx, query, args...))
	if err != nil {
		return Status{}, err
	}
	ss := []Status{st}
	if err := q.fillMediaIDs(ctx, ss); err != nil {
		return Status{}, err
	}
	return ss[0], nil
}

func (q *queries) GetStatus(ctx context.Context, id int64) (Status, error) {
	st, err := q.getStatus(ctx, `SELECT `+statusColumns+` FROM statuses WHERE id = ?`, id)
	if err != nil {
		return Status{}, q.d.wrap(fmt.Sprintf("get status %d", id), err)
	}
	return st, nil
}

// GetStatusByIdempotencyKey returns the status (deleted or not) created
// with key; ErrNotFound for an empty key.
func (q *queries) GetStatusByIdempotencyKey(ctx context.Context, account, key string) (Status, error) {
	action := fmt.Sprintf("get status of %q by idempotency key", account)
	if key == "" {
		return Status{}, q.d.wrap(action, ErrNotFound)
	}
	st, err := q.getStatus(ctx,
		`SELECT `+statusColumns+` FROM statuses WHERE account = ? AND idempotency_key = ?`, account, key)
	if err != nil {
		return Status{}, q.d.wrap(action, err)
	}
	return st, nil
}

// listStatuses runs a query returning statuses and fills their media ids;
// errors are unwrapped.
func (q *queries) listStatuses(ctx context.Context, query string, args ...any) ([]Status, error) {
	// collect closes the rows before fillMediaIDs queries: a transaction
	// (or :memory: SQLite) has one connection.
	out, err := collect(scanStatus)(q.r.query(ctx, query, args...))
	if err != nil {
		return nil, err
	}
	if err := q.fillMediaIDs(ctx, out); err != nil {
		return nil, err
	}
	return out, nil
}

// statusPageQuery selects a page of an account's live statuses between two
// ids, with visibilities placeholders for the visibility filter, in
// ascending or descending id order. It reads the statuses_account_live
// index in order and stops after the page.
func statusPageQuery(visibilities int, asc bool) string {
	order := "DESC"
	if asc {
		order = "ASC"
	}
	return `SELECT ` + statusColumns + ` FROM statuses
		WHERE account = ? AND deleted_at IS NULL AND id > ? AND id < ?` + inList("visibility", visibilities) + `
		ORDER BY id ` + order + ` LIMIT ?`
}

// ListStatuses pages through the live statuses of p.Account (an empty
// account has none). A non-positive Limit lists nothing.
func (q *queries) ListStatuses(ctx context.Context, p StatusPage) ([]Status, error) {
	if p.Limit <= 0 {
		return nil, nil
	}
	lower := max(p.SinceID, p.MinID)
	upper := int64(math.MaxInt64)
	if p.MaxID != 0 {
		upper = p.MaxID
	}
	asc := p.MinID != 0 // the oldest ones above MinID, reversed below
	args := make([]any, 0, 4+len(p.Visibilities))
	args = append(args, p.Account, lower, upper)
	args = append(args, anys(p.Visibilities)...)
	args = append(args, p.Limit)

	out, err := q.listStatuses(ctx, statusPageQuery(len(p.Visibilities), asc), args...)
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list statuses of %q", p.Account), err)
	}
	if asc {
		slices.Reverse(out)
	}
	return out, nil
}

func (q *queries) ListPinned(ctx context.Context, account string) ([]Status, error) {
	out, err := q.listStatuses(ctx,
		`SELECT `+statusColumns+` FROM statuses
		 WHERE account = ? AND pinned_at IS NOT NULL AND deleted_at IS NULL
		 ORDER BY pinned_at DESC, id DESC`, account)
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list pinned statuses of %q", account), err)
	}
	return out, nil
}

// CountStatuses counts the live statuses of account with one of the
// visibilities (any when empty).
func (q *queries) CountStatuses(ctx context.Context, account string, visibilities []string) (int64, error) {
	args := append([]any{account}, anys(visibilities)...)
	var n int64
	err := q.r.queryRow(ctx,
		`SELECT COUNT(*) FROM statuses WHERE account = ? AND deleted_at IS NULL`+inList("visibility", len(visibilities)),
		args...).Scan(&n)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("count statuses of %q", account), err)
	}
	return n, nil
}

// blob returns b, or an empty slice for nil (NOT NULL blob columns).
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// orNil returns nil for an empty byte slice.
func orNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
