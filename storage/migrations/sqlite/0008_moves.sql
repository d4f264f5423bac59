-- Account moves (docs/history.md#moving-accounts). moved_out: an account
-- that moved to another actor (its actor document then carries movedTo and
-- its profile page redirects). move_ins: windows during which Follows of
-- an account are accepted without manual approval and counted as moved in
-- from an old account the account lists in also_known_as (opened by a
-- Move received, or by "bridge move-in expect"). followers.moved_from is
-- that old account's actor IRI for followers who arrived so, '' for the
-- others. Times are Unix microseconds.

CREATE TABLE moved_out (
    account       TEXT PRIMARY KEY,
    target        TEXT NOT NULL, -- the new actor IRI
    target_handle TEXT NOT NULL, -- user@domain
    target_url    TEXT NOT NULL, -- its HTML profile
    activity_id   TEXT NOT NULL, -- the Move sent
    moved_at      INTEGER NOT NULL
);

CREATE TABLE move_ins (
    account     TEXT NOT NULL,
    origin      TEXT NOT NULL, -- the old actor IRI
    source      TEXT NOT NULL, -- "move" (a Move received) or "expect" (an admin)
    activity_id TEXT NOT NULL, -- the Move received; '' when expected
    opened_at   INTEGER NOT NULL,
    open_until  INTEGER NOT NULL,
    PRIMARY KEY (account, origin)
);

ALTER TABLE followers ADD COLUMN moved_from TEXT NOT NULL DEFAULT '';
CREATE INDEX followers_moved_in ON followers (account, actor_id) WHERE moved_from <> '';
