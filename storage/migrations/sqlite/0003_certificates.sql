-- A small key/value store with path-like keys ("certificates/acme/x/x.crt")
-- and expiring named locks: TLS certificates, their keys and the ACME
-- account, shared by every process using this database. Keys compare
-- bytewise (BINARY collation), which the prefix ranges rely on.

CREATE TABLE kv (
    path        TEXT PRIMARY KEY,
    value       BLOB NOT NULL,
    modified_at INTEGER NOT NULL
);

CREATE TABLE kv_locks (
    name       TEXT PRIMARY KEY,
    owner      TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
