package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// mediaColumns never include data: only GetMediaData reads the bytes.
const mediaColumns = `id, account, COALESCE(status_id, 0), media_type, width, height, size, blurhash,
	description, focus_x, focus_y, path, created_at, removed_at,
	state, error, duration, poster_path, poster_size, captions, captions_lang, loop`

func scanMedia(s scanner) (Media, error) { return scanMediaWith(s) }

// scanMediaWith scans the mediaColumns, then extra.
func scanMediaWith(s scanner, extra ...any) (Media, error) {
	var (
		m        Media
		created  int64
		removed  sql.NullInt64
		duration int64
		loop     int
	)
	dest := append([]any{&m.ID, &m.Account, &m.StatusID, &m.MediaType, &m.Width, &m.Height, &m.Size,
		&m.Blurhash, &m.Description, &m.FocusX, &m.FocusY, &m.Path, &created, &removed,
		&m.State, &m.Error, &duration, &m.PosterPath, &m.PosterSize, &m.Captions, &m.CaptionsLang, &loop}, extra...)
	err := s.Scan(dest...)
	m.CreatedAt = time.UnixMicro(created).UTC()
	m.RemovedAt = fromMicros(removed)
	m.Duration = time.Duration(duration) * time.Microsecond
	m.Loop = loop != 0
	return m, err
}

// InsertMedia stores an unattached media (StatusID is ignored: media are
// attached by InsertStatus and UpdateStatus only). ID and CreatedAt are
// assigned when zero. Data, when not nil, is stored in the database.
func (q *queries) InsertMedia(ctx context.Context, m Media) (int64, error) {
	action := fmt.Sprintf("insert media of %q", m.Account)
	if m.Account == "" {
		return 0, q.d.wrap(action, errors.New("empty account"))
	}
	if m.State < MediaReady || m.State > MediaFailed {
		return 0, q.d.wrap(action, fmt.Errorf("invalid state %d", m.State))
	}
	id, err := q.insertRow(ctx, "media",
		`account, status_id, position, media_type, width, height, size, blurhash, description,
		 focus_x, focus_y, path, data, created_at,
		 state, error, duration, poster_path, poster_data, poster_size, captions, captions_lang, loop`, m.ID,
		m.Account, nil, 0, m.MediaType, m.Width, m.Height, m.Size, m.Blurhash, m.Description,
		m.FocusX, m.FocusY, m.Path, nullBytes(m.Data), orNow(m.CreatedAt).UnixMicro(),
		m.State, m.Error, m.Duration.Microseconds(), m.PosterPath, nullBytes(m.PosterData), m.PosterSize,
		m.Captions, m.CaptionsLang, boolInt(m.Loop))
	if err != nil {
		return 0, q.d.wrap(action, err)
	}
	return id, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nullBytes is NULL for nil bytes (they are in a file).
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// GetMediaPoster returns the poster bytes held in the database.
func (q *queries) GetMediaPoster(ctx context.Context, id int64) ([]byte, error) {
	var data []byte
	if err := q.r.queryRow(ctx, `SELECT poster_data FROM media WHERE id = ?`, id).Scan(&data); err != nil {
		return nil, q.d.wrap(fmt.Sprintf("get poster of media %d", id), err)
	}
	return data, nil
}

// FinishMedia records a processing result (see Store).
func (q *queries) FinishMedia(ctx context.Context, m Media) error {
	n, err := q.w.execN(ctx,
		`UPDATE media SET media_type = ?, width = ?, height = ?, size = ?, blurhash = ?, duration = ?,
		 path = ?, data = ?, poster_path = ?, poster_data = ?, poster_size = ?, state = ?, error = ''
		 WHERE id = ? AND state = ?`,
		m.MediaType, m.Width, m.Height, m.Size, m.Blurhash, m.Duration.Microseconds(),
		m.Path, nullBytes(m.Data), m.PosterPath, nullBytes(m.PosterData), m.PosterSize, MediaReady,
		m.ID, MediaProcessing)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("finish media %d", m.ID), err)
	}
	return nil
}

// FailMedia marks a processing media failed (see Store).
func (q *queries) FailMedia(ctx context.Context, id int64, reason string) error {
	n, err := q.w.execN(ctx,
		`UPDATE media SET state = ?, error = ?, path = '', data = NULL, size = 0 WHERE id = ? AND state = ?`,
		MediaFailed, reason, id, MediaProcessing)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("fail media %d", id), err)
	}
	return nil
}

// GetMedia returns a media row without its Data.
func (q *queries) GetMedia(ctx context.Context, id int64) (Media, error) {
	m, err := scanMedia(q.r.queryRow(ctx, `SELECT `+mediaColumns+` FROM media WHERE id = ?`, id))
	if err != nil {
		return Media{}, q.d.wrap(fmt.Sprintf("get media %d", id), err)
	}
	return m, nil
}

// GetMediaData returns a media row with its Data (nil when the bytes are
// in a file, at Path).
func (q *queries) GetMediaData(ctx context.Context, id int64) (Media, error) {
	var data []byte
	m, err := scanMediaWith(q.r.queryRow(ctx, `SELECT `+mediaColumns+`, data FROM media WHERE id = ?`, id), &data)
	if err != nil {
		return Media{}, q.d.wrap(fmt.Sprintf("get media %d with data", id), err)
	}
	m.Data = data
	return m, nil
}

// UpdateMediaMeta sets the alt text and focus point; ErrNotFound when
// there is no such media.
func (q *queries) UpdateMediaMeta(ctx context.Context, id int64, description string, focusX, focusY float64) error {
	n, err := q.w.execN(ctx,
		`UPDATE media SET description = ?, focus_x = ?, focus_y = ? WHERE id = ?`,
		description, focusX, focusY, id)
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("update media %d", id), err)
	}
	return nil
}

// ListStatusMedia lists a status's media (none for an unknown or deleted
// status), without their Data.
func (q *queries) ListStatusMedia(ctx context.Context, statusID int64) ([]Media, error) {
	out, err := collect(scanMedia)(q.r.query(ctx,
		`SELECT `+mediaColumns+` FROM media WHERE status_id = ? ORDER BY position`, statusID))
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list media of status %d", statusID), err)
	}
	return out, nil
}

// collect returns a function reading every row of a query with scan,
// used as collect(scan)(q.r.query(...)); errors are unwrapped.
func collect[T any](scan func(scanner) (T, error)) func(*sql.Rows, error) ([]T, error) {
	return func(rows *sql.Rows, err error) ([]T, error) {
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []T
		for rows.Next() {
			v, err := scan(rows)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, rows.Err()
	}
}
