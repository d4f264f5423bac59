package pdstest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// PostgresEnv names the PostgreSQL URL the AppView's tests use (its
// schema is their own).
const PostgresEnv = "BRIDGE_TEST_POSTGRES_URL"

// StartT starts a PLC and a PDS (and the AppView with opts.AppView, on
// PostgreSQL at opts.AppViewPostgresURL or else $BRIDGE_TEST_POSTGRES_URL)
// for a test, stopped when it ends (with the log shown if it failed). When
// the PDS, the AppView or PostgreSQL is missing the test is skipped,
// except under CI=true, where it fails: CI must never silently skip the
// real PDS and AppView.
func StartT(tb testing.TB, opts Options) *Server {
	tb.Helper()
	skip := func(err error) {
		tb.Helper()
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (CI=true: the Bluesky PDS and AppView tests must not be skipped)", err)
		}
		tb.Skip(err.Error())
	}
	dir, err := Dir()
	if errors.Is(err, ErrNotInstalled) {
		skip(err)
	}
	if opts.AppView {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", "@atproto", "bsky")); err != nil {
			skip(ErrAppViewNotInstalled)
		}
		if opts.AppViewPostgresURL == "" {
			opts.AppViewPostgresURL = os.Getenv(PostgresEnv)
		}
		if opts.AppViewPostgresURL == "" {
			skip(errors.New("pdstest: the AppView needs PostgreSQL: set " + PostgresEnv +
				" (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)"))
		}
	}
	s, err := Start(opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if tb.Failed() {
			log := s.ReadLog()
			if len(log) > 32<<10 {
				log = "[...]\n" + log[len(log)-32<<10:]
			}
			tb.Logf("PDS log (%s):\n%s", s.LogPath, log)
		}
		s.Close()
	})
	return s
}
