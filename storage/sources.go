package storage

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// This file keeps the state of the sources posts are brought in from
// besides the client API: the website's RSS and Atom feeds, and archive
// imports (the X archive). The posts themselves are ordinary statuses.

// FeedState is what is known of one account's feed between two polls.
type FeedState struct {
	Account string
	URL     string
	// ETag and LastModified are the validators of the last successful
	// fetch, sent back as If-None-Match and If-Modified-Since.
	ETag         string
	LastModified string
	// FirstRunDone is set once the entries present at the first fetch
	// were recorded (and posted only when backfilling was asked).
	FirstRunDone bool
	CheckedAt    time.Time // last fetch attempt; zero: never
	LastError    string    // empty when the last fetch succeeded
	// CappedAt is when a poll last reached the feed's caps (new posts per
	// poll or per hour), and CapNote what it did then; zero, "": never.
	CappedAt time.Time
	CapNote  string
}

// FeedEntryStats counts the recorded entries of a feed.
type FeedEntryStats struct {
	Seen        int64 // recorded, whatever became of them
	Posted      int64 // that became statuses
	Skipped     int64 // recorded without a post because of the feed's caps
	PostedSince int64 // posted (recorded) since the time asked
}

// Import states.
const (
	ImportRunning = "running"
	ImportDone    = "done"
	ImportFailed  = "failed"
)

// ImportRun is the progress of one archive import of an account.
type ImportRun struct {
	Account    string
	Source     string // e.g. "x:<X account id>"
	State      string // ImportRunning, ImportDone or ImportFailed
	Total      int64  // items in the archive that are to be imported
	Processed  int64  // items handled so far (imported or skipped)
	Counts     []byte // opaque JSON of the importer (summary counters)
	LastError  string
	StartedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero unless done or failed
}

// Sources is the storage of feed and import state.
type Sources interface {
	// GetFeedState returns ErrNotFound for a feed never fetched.
	GetFeedState(ctx context.Context, account, url string) (FeedState, error)
	// PutFeedState inserts or replaces the state of (Account, URL).
	PutFeedState(ctx context.Context, f FeedState) error
	// MarkFeedEntry records that the feed's entry was seen, with the
	// status it became (0: none, e.g. entries present at the first
	// fetch). first is false when it had already been recorded, which
	// then keeps its first status.
	MarkFeedEntry(ctx context.Context, account, url, entryID string, statusID int64, at time.Time) (first bool, err error)
	// FeedEntrySeen reports whether the entry was recorded.
	FeedEntrySeen(ctx context.Context, account, url, entryID string) (bool, error)
	// CountFeedEntries counts the recorded entries of a feed, and those
	// that became statuses.
	CountFeedEntries(ctx context.Context, account, url string) (seen, posted int64, err error)
	// SkipFeedEntry records the entry as skipped (not posted because of
	// the feed's caps); first is false when it had already been recorded,
	// which then stays as it was.
	SkipFeedEntry(ctx context.Context, account, url, entryID string, at time.Time) (first bool, err error)
	// FeedEntryStats counts the feed's recorded entries, and those posted
	// since `since` (by the time they were recorded).
	FeedEntryStats(ctx context.Context, account, url string, since time.Time) (FeedEntryStats, error)

	// GetImport returns ErrNotFound for an import never started.
	GetImport(ctx context.Context, account, source string) (ImportRun, error)
	// PutImport inserts or replaces the run of (Account, Source); a zero
	// StartedAt or UpdatedAt means now.
	PutImport(ctx context.Context, r ImportRun) error
}

const feedStateColumns = `account, url, etag, last_modified, first_run_done, checked_at, last_error, capped_at, cap_note`

func (q *queries) GetFeedState(ctx context.Context, account, url string) (FeedState, error) {
	var (
		f               FeedState
		checked, capped sql.NullInt64
	)
	err := q.r.queryRow(ctx, `SELECT `+feedStateColumns+` FROM feed_states WHERE account = ? AND url = ?`, account, url).
		Scan(&f.Account, &f.URL, &f.ETag, &f.LastModified, &f.FirstRunDone, &checked, &f.LastError, &capped, &f.CapNote)
	if err != nil {
		return FeedState{}, q.d.wrap(fmt.Sprintf("get state of feed %q of %q", url, account), err)
	}
	f.CheckedAt = fromMicros(checked)
	f.CappedAt = fromMicros(capped)
	return f, nil
}

func (q *queries) PutFeedState(ctx context.Context, f FeedState) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO feed_states (`+feedStateColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified,
		   first_run_done = excluded.first_run_done, checked_at = excluded.checked_at, last_error = excluded.last_error,
		   capped_at = excluded.capped_at, cap_note = excluded.cap_note`,
		f.Account, f.URL, f.ETag, f.LastModified, f.FirstRunDone, micros(f.CheckedAt), f.LastError, micros(f.CappedAt), f.CapNote)
	if err != nil {
		return q.d.wrap(fmt.Sprintf("put state of feed %q of %q", f.URL, f.Account), err)
	}
	return nil
}

