package pdstest

import (
	"errors"
	"os"
	"testing"
)

// StartT starts a PLC and a PDS for a test, stopped when it ends (with the
// PDS log shown if it failed). When the PDS is not installed the test is
// skipped, except under CI=true, where it fails: CI must never silently
// skip the real PDS.
func StartT(tb testing.TB, opts Options) *Server {
	tb.Helper()
	if _, err := Dir(); errors.Is(err, ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%v (CI=true: the Bluesky PDS tests must not be skipped)", err)
		}
		tb.Skip(err.Error())
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
