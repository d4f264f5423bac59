package storage

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// migrationLockKey is the pg_advisory_xact_lock key serialising migrators
// (an arbitrary constant: "passerll" in ASCII).
const migrationLockKey = 0x7061737365726c6c

func postgresDialect() *dialect {
	return &dialect{
		name:          "postgres",
		rebind:        rebindNumbered,
		mapErr:        mapPostgresError,
		claimFrom:     "jobs",
		claimLock:     " FOR UPDATE SKIP LOCKED",
		migrationLock: fmt.Sprintf(`SELECT pg_advisory_xact_lock(%d)`, int64(migrationLockKey)),
		// Only ever raises the sequence: lowering it below ids handed to
		// concurrent inserts would make them collide later.
		syncID: `SELECT setval(pg_get_serial_sequence('%[1]s', 'id'), ?)
			WHERE ? > COALESCE(pg_sequence_last_value(pg_get_serial_sequence('%[1]s', 'id')::regclass), 0)`,
	}
}

// mapPostgresError maps pgx server errors to storage errors.
func mapPostgresError(err error) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return err
	}
	switch e.Code {
	case "23505": // unique_violation
		return ErrAlreadyExists
	case "40001", "40P01", "55P03": // serialization_failure, deadlock_detected, lock_not_available
		return fmt.Errorf("%w: %s", ErrBusy, e.Error())
	default:
		return errors.New(e.Error())
	}
}

// openPostgres opens a pool on a postgres:// URL. Parameters that pgx does
// not know, such as search_path, are sent to the server as run-time
// settings of every connection.
func openPostgres(dsn string) (*store, error) {
	if dsn == "" {
		return nil, errors.New("storage: open postgres: empty dsn")
	}
	d := postgresDialect()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		// A DSN parse error (passwords redacted by pgx); not worth a
		// sentinel, and its type must not escape.
		return nil, fmt.Errorf("storage: open postgres: %v", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	p := newPool(db, d)
	return newStore(d, p, p), nil
}
