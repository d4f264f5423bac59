-- Outgoing activities have their own table: see the SQLite migration of
-- the same number.

CREATE TABLE outgoing_activities (
    id         BIGSERIAL PRIMARY KEY,
    account    TEXT NOT NULL,
    body       BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE jobs ADD COLUMN activity_id BIGINT;
CREATE INDEX jobs_activity ON jobs (activity_id) WHERE activity_id IS NOT NULL;

-- The payloads are read as JSON only for the kinds that hold JSON.
WITH f AS MATERIALIZED (
    SELECT id, created_at, convert_from(payload, 'UTF8')::jsonb AS p FROM jobs WHERE kind = 'fanout' AND length(payload) > 0
)
INSERT INTO outgoing_activities (id, account, body, created_at)
SELECT id, COALESCE(p ->> 'signer', ''), convert_to((p -> 'activity')::text, 'UTF8'), created_at
  FROM f WHERE jsonb_typeof(p -> 'activity') = 'object';

SELECT setval(pg_get_serial_sequence('outgoing_activities', 'id'), GREATEST(COALESCE(MAX(id), 0), 1))
  FROM outgoing_activities;

UPDATE jobs SET activity_id = id
 WHERE kind = 'fanout' AND id IN (SELECT id FROM outgoing_activities);

WITH d AS MATERIALIZED (
    SELECT id, convert_from(payload, 'UTF8')::jsonb AS p FROM jobs WHERE kind = 'deliver' AND length(payload) > 0
)
UPDATE jobs SET activity_id = (d.p ->> 'fanout')::bigint
  FROM d
 WHERE jobs.id = d.id AND jsonb_typeof(d.p -> 'fanout') = 'number'
   AND (d.p ->> 'fanout')::bigint IN (SELECT id FROM outgoing_activities);
