-- Our accounts follow others (issue 15, "Follow"): the Follows we sent
-- (requested until the remote Accept, accepted after), and the home
-- timeline of each account: the posts and boosts of the actors it
-- follows, as entries naming remote_statuses rows. A post entry's id is
-- the remote status's id, a boost's is its own (time-ordered, like a
-- status's). Entries, and the remote posts only they name, are pruned
-- after federation.home_retention. Times are Unix microseconds.

CREATE TABLE follows (
    id          BIGINT NOT NULL UNIQUE, -- time-ordered, paging
    account     TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    activity_id TEXT NOT NULL UNIQUE, -- our Follow's id
    state       TEXT NOT NULL, -- requested or accepted
    created_at  BIGINT NOT NULL,
    accepted_at BIGINT,
    PRIMARY KEY (account, actor_id)
);
CREATE INDEX follows_actor ON follows (actor_id, state);
CREATE INDEX follows_account ON follows (account, state, id);

CREATE TABLE home_entries (
    id               BIGINT NOT NULL,
    account          TEXT NOT NULL,
    remote_status_id BIGINT NOT NULL,
    actor_id         TEXT NOT NULL, -- the author, or the booster
    activity_id      TEXT NOT NULL, -- the post's id, or the Announce's
    reblog           BOOLEAN NOT NULL,
    created_at       BIGINT NOT NULL,
    PRIMARY KEY (account, id),
    UNIQUE (account, activity_id)
);
CREATE INDEX home_entries_status ON home_entries (remote_status_id);
CREATE INDEX home_entries_created ON home_entries (created_at);
CREATE INDEX home_entries_actor ON home_entries (actor_id, activity_id);
