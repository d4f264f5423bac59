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
    created_at BIGINT NOT NULL,
    PRIMARY KEY (domain, source)
);
CREATE INDEX domain_blocks_source ON domain_blocks (source, domain);

CREATE TABLE blocklist_subscriptions (
    url           TEXT PRIMARY KEY,
    etag          TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    checked_at    BIGINT, -- last fetch attempt
    updated_at    BIGINT, -- last fetch that was applied
    domains       BIGINT NOT NULL, -- entries applied
    last_error    TEXT NOT NULL
);

CREATE TABLE moderation_version (
    id      INTEGER PRIMARY KEY,
    version BIGINT NOT NULL
);
INSERT INTO moderation_version (id, version) VALUES (1, 0);
