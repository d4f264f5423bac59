-- The X exit notice page's funnel (web/funnel.go), counted without cookies
-- or personal data: visits per day and source, the remote-follow forms
-- that reached the visitor's server (kept as that server's host name and
-- the time, for at most the 30 minutes in which a Follow from the same
-- server counts, then rolled up into per-day counts), and those counts.
-- Days are UTC dates (YYYY-MM-DD); times are Unix microseconds.

CREATE TABLE notice_visits (
    account TEXT NOT NULL,
    day     TEXT NOT NULL,
    source  TEXT NOT NULL,  -- "direct", or the page's ?src= (e.g. "qr")
    visits  INTEGER NOT NULL,
    PRIMARY KEY (account, day, source)
);

CREATE TABLE notice_follow_starts (
    id         INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    host       TEXT NOT NULL,   -- the server the visitor was sent to
    started_at INTEGER NOT NULL
);
CREATE INDEX notice_follow_starts_started ON notice_follow_starts (started_at);

-- The followers a start was matched with, so that each new follower counts
-- once; kept while a start that could match them remains.
CREATE TABLE notice_follow_matches (
    account     TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    followed_at INTEGER NOT NULL,
    PRIMARY KEY (account, actor_id)
);

CREATE TABLE notice_follows (
    account TEXT NOT NULL,
    day     TEXT NOT NULL,
    starts  INTEGER NOT NULL,  -- remote-follow forms sent on to the visitor's server
    follows INTEGER NOT NULL,  -- of those, a new follower from that server within 30 minutes
    PRIMARY KEY (account, day)
);
