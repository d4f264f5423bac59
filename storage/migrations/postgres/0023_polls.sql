-- Polls of our statuses: see the SQLite migration of the same number.

CREATE TABLE polls (
    status_id   BIGINT PRIMARY KEY REFERENCES statuses (id),
    account     TEXT NOT NULL,
    multiple    BOOLEAN NOT NULL,
    hide_totals BOOLEAN NOT NULL,
    expires_at  BIGINT NOT NULL,
    closed_at   BIGINT,
    created_at  BIGINT NOT NULL
);

CREATE TABLE poll_options (
    status_id BIGINT NOT NULL REFERENCES polls (status_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    title     TEXT NOT NULL,
    PRIMARY KEY (status_id, position)
);

CREATE TABLE poll_votes (
    status_id   BIGINT NOT NULL REFERENCES polls (status_id) ON DELETE CASCADE,
    actor_id    TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    choice      INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (status_id, actor_id, slot)
);
