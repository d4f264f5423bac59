package bridgetest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/storage"
)

// RunJobs runs a job runner on store with the pools register adds, as
// cmd/bridge does, until stop is called or the test ends; stop waits for
// the runner to return (grace is its grace period for running jobs).
func RunJobs(t testing.TB, store storage.Store, grace time.Duration, register func(*jobs.Runner) error) (stop func()) {
	t.Helper()
	r := jobs.New(store, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel).With().Str("component", "jobs").Logger())
	if err := register(r); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, grace) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("job runner: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}
