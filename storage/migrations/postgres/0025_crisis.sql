-- Crisis mode (issue 16): an account's strictest interaction policy on
-- its new posts and on its last posts, and what it changed, so that
-- turning it off (even after a restart) restores exactly what was there.
-- Times are Unix microseconds.

CREATE TABLE crisis_modes (
    account    TEXT PRIMARY KEY,
    posts      INTEGER NOT NULL, -- how many recent posts it tightened when turned on
    started_at BIGINT NOT NULL
);

-- The posts crisis mode tightened, each with the policy it had before:
-- its own (had_policy, replies, quotes: "" is the account's), or none.
CREATE TABLE crisis_posts (
    status_id  BIGINT PRIMARY KEY,
    account    TEXT NOT NULL,
    had_policy BOOLEAN NOT NULL,
    replies    TEXT NOT NULL,
    quotes     TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX crisis_posts_account ON crisis_posts (account, status_id);
