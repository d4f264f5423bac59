-- A presence, not a megaphone (issue 15): our accounts reply to remote
-- posts, boost and favourite them, and keep the edit history of their
-- statuses.
--
-- statuses.in_reply_to_uri is the IRI of the post a status answers when
-- it is remote ('' otherwise), in_reply_to_remote_id that post's row in
-- remote_statuses. remote_statuses.in_reply_to_uri is the IRI the remote
-- post answers, whoever's (threads are rebuilt from it). own_reactions
-- are the boosts and favourites of our accounts (a boost's id is
-- time-ordered like a status's: it is listed among them); status_edits
-- the earlier versions of our statuses. Times are Unix microseconds.

ALTER TABLE statuses ADD COLUMN in_reply_to_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE statuses ADD COLUMN in_reply_to_remote_id INTEGER; -- NULL: not a reply to a remote post
CREATE INDEX statuses_replies_remote ON statuses (in_reply_to_remote_id) WHERE in_reply_to_remote_id IS NOT NULL;

ALTER TABLE remote_statuses ADD COLUMN in_reply_to_uri TEXT NOT NULL DEFAULT '';
CREATE INDEX remote_statuses_thread ON remote_statuses (in_reply_to_uri, id) WHERE in_reply_to_uri <> '' AND deleted_at IS NULL;
CREATE INDEX remote_statuses_actor ON remote_statuses (actor_id, id) WHERE deleted_at IS NULL;

CREATE TABLE own_reactions (
    id               INTEGER PRIMARY KEY, -- time-ordered, like statuses' ids
    account          TEXT NOT NULL,
    kind             TEXT NOT NULL, -- favourite or reblog
    object_uri       TEXT NOT NULL, -- the post's IRI (ours or remote)
    status_id        INTEGER,       -- ours, NULL: remote
    remote_status_id INTEGER,       -- theirs, NULL: ours
    activity_id      TEXT NOT NULL, -- the Like or Announce we sent
    created_at       INTEGER NOT NULL,
    UNIQUE (account, kind, object_uri)
);
CREATE INDEX own_reactions_account ON own_reactions (account, kind, id);
CREATE INDEX own_reactions_status ON own_reactions (status_id) WHERE status_id IS NOT NULL;

CREATE TABLE status_edits (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    status_id    INTEGER NOT NULL,
    text         TEXT NOT NULL,
    content_html TEXT NOT NULL,
    spoiler_text TEXT NOT NULL,
    sensitive    BOOLEAN NOT NULL,
    media_ids    BLOB NOT NULL, -- JSON array, attachment order
    created_at   INTEGER NOT NULL -- when this version was written
);
CREATE INDEX status_edits_status ON status_edits (status_id, id);
