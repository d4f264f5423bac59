-- Outgoing activities have their own table (federation/fanout.go): a
-- fan-out job and its delivery jobs name the activity they send
-- (jobs.activity_id), and an activity is kept while a pending or running
-- job names it (PruneOutgoingActivities), whatever the jobs' own
-- retention. Before, deliveries read the activity from their fan-out
-- job's payload, and a constant elsewhere had to keep those jobs long
-- enough.
--
-- The activities of the fan-out jobs already there are copied under the
-- fan-out job's id, which their deliveries name (as "fanout").

CREATE TABLE outgoing_activities (
    id         INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    body       BLOB NOT NULL, -- the activity's JSON, as sent
    created_at INTEGER NOT NULL
);

ALTER TABLE jobs ADD COLUMN activity_id INTEGER; -- NULL: names no outgoing activity
CREATE INDEX jobs_activity ON jobs (activity_id) WHERE activity_id IS NOT NULL;

INSERT INTO outgoing_activities (id, account, body, created_at)
SELECT id, COALESCE(json_extract(CAST(payload AS TEXT), '$.signer'), ''),
       CAST(json_extract(CAST(payload AS TEXT), '$.activity') AS BLOB), created_at
  FROM jobs
 WHERE kind = 'fanout' AND json_valid(CAST(payload AS TEXT))
   AND json_type(CAST(payload AS TEXT), '$.activity') = 'object';

UPDATE jobs SET activity_id = id
 WHERE kind = 'fanout' AND id IN (SELECT id FROM outgoing_activities);
UPDATE jobs SET activity_id = json_extract(CAST(payload AS TEXT), '$.fanout')
 WHERE kind = 'deliver' AND json_valid(CAST(payload AS TEXT))
   AND json_extract(CAST(payload AS TEXT), '$.fanout') IN (SELECT id FROM outgoing_activities);
