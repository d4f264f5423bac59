-- A small key/value store with path-like keys ("certificates/acme/x/x.crt")
-- and expiring named locks: TLS certificates, their keys and the ACME
-- account, shared by every replica using this database. Keys use the "C"
-- collation so that they compare bytewise, as on SQLite: the prefix ranges
-- rely on it.

CREATE TABLE kv (
    path        TEXT COLLATE "C" PRIMARY KEY,
    value       BYTEA NOT NULL,
    modified_at BIGINT NOT NULL
);

CREATE TABLE kv_locks (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
