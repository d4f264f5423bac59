package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrLockNotHeld is returned when a lock is renewed or released by an owner
// that does not hold it (it expired and another owner took it, or it was
// never taken).
var ErrLockNotHeld = errors.New("storage: lock not held")

// Entry describes one value of the key/value store.
type Entry struct {
	Path     string
	Value    []byte // nil from StatValue and ListValues
	Size     int64  // length of Value in bytes
	Modified time.Time
}

// KV is a small key/value store with path-like keys ("a/b/c") and expiring
// named locks. Every process using the same database shares it: package
// tlsauto keeps TLS certificates and the ACME account there, so replicas
// sharing PostgreSQL share certificates and a restart needs no new
// issuance.
//
// Paths compare bytewise. A "directory" is a path prefix ending at a "/":
// "a" is the directory of "a/b" but not of "ab/c".
type KV interface {
	// PutValue stores value at path, replacing any previous value.
	PutValue(ctx context.Context, path string, value []byte, modified time.Time) error
	// GetValue returns the entry at path, or ErrNotFound.
	GetValue(ctx context.Context, path string) (Entry, error)
	// StatValue is GetValue without the value, or ErrNotFound.
	StatValue(ctx context.Context, path string) (Entry, error)
	// ListValues returns the entries (without values) whose path is under
	// dir ("dir/..."), at any depth, ordered by path; every entry when dir
	// is empty.
	ListValues(ctx context.Context, dir string) ([]Entry, error)
	// DeleteValues deletes the entry at path and every entry under it
	// ("path/..."), and returns how many went. Deleting nothing is no
	// error.
	DeleteValues(ctx context.Context, path string) (int64, error)

	// AcquireLock takes the named lock for owner until now+ttl, unless
	// another owner holds it and it has not expired (then acquired is
	// false). An expired lock is taken over: its holder presumably
	// crashed. Locks are not re-entrant: an owner that holds the lock
	// does not get it again.
	AcquireLock(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (acquired bool, err error)
	// RenewLock extends owner's lock until now+ttl; ErrLockNotHeld if owner
	// does not hold it (even expired locks are renewed while nobody took
	// them over).
	RenewLock(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) error
	// ReleaseLock releases owner's lock; ErrLockNotHeld if owner does not
	// hold it.
	ReleaseLock(ctx context.Context, name, owner string) error
}

// dirRange returns the bounds of the paths under dir: [dir+"/", dir+"0"),
// "0" being the byte after "/".
func dirRange(dir string) (lo, hi string) {
	return dir + "/", dir + "0"
}

func (s *store) PutValue(ctx context.Context, path string, value []byte, modified time.Time) error {
	if path == "" {
		return errors.New("storage: put value: empty path")
	}
	if value == nil {
		value = []byte{}
	}
	_, err := s.w.exec(ctx,
		`INSERT INTO kv (path, value, modified_at) VALUES (?, ?, ?)
		 ON CONFLICT (path) DO UPDATE SET value = excluded.value, modified_at = excluded.modified_at`,
		path, value, orNow(modified).UnixMicro())
	if err != nil {
		return s.d.wrap(fmt.Sprintf("put value %q", path), err)
	}
	return nil
}

func (s *store) GetValue(ctx context.Context, path string) (Entry, error) {
	e := Entry{Path: path}
	var modified int64
	err := s.r.queryRow(ctx, `SELECT value, modified_at FROM kv WHERE path = ?`, path).Scan(&e.Value, &modified)
	if err != nil {
		return Entry{}, s.d.wrap(fmt.Sprintf("get value %q", path), err)
	}
	if e.Value == nil {
		e.Value = []byte{}
	}
	e.Size = int64(len(e.Value))
	e.Modified = time.UnixMicro(modified).UTC()
	return e, nil
}

func (s *store) StatValue(ctx context.Context, path string) (Entry, error) {
	e := Entry{Path: path}
	var modified int64
	err := s.r.queryRow(ctx, `SELECT LENGTH(value), modified_at FROM kv WHERE path = ?`, path).Scan(&e.Size, &modified)
	if err != nil {
		return Entry{}, s.d.wrap(fmt.Sprintf("stat value %q", path), err)
	}
	e.Modified = time.UnixMicro(modified).UTC()
	return e, nil
}

func (s *store) ListValues(ctx context.Context, dir string) ([]Entry, error) {
	action := fmt.Sprintf("list values under %q", dir)
	var (
		rows *sql.Rows
		err  error
	)
	if dir == "" {
		rows, err = s.r.query(ctx, `SELECT path, LENGTH(value), modified_at FROM kv ORDER BY path`)
	} else {
		lo, hi := dirRange(dir)
		rows, err = s.r.query(ctx,
			`SELECT path, LENGTH(value), modified_at FROM kv WHERE path >= ? AND path < ? ORDER BY path`, lo, hi)
	}
	if err != nil {
		return nil, s.d.wrap(action, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var (
			e        Entry
			modified int64
		)
		if err := rows.Scan(&e.Path, &e.Size, &modified); err != nil {
			return nil, s.d.wrap(action, err)
		}
		e.Modified = time.UnixMicro(modified).UTC()
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.d.wrap(action, err)
	}
	return out, nil
}

func (s *store) DeleteValues(ctx context.Context, path string) (int64, error) {
	if path == "" {
		return 0, errors.New("storage: delete values: empty path")
	}
	lo, hi := dirRange(path)
	n, err := s.w.execN(ctx, `DELETE FROM kv WHERE path = ? OR (path >= ? AND path < ?)`, path, lo, hi)
	if err != nil {
		return 0, s.d.wrap(fmt.Sprintf("delete values %q", path), err)
	}
	return n, nil
}

func (s *store) AcquireLock(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) (bool, error) {
	if owner == "" {
		return false, errors.New("storage: acquire lock: empty owner")
	}
	// One statement: insert, or take over an expired lock. The row count
	// says which happened (0 when a live lock blocked both).
	n, err := s.w.execN(ctx,
		`INSERT INTO kv_locks (name, owner, expires_at) VALUES (?, ?, ?)
		 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
		 WHERE kv_locks.expires_at <= ?`,
		name, owner, now.Add(ttl).UnixMicro(), now.UnixMicro())
	if err != nil {
		return false, s.d.wrap(fmt.Sprintf("acquire lock %q", name), err)
	}
	return n == 1, nil
}

func (s *store) RenewLock(ctx context.Context, name, owner string, now time.Time, ttl time.Duration) error {
	n, err := s.w.execN(ctx, `UPDATE kv_locks SET expires_at = ? WHERE name = ? AND owner = ?`,
		now.Add(ttl).UnixMicro(), name, owner)
	if err == nil && n == 0 {
		err = ErrLockNotHeld
	}
	if err != nil {
		return s.d.wrap(fmt.Sprintf("renew lock %q", name), err)
	}
	return nil
}

func (s *store) ReleaseLock(ctx context.Context, name, owner string) error {
	n, err := s.w.execN(ctx, `DELETE FROM kv_locks WHERE name = ? AND owner = ?`, name, owner)
	if err == nil && n == 0 {
		err = ErrLockNotHeld
	}
	if err != nil {
		return s.d.wrap(fmt.Sprintf("release lock %q", name), err)
	}
	return nil
}

// LatestSchemaVersion is the version of the newest migration this binary
// embeds for driver ("sqlite" or "postgres"): a store whose SchemaVersion
// is lower has not been migrated by this binary.
func LatestSchemaVersion(driver string) (int, error) {
	ms, err := loadMigrations(driver)
	if err != nil {
		return 0, fmt.Errorf("storage: migrations of %q: %w", driver, err)
	}
	if len(ms) == 0 {
		return 0, fmt.Errorf("storage: no migrations for %q", driver)
	}
	return ms[len(ms)-1].version, nil
}