func (q *queries) MarkFeedEntry(ctx context.Context, account, url, entryID string, statusID int64, at time.Time) (bool, error) {
	n, err := q.w.execN(ctx,
		`INSERT INTO feed_entries (account, url, entry_id, status_id, seen_at) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (account, url, entry_id) DO NOTHING`,
		account, url, entryID, nullID(statusID), orNow(at).UnixMicro())
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("mark entry of feed %q of %q", url, account), err)
	}
	return n == 1, nil
}

func (q *queries) FeedEntrySeen(ctx context.Context, account, url, entryID string) (bool, error) {
	var n int64
	err := q.r.queryRow(ctx,
		`SELECT COUNT(*) FROM feed_entries WHERE account = ? AND url = ? AND entry_id = ?`,
		account, url, entryID).Scan(&n)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("look up entry of feed %q of %q", url, account), err)
	}
	return n > 0, nil
}

func (q *queries) CountFeedEntries(ctx context.Context, account, url string) (int64, int64, error) {
	var seen, posted int64
	err := q.r.queryRow(ctx,
		`SELECT COUNT(*), COUNT(status_id) FROM feed_entries WHERE account = ? AND url = ?`,
		account, url).Scan(&seen, &posted)
	if err != nil {
		return 0, 0, q.d.wrap(fmt.Sprintf("count entries of feed %q of %q", url, account), err)
	}
	return seen, posted, nil
}

func (q *queries) SkipFeedEntry(ctx context.Context, account, url, entryID string, at time.Time) (bool, error) {
	n, err := q.w.execN(ctx,
		`INSERT INTO feed_entries (account, url, entry_id, status_id, seen_at, skipped) VALUES (?, ?, ?, NULL, ?, ?)
		 ON CONFLICT (account, url, entry_id) DO NOTHING`,
		account, url, entryID, orNow(at).UnixMicro(), true)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("skip entry of feed %q of %q", url, account), err)
	}
	return n == 1, nil
}

func (q *queries) FeedEntryStats(ctx context.Context, account, url string, since time.Time) (FeedEntryStats, error) {
	var st FeedEntryStats
	err := q.r.queryRow(ctx,
		`SELECT COUNT(*), COUNT(status_id),
		   COALESCE(SUM(CASE WHEN skipped THEN 1 ELSE 0 END), 0),
		   COALESCE(SUM(CASE WHEN status_id IS NOT NULL AND seen_at >= ? THEN 1 ELSE 0 END), 0)
		 FROM feed_entries WHERE account = ? AND url = ?`,
		since.UnixMicro(), account, url).Scan(&st.Seen, &st.Posted, &st.Skipped, &st.PostedSince)
	if err != nil {
		return FeedEntryStats{}, q.d.wrap(fmt.Sprintf("count entries of feed %q of %q", url, account), err)
	}
	return st, nil
}

const importColumns = `account, source, state, total, processed, counts, last_error, started_at, updated_at, finished_at`

func (q *queries) GetImport(ctx context.Context, account, source string) (ImportRun, error) {
	var (
		r                ImportRun
		started, updated int64
		finished         sql.NullInt64
	)
	err := q.r.queryRow(ctx, `SELECT `+importColumns+` FROM imports WHERE account = ? AND source = ?`, account, source).
		Scan(&r.Account, &r.Source, &r.State, &r.Total, &r.Processed, &r.Counts, &r.LastError, &started, &updated, &finished)
	if err != nil {
		return ImportRun{}, q.d.wrap(fmt.Sprintf("get import %q of %q", source, account), err)
	}
	r.Counts = orNil(r.Counts)
	r.StartedAt = time.UnixMicro(started).UTC()
	r.UpdatedAt = time.UnixMicro(updated).UTC()
	r.FinishedAt = fromMicros(finished)
	return r, nil
}

func (q *queries) PutImport(ctx context.Context, r ImportRun) error {
	action := fmt.Sprintf("put import %q of %q", r.Source, r.Account)
	if r.Account == "" || r.Source == "" || r.State == "" {
		return q.d.wrap(action, fmt.Errorf("empty account, source or state"))
	}
	_, err := q.w.exec(ctx,
		`INSERT INTO imports (`+importColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (account, source) DO UPDATE SET state = excluded.state, total = excluded.total,
		   processed = excluded.processed, counts = excluded.counts, last_error = excluded.last_error,
		   started_at = excluded.started_at, updated_at = excluded.updated_at, finished_at = excluded.finished_at`,
		r.Account, r.Source, r.State, r.Total, r.Processed, blob(r.Counts), r.LastError,
		orNow(r.StartedAt).UnixMicro(), orNow(r.UpdatedAt).UnixMicro(), micros(r.FinishedAt))
	if err != nil {
		return q.d.wrap(action, err)
	}
	return nil
}
