-- Moderation: domain blocks added from the command line, the API or an
-- import, and those received from blocklist subscriptions (the blocks
-- written in the configuration file are not stored), the state of each
-- subscription, and a version bumped on every change of the blocks so
-- that every process notices and reloads them. Times are Unix
-- microseconds; NULL means "not set".

CREATE TABLE domain_blocks (
    domain     TEXT NOT NULL, -- canonical: lower case, punycode, no port
    source     TEXT NOT NULL, -- manual, import or subscription:<url>
    severity   TEXT NOT NULL, -- suspend or silence
    reason     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (domain, source)
);
CREATE INDEX domain_blocks_source ON domain_blocks (source, domain);

CREATE TABLE blocklist_subscriptions (
    url           TEXT PRIMARY KEY,
    etag          TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    checked_at    INTEGER, -- last fetch attempt
    updated_at    INTEGER, -- last fetch that was applied
    domains       INTEGER NOT NULL, -- entries applied
    last_error    TEXT NOT NULL
);

CREATE TABLE moderation_version (
    id      INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);
INSERT INTO moderation_version (id, version) VALUES (1, 0);
