-- The Bluesky mirror: each account's session (tokens sealed by package
-- atproto, never stored in clear), each status's mirror state, and the
-- records it became on Bluesky. Times are Unix microseconds; NULL means
-- "not set".

CREATE TABLE bluesky_sessions (
    account      TEXT PRIMARY KEY,
    did          TEXT NOT NULL, -- empty until the first login
    handle       TEXT NOT NULL,
    pds_url      TEXT NOT NULL,
    access_jwt   BYTEA NOT NULL, -- sealed; empty when there is no session
    refresh_jwt  BYTEA NOT NULL, -- sealed; empty when there is no session
    state        TEXT NOT NULL,
    last_error   TEXT NOT NULL,
    paused_until BIGINT,
    updated_at   BIGINT NOT NULL
);

CREATE TABLE bluesky_posts (
    status_id  BIGINT PRIMARY KEY,
    account    TEXT NOT NULL,
    version    BIGINT NOT NULL, -- bumped by every create, edit and delete
    state      TEXT NOT NULL,
    last_error TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE bluesky_records (
    status_id  BIGINT NOT NULL,
    kind       TEXT NOT NULL, -- post, threadgate or postgate
    position   INTEGER NOT NULL, -- 0 for the first post of the thread
    account    TEXT NOT NULL,
    rkey       TEXT NOT NULL,
    uri        TEXT NOT NULL, -- empty while only planned
    cid        TEXT NOT NULL, -- empty while only planned
    created_at BIGINT NOT NULL,
    PRIMARY KEY (status_id, kind, position)
);
