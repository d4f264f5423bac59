-- The console's reach page (admin/reach.go): each account's followers on
-- both networks, one row per UTC day (YYYY-MM-DD), sampled by the
-- periodic job of package reach: the fediverse's accepted followers, and
-- the Bluesky account's followersCount as app.bsky.actor.getProfile gives
-- it (NULL: not mirrored, or not read that day). The day keeps its last
-- sample. taken_at is Unix microseconds.

CREATE TABLE follower_snapshots (
    account   TEXT NOT NULL,
    day       TEXT NOT NULL,
    fediverse BIGINT NOT NULL,
    bluesky   BIGINT,
    taken_at  BIGINT NOT NULL,
    PRIMARY KEY (account, day)
);

-- The reach page's delivery failures of the last days (DeliveryProblems):
-- failed jobs are kept (only done ones are pruned), so they are found by
-- when they were given up.
CREATE INDEX jobs_failed_at ON jobs (status, finished_at) WHERE status = 'failed';
