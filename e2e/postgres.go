package e2e

// The storage of a benchmark run: a SQLite file, or a throw-away schema
// in an existing PostgreSQL database.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
)

// StorageDSN returns the storage.dsn of a bridge for the -driver and -dsn
// flags of a benchmark program (its errors name them): for "sqlite", the
// file sqliteFile; for "postgres", a fresh schema in the database at dsn
// (see PostgresSchema). The caller runs drop when done with the database;
// it does nothing for SQLite.
func StorageDSN(driver, dsn, sqliteFile string) (bridgeDSN string, drop func(), err error) {
	switch driver {
	case "sqlite":
		return sqliteFile, func() {}, nil
	case "postgres":
		if dsn == "" {
			return "", nil, errors.New("-driver postgres needs -dsn (a postgres:// URL)")
		}
		return PostgresSchema(dsn)
	default:
		return "", nil, fmt.Errorf("-driver %q: want sqlite or postgres", driver)
	}
}

// ApplicationName is the application_name of a PostgreSQL DSN (a
// postgres:// URL), empty if it has none.
func ApplicationName(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return ""
	}
	return u.Query().Get("application_name")
}

// PostgresSchema creates a fresh, empty schema (bench_<random hex>) in the
// PostgreSQL database at base (a postgres:// URL) and returns a DSN whose
// connections use it as search_path and its name as application_name (see
// PostgresCPU), and a function dropping it (errors are printed to
// stderr). Its errors name the -dsn flag of the benchmark
// programs.
func PostgresSchema(base string) (dsn string, drop func(), err error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return "", nil, errors.New("-dsn must be a postgres:// URL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	db, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		db.Close()
		return "", nil, fmt.Errorf("create schema: %w", err)
	}
	drop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			fmt.Fprintln(os.Stderr, "e2e: drop schema:", err)
		}
		db.Close()
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("application_name", schema)
	u.RawQuery = q.Encode()
	return u.String(), drop, nil
}
