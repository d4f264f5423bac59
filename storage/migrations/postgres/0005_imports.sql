-- Sources that posts are brought in from: the website's feeds (each
-- feed's conditional-request state and the entries already seen, posted
-- or not) and archive imports (the progress of each, for resuming and
-- reporting; the imported statuses themselves are found again by their
-- idempotency keys). Times are Unix microseconds; NULL means "not set".

CREATE TABLE feed_states (
    account        TEXT NOT NULL,
    url            TEXT NOT NULL,
    etag           TEXT NOT NULL,
    last_modified  TEXT NOT NULL,
    first_run_done BOOLEAN NOT NULL,
    checked_at     BIGINT,
    last_error     TEXT NOT NULL,
    PRIMARY KEY (account, url)
);

CREATE TABLE feed_entries (
    account   TEXT NOT NULL,
    url       TEXT NOT NULL, -- the feed's
    entry_id  TEXT NOT NULL,
    status_id BIGINT, -- NULL when only marked seen (first run, refused entry)
    seen_at   BIGINT NOT NULL,
    PRIMARY KEY (account, url, entry_id)
);

CREATE TABLE imports (
    account     TEXT NOT NULL,
    source      TEXT NOT NULL, -- e.g. "x:<X account id>"
    state       TEXT NOT NULL, -- running, done or failed
    total       BIGINT NOT NULL,
    processed   BIGINT NOT NULL,
    counts      BYTEA NOT NULL, -- JSON, written by the importer
    last_error  TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT,
    PRIMARY KEY (account, source)
);
