package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// sqliteReaders is the size of the read-only pool.
const sqliteReaders = 4

func sqliteDialect() *dialect {
	return &dialect{
		name:   "sqlite",
		rebind: func(q string) string { return q },
		mapErr: mapSQLiteError,
		// Without statistics the planner prefers jobs_status and sorts
		// every due job; jobs_due yields them in order and stops early.
		claimFrom: "jobs INDEXED BY jobs_due",
	}
}

// mapSQLiteError maps modernc.org/sqlite errors to storage errors.
func mapSQLiteError(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return err
	}
	switch code := e.Code(); {
	case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE, code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return ErrAlreadyExists
	case code&0xff == sqlite3.SQLITE_BUSY, code&0xff == sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %s", ErrBusy, e.Error())
	default:
		return errors.New(e.Error())
	}
}

// openSQLite opens a database file with a single writer connection (every
// write and every transaction, BEGIN IMMEDIATE) and a pool of read-only
// connections, in WAL mode so that readers never wait for the writer.
// ":memory:" opens a private in-memory database on one connection, for
// tests.
func openSQLite(path string) (*store, error) {
	if path == "" {
		return nil, errors.New("storage: open sqlite: empty path")
	}
	if strings.ContainsRune(path, '?') {
		return nil, fmt.Errorf("storage: open sqlite: path %q must not contain '?' (parameters are set by passerelle)", path)
	}
	d := sqliteDialect()
	pragmas := func(p ...string) url.Values {
		v := url.Values{"_pragma": append([]string{"busy_timeout(10000)"}, p...)}
		return v
	}

	if path == ":memory:" {
		v := pragmas("foreign_keys(ON)")
		db, err := sql.Open("sqlite", path+"?"+v.Encode())
		if err != nil {
			return nil, fmt.Errorf("storage: open sqlite: %w", d.mapErr(err))
		}
		// One connection forever: closing it would lose the database.
		db.SetMaxOpenConns(1)
		db.SetMaxIdleConns(1)
		p := newPool(db, d)
		return newStore(d, p, p), nil
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("storage: open sqlite: %w", err)
	}
	// The file holds private keys: create it private. SQLite gives the
	// -wal and -shm files the same mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("storage: open sqlite: %w", err)
	}
	_ = f.Close()

	wv := pragmas("journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(ON)")
	wv.Set("_txlock", "immediate")
	wdb, err := sql.Open("sqlite", path+"?"+wv.Encode())
	if err != nil {
		return nil, fmt.Errorf("storage: open sqlite writer: %w", d.mapErr(err))
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)

	rv := pragmas("query_only(1)")
	rdb, err := sql.Open("sqlite", path+"?"+rv.Encode())
	if err != nil {
		_ = wdb.Close()
		return nil, fmt.Errorf("storage: open sqlite readers: %w", d.mapErr(err))
	}
	rdb.SetMaxOpenConns(sqliteReaders)
	rdb.SetMaxIdleConns(sqliteReaders)

	return newStore(d, newPool(wdb, d), newPool(rdb, d)), nil
}
