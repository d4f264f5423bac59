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
	keepDoneJobs = 30 * 24 * time.Hour
	// Outgoing activities are kept while a pending or running job sends
	// them (storage decides), and then at least keepOutgoing.
	keepOutgoing = time.Hour
	// keepActivityIDs: the ids of inbound activities, so that one sent
	// again (remote servers retry for days) is processed once.
	keepActivityIDs = 30 * 24 * time.Hour
	pruneEvery      = time.Hour
	pruneFirst      = time.Minute
)

// pruned counts what one pruning deleted.
type pruned struct{ jobs, activityIDs, outgoing, homeEntries, homeStatuses int64 }

// pruneOnce deletes the done jobs, the inbound activity ids and the sent
// outgoing activities older than their retention at now.
func pruneOnce(ctx context.Context, st storage.Store, now time.Time, homeRetention time.Duration) (pruned, error) {
	var p pruned
	var err error
	if p.jobs, err = st.PruneJobs(ctx, now.Add(-keepDoneJobs)); err != nil {
		return p, fmt.Errorf("prune: %w", err)
	}
	if p.activityIDs, err = st.PruneActivities(ctx, now.Add(-keepActivityIDs)); err != nil {
		return p, fmt.Errorf("prune: %w", err)
	}
	if p.outgoing, err = st.PruneOutgoingActivities(ctx, now.Add(-keepOutgoing)); err != nil {
		return p, fmt.Errorf("prune: %w", err)
	}
	if homeRetention > 0 {
		if p.homeEntries, p.homeStatuses, err = st.PruneHome(ctx, now.Add(-homeRetention)); err != nil {
			return p, fmt.Errorf("prune: %w", err)
		}
	}
	return p, nil
}

// runPruning prunes a minute after start-up, then every hour, until ctx
// is cancelled. Several replicas on one database may all do it.
func runPruning(ctx context.Context, st storage.Store, homeRetention time.Duration, log zerolog.Logger) {
	t := time.NewTimer(pruneFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		p, err := pruneOnce(ctx, st, time.Now(), homeRetention)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error().Err(err).Msg("prune the database")
		case p != pruned{}:
			log.Info().Int64("done_jobs", p.jobs).Int64("activity_ids", p.activityIDs).Int64("outgoing_activities", p.outgoing).
				Int64("home_entries", p.homeEntries).Int64("home_statuses", p.homeStatuses).
				Msg("pruned the database")
		}
		t.Reset(pruneEvery)
	}
}
