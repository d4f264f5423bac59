// Package jobs runs the work of the durable job queue (storage's jobs
// table): one Runner per process, on which each component registers a
// Pool: the job kinds it handles, its handler, how many run at once and
// its retry policy.
//
// It owns, for every kind:
//   - claiming due jobs with a lease, in batches ahead of the workers or
//     one at a time for a free worker (Pool.Prefetch);
//   - running them on a bounded set of workers, with parking: a job that
//     waits on something outside the process (a remote server) gives its
//     worker to the next job (Job.Park);
//   - waking on enqueue (Wake), polling when idle, and going at once when
//     a retry this process put back comes due;
//   - recording results: done (in batches), retry with one backoff policy
//     (exponential with jitter, a maximum number of attempts or age,
//     Retry-After honoured: RetryAfter), retry at a given time (RetryAt,
//     Again), failure (Permanent), with one log line per result;
//   - heartbeats: renewing the leases of running jobs, registering the
//     process as a live worker and putting back at once the jobs of a
//     worker that died (kill -9) instead of waiting for their leases;
//   - exclusive pools (one process of several runs them: Pool.Exclusive);
//   - graceful stop: running jobs finish (up to a grace period), results
//     are recorded, then every job still leased is put back, uncounted.
//
// It knows rows (storage.Job), not what they mean: it must not import
// federation, atproto, publish or feeds (they import it), nor anything
// about HTTP.
package jobs
