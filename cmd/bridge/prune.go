package main

import (
	"context"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

// What the database keeps only for a while (docs/operations.md).
const (
	// keepDoneJobs: finished jobs (deliveries, fan-outs, mirror and
	// scheduled jobs) are what `bridge status` and the delivery API count.
	// A fan-out's deliveries read the activity from its job: this must
	// outlive the longest a delivery can be retried (22 attempts, under
	// 30 days even when its host is paused between them).
	keepDoneJobs = 30 * 24 * time.Hour
	// keepActivityIDs: the ids of inbound activities, so that one sent
	// again (remote servers retry for days) is processed once.
	keepActivityIDs = 30 * 24 * time.Hour
	pruneEvery      = time.Hour
	pruneFirst      = time.Minute
)

// pruneOnce deletes the done jobs and the inbound activity ids older than
// their retention at now.
func pruneOnce(ctx context.Context, st storage.Store, now time.Time) (jobs, activities int64, err error) {
	jobs, err = st.PruneJobs(ctx, now.Add(-keepDoneJobs))
	if err != nil {
		return 0, 0, fmt.Errorf("prune: %w", err)
	}
	activities, err = st.PruneActivities(ctx, now.Add(-keepActivityIDs))
	if err != nil {
		return jobs, 0, fmt.Errorf("prune: %w", err)
	}
	return jobs, activities, nil
}

// runPruning prunes a minute after start-up, then every hour, until ctx
// is cancelled. Several replicas on one database may all do it.
func runPruning(ctx context.Context, st storage.Store, log zerolog.Logger) {
	t := time.NewTimer(pruneFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		jobs, activities, err := pruneOnce(ctx, st, time.Now())
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error().Err(err).Msg("prune the database")
		case jobs > 0 || activities > 0:
			log.Info().Int64("done_jobs", jobs).Int64("activity_ids", activities).Msg("pruned the database")
		}
		t.Reset(pruneEvery)
	}
}
