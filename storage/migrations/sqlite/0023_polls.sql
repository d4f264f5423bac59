-- Polls of our statuses (issue 19): one row per poll, keyed by its status;
-- its options in order (position from 0); the votes remote actors sent.
-- A vote's slot is its choice in a multiple-choice poll and -1 in a
-- single-choice one, so the primary key counts one vote per actor (single)
-- or one per actor and option (multiple). closed_at is set once the poll's
-- end was processed (the final Update and the notification); NULL while
-- open. activity_id is the voting Note's id. Times are Unix microseconds.

CREATE TABLE polls (
    status_id   INTEGER PRIMARY KEY REFERENCES statuses (id),
    account     TEXT NOT NULL,
    multiple    BOOLEAN NOT NULL,
    hide_totals BOOLEAN NOT NULL,
    expires_at  INTEGER NOT NULL,
    closed_at   INTEGER,
    created_at  INTEGER NOT NULL
);

CREATE TABLE poll_options (
    status_id INTEGER NOT NULL REFERENCES polls (status_id) ON DELETE CASCADE,
    position  INTEGER NOT NULL,
    title     TEXT NOT NULL,
    PRIMARY KEY (status_id, position)
);

CREATE TABLE poll_votes (
    status_id   INTEGER NOT NULL REFERENCES polls (status_id) ON DELETE CASCADE,
    actor_id    TEXT NOT NULL,
    slot        INTEGER NOT NULL,
    choice      INTEGER NOT NULL,
    activity_id TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (status_id, actor_id, slot)
);
