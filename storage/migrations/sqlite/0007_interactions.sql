-- What the fediverse says to our accounts, and what the comms team does
-- about it: remote actors' profiles as shown (sanitised), remote posts
-- that mention, reply to or quote ours (sanitised HTML), notifications
-- (mentions, favourites, reblogs, quotes), account blocks and mutes,
-- reports received (Flag), keyword filters, per-post interaction policies
-- and the quote authorizations we granted. Times are Unix microseconds;
-- NULL means "not set".

CREATE TABLE remote_profiles (
    actor_id     TEXT PRIMARY KEY,
    acct         TEXT NOT NULL, -- user@domain, lower case
    domain       TEXT NOT NULL,
    display_name TEXT NOT NULL, -- sanitised, capped
    url          TEXT NOT NULL, -- profile page
    avatar_url   TEXT NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX remote_profiles_acct ON remote_profiles (acct);

CREATE TABLE remote_statuses (
    id             INTEGER PRIMARY KEY, -- time-ordered, like our statuses' ids
    note_id        TEXT NOT NULL UNIQUE,
    actor_id       TEXT NOT NULL,
    url            TEXT NOT NULL,
    content_html   TEXT NOT NULL, -- sanitised
    spoiler_text   TEXT NOT NULL, -- sanitised
    sensitive      BOOLEAN NOT NULL,
    language       TEXT NOT NULL,
    visibility     TEXT NOT NULL, -- public, unlisted, private or direct
    in_reply_to_id INTEGER, -- our status it replies to
    quote_of_id    INTEGER, -- our status it quotes
    created_at     INTEGER NOT NULL,
    edited_at      INTEGER,
    deleted_at     INTEGER
);
CREATE INDEX remote_statuses_replies ON remote_statuses (in_reply_to_id, id) WHERE in_reply_to_id IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    account          TEXT NOT NULL,
    kind             TEXT NOT NULL, -- mention, favourite, reblog, quote
    activity_id      TEXT NOT NULL, -- the Like/Announce id, or the note's
    actor_id         TEXT NOT NULL,
    actor_domain     TEXT NOT NULL,
    status_id        INTEGER, -- ours
    remote_status_id INTEGER, -- theirs
    group_key        TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    dismissed_at     INTEGER,
    UNIQUE (account, kind, activity_id)
);
CREATE INDEX notifications_live ON notifications (account, id) WHERE dismissed_at IS NULL;
CREATE INDEX notifications_recent ON notifications (account, created_at);
CREATE INDEX notifications_activity ON notifications (activity_id);
CREATE INDEX notifications_remote_status ON notifications (remote_status_id) WHERE remote_status_id IS NOT NULL;

CREATE TABLE account_blocks (
    account    TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    kind       TEXT NOT NULL, -- block or mute
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, actor_id, kind)
);
CREATE INDEX account_blocks_actor ON account_blocks (actor_id);

CREATE TABLE reports (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id TEXT NOT NULL UNIQUE,
    account     TEXT NOT NULL, -- ours reported, "" when none of ours is named
    reporter_id TEXT NOT NULL,
    targets     BLOB NOT NULL, -- JSON array of IRIs
    comment     TEXT NOT NULL, -- sanitised plain text
    created_at  INTEGER NOT NULL
);

CREATE TABLE filters (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account    TEXT NOT NULL,
    title      TEXT NOT NULL,
    contexts   TEXT NOT NULL, -- space-separated: home notifications public thread account
    action     TEXT NOT NULL, -- warn or hide
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX filters_account ON filters (account, id);

CREATE TABLE filter_keywords (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    filter_id  INTEGER NOT NULL,
    keyword    TEXT NOT NULL,
    whole_word BOOLEAN NOT NULL
);
CREATE INDEX filter_keywords_filter ON filter_keywords (filter_id, id);

CREATE TABLE status_policies (
    status_id INTEGER PRIMARY KEY,
    replies   TEXT NOT NULL, -- "" : the account's
    quotes    TEXT NOT NULL  -- "" : the account's
);

CREATE TABLE quote_authorizations (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id     INTEGER NOT NULL, -- ours, quoted
    account       TEXT NOT NULL,
    quote_note_id TEXT NOT NULL, -- the quoting post
    actor_id      TEXT NOT NULL,
    request_id    TEXT NOT NULL, -- the QuoteRequest
    created_at    INTEGER NOT NULL,
    UNIQUE (status_id, quote_note_id)
);
