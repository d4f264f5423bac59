// Package storagetest is the conformance suite every storage backend must
// pass, and helpers that open a real, throw-away store for other packages'
// tests.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

// PostgresURLEnv names the environment variable holding the URL of a
// PostgreSQL database tests may create schemas in.
const PostgresURLEnv = "BRIDGE_TEST_POSTGRES_URL"

// OpenSQLite opens a store on a new SQLite file in a temporary directory,
// closed when the test ends.
func OpenSQLite(tb testing.TB) storage.Store {
	tb.Helper()
	cfg := storage.Config{Driver: "sqlite", DSN: filepath.Join(tb.TempDir(), "passerelle.db")}
	return open(tb, cfg)
}

// PostgresURL returns the test database URL. When it is not set the test
// is skipped, except under CI=true where it fails: CI must never silently
// skip the PostgreSQL run.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(PostgresURLEnv)
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal(PostgresURLEnv + " not set while CI=true: the PostgreSQL conformance run must not be skipped in CI")
		}
		tb.Skip(PostgresURLEnv + " not set: skipping the PostgreSQL conformance run")
	}
	return u
}

// OpenPostgres opens a store in a new schema of the database at
// PostgresURL (see PostgresSchema), closed when the test ends.
func OpenPostgres(tb testing.TB) storage.Store {
	tb.Helper()
	return open(tb, storage.Config{Driver: "postgres", DSN: PostgresSchema(tb)})
}

// PostgresSchema creates a new, empty schema (test_<random hex>) in the
// database at PostgresURL, dropped when the test ends, and returns a DSN
// whose connections use it as search_path. Skips or fails as PostgresURL
// does when no database is configured.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL(tb)
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		tb.Fatalf("%s must be a postgres:// URL", PostgresURLEnv)
	}

	var b [8]byte
	_, _ = rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		tb.Fatalf("connect to %s: %v", PostgresURLEnv, err)
	}
	if _, err := admin.ExecContext(context.Background(), "CREATE SCHEMA "+schema); err != nil {
		_ = admin.Close()
		tb.Fatalf("create schema: %v", err)
	}
	// Cleanups run last-registered first: stores opened on the schema
	// after this call are closed before it is dropped.
	tb.Cleanup(func() {
		if _, err := admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})

	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(tb testing.TB, cfg storage.Config) storage.Store {
	tb.Helper()
	s, err := storage.Open(context.Background(), cfg, zerolog.New(zerolog.NewTestWriter(tb)))
	if err != nil {
		tb.Fatalf("open %s store: %v", cfg.Driver, err)
	}
	tb.Cleanup(func() {
		if err := s.Close(); err != nil {
			tb.Errorf("close store: %v", err)
		}
	})
	return s
}
