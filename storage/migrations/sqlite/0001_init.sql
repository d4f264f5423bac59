-- Times are Unix microseconds; NULL means "not set".

CREATE TABLE key_pairs (
    owner       TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE processed_activities (
    id          TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
);
CREATE INDEX processed_activities_received_at ON processed_activities (received_at);

CREATE TABLE followers (
    account            TEXT NOT NULL,
    actor_id           TEXT NOT NULL,
    inbox              TEXT NOT NULL,
    shared_inbox       TEXT NOT NULL,
    follow_activity_id TEXT NOT NULL,
    state              TEXT NOT NULL,
    created_at         INTEGER NOT NULL,
    accepted_at        INTEGER,
    PRIMARY KEY (account, actor_id)
);
CREATE INDEX followers_account_state ON followers (account, state, actor_id);
CREATE INDEX followers_actor ON followers (actor_id);

CREATE TABLE remote_actors (
    id                 TEXT PRIMARY KEY,
    key_id             TEXT NOT NULL,
    public_key_pem     TEXT NOT NULL,
    inbox              TEXT NOT NULL,
    shared_inbox       TEXT NOT NULL,
    preferred_username TEXT NOT NULL,
    fetched_at         INTEGER NOT NULL
);
CREATE INDEX remote_actors_key_id ON remote_actors (key_id);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL,
    payload     BLOB NOT NULL,
    job_key     TEXT UNIQUE, -- NULL when the job has no idempotency key
    host        TEXT NOT NULL,
    ref         TEXT NOT NULL,
    status      TEXT NOT NULL,
    attempts    INTEGER NOT NULL,
    run_at      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    lease_owner TEXT NOT NULL,
    lease_until INTEGER,
    last_error  TEXT NOT NULL,
    finished_at INTEGER
);
-- Claiming scans this in (run_at, id) order and stops after the batch.
CREATE INDEX jobs_due ON jobs (run_at, id) WHERE status IN ('pending', 'running');
-- Counts by status, oldest pending job, release, prune.
CREATE INDEX jobs_status ON jobs (status, run_at);
CREATE INDEX jobs_ref ON jobs (ref);
