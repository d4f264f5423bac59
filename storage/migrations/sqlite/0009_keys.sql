-- Remote keys apart from remote actors: a key document is a key and its
-- owner (GoToSocial serves a stub of the actor at its key id, others a
-- CryptographicKey/Key document, FEP-521a actors list several Multikeys),
-- and an actor may sign with several keys. remote_actors keeps what is
-- needed to reach an actor; its inbox is '' until the full actor document
-- was fetched. processed_activities is keyed by actor and id, so that no
-- one can claim the id of another actor's next activity.

CREATE TABLE remote_keys (
    key_id         TEXT PRIMARY KEY,
    owner          TEXT NOT NULL, -- the actor IRI
    public_key_pem TEXT NOT NULL, -- SPKI PEM (RSA or Ed25519)
    fetched_at     INTEGER NOT NULL
);
CREATE INDEX remote_keys_owner ON remote_keys (owner);

INSERT INTO remote_keys (key_id, owner, public_key_pem, fetched_at)
SELECT key_id, id, public_key_pem, fetched_at FROM remote_actors AS a
 WHERE key_id <> '' AND public_key_pem <> ''
   AND fetched_at = (SELECT MAX(fetched_at) FROM remote_actors WHERE key_id = a.key_id)
ON CONFLICT (key_id) DO NOTHING;

DROP INDEX remote_actors_key_id;
ALTER TABLE remote_actors DROP COLUMN key_id;
ALTER TABLE remote_actors DROP COLUMN public_key_pem;

CREATE TABLE processed_activities_new (
    actor       TEXT NOT NULL,
    id          TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    PRIMARY KEY (actor, id)
);
-- Ids recorded before this version have no actor: kept under '' until
-- pruned (they no longer match, so a replay of one of them would be
-- applied again, which every activity handler tolerates).
INSERT INTO processed_activities_new (actor, id, received_at)
SELECT '', id, received_at FROM processed_activities;
DROP TABLE processed_activities;
ALTER TABLE processed_activities_new RENAME TO processed_activities;
CREATE INDEX processed_activities_received_at ON processed_activities (received_at);
