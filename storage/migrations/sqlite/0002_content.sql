-- Published content (statuses and their media), client API credentials
-- and remote host availability. Times are Unix microseconds; NULL means
-- "not set". Ids are AUTOINCREMENT so that they are never reused, even
-- after the newest row is deleted: clients keep them.

CREATE TABLE statuses (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    account         TEXT NOT NULL,
    text            TEXT NOT NULL,
    content_html    TEXT NOT NULL,
    spoiler_text    TEXT NOT NULL,
    sensitive       BOOLEAN NOT NULL,
    language        TEXT NOT NULL,
    visibility      TEXT NOT NULL,
    in_reply_to_id  INTEGER, -- NULL when not a reply
    mentions        BLOB NOT NULL,
    tags            BLOB NOT NULL,
    idempotency_key TEXT, -- NULL when none, so that keyless statuses never collide
    created_at      INTEGER NOT NULL,
    edited_at       INTEGER,
    deleted_at      INTEGER,
    pinned_at       INTEGER,
    UNIQUE (account, idempotency_key)
);
-- Live statuses of an account newest first (paging by id), with the
-- visibility in the index so that filtering it reads no row; also counts.
CREATE INDEX statuses_account_live ON statuses (account, id, visibility) WHERE deleted_at IS NULL;
CREATE INDEX statuses_account_pinned ON statuses (account, pinned_at) WHERE pinned_at IS NOT NULL AND deleted_at IS NULL;

CREATE TABLE media (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    account     TEXT NOT NULL,
    status_id   INTEGER, -- NULL until attached
    position    INTEGER NOT NULL, -- order within the status
    media_type  TEXT NOT NULL,
    width       INTEGER NOT NULL,
    height      INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    blurhash    TEXT NOT NULL,
    description TEXT NOT NULL,
    focus_x     REAL NOT NULL,
    focus_y     REAL NOT NULL,
    path        TEXT NOT NULL, -- empty when data holds the bytes
    data        BLOB,
    created_at  INTEGER NOT NULL
);
CREATE INDEX media_status ON media (status_id, position);

CREATE TABLE oauth_apps (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id     TEXT NOT NULL UNIQUE,
    secret_hash   TEXT NOT NULL,
    name          TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    website       TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);

CREATE TABLE tokens (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    hash         TEXT NOT NULL UNIQUE,
    account      TEXT NOT NULL,
    app_id       INTEGER, -- NULL for tokens made with the CLI
    name         TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at   INTEGER,
    expires_at   INTEGER
);
CREATE INDEX tokens_account ON tokens (account, id);

CREATE TABLE auth_codes (
    hash         TEXT PRIMARY KEY,
    app_id       INTEGER NOT NULL,
    account      TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scopes       TEXT NOT NULL,
    expires_at   INTEGER NOT NULL
);

CREATE TABLE hosts (
    host              TEXT PRIMARY KEY,
    failures          INTEGER NOT NULL,
    unavailable_until INTEGER,
    last_success      INTEGER,
    last_failure      INTEGER
);

-- Fan-out: the inbox a follower is delivered to (its server's shared inbox
-- when it has one). Indexed after (account, state) so that listing the
-- distinct inboxes of an account's accepted followers reads them in order
-- and stops after a page, however many followers.
ALTER TABLE followers ADD COLUMN delivery_inbox TEXT
    GENERATED ALWAYS AS (COALESCE(NULLIF(shared_inbox, ''), inbox)) VIRTUAL;
CREATE INDEX followers_delivery ON followers (account, state, delivery_inbox);
-- Removing the followers behind an inbox that answered 410 Gone.
CREATE INDEX followers_inbox ON followers (inbox);
CREATE INDEX followers_shared_inbox ON followers (shared_inbox);
