-- Remote keys apart from remote actors, and processed activities keyed by
-- actor and id: see the SQLite migration of the same number.

CREATE TABLE remote_keys (
    key_id         TEXT PRIMARY KEY,
    owner          TEXT NOT NULL,
    public_key_pem TEXT NOT NULL,
    fetched_at     BIGINT NOT NULL
);
CREATE INDEX remote_keys_owner ON remote_keys (owner);

INSERT INTO remote_keys (key_id, owner, public_key_pem, fetched_at)
SELECT DISTINCT ON (key_id) key_id, id, public_key_pem, fetched_at FROM remote_actors
 WHERE key_id <> '' AND public_key_pem <> ''
 ORDER BY key_id, fetched_at DESC;

DROP INDEX remote_actors_key_id;
ALTER TABLE remote_actors DROP COLUMN key_id;
ALTER TABLE remote_actors DROP COLUMN public_key_pem;

ALTER TABLE processed_activities ADD COLUMN actor TEXT NOT NULL DEFAULT '';
ALTER TABLE processed_activities DROP CONSTRAINT processed_activities_pkey;
ALTER TABLE processed_activities ADD PRIMARY KEY (actor, id);
ALTER TABLE processed_activities ALTER COLUMN actor DROP DEFAULT;
