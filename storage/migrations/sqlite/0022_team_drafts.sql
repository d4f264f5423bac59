-- Contributors' drafts waiting for an editor's approval (issue 17, item
-- 3). payload is what to publish (JSON of package publish's draft, opaque
-- to storage); text is the post's text, for the lists. state is pending,
-- approved or rejected; decided_by the editor or admin (a team member)
-- who approved or rejected it, reason why it was rejected, status_id the
-- status published on approval. scheduled_at: to be published then (NULL:
-- at once). Times are Unix microseconds.
CREATE TABLE team_drafts (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    account      TEXT NOT NULL,
    member_id    INTEGER NOT NULL,
    app_id       INTEGER,
    token_id     INTEGER,
    payload      TEXT NOT NULL,
    text         TEXT NOT NULL,
    scheduled_at INTEGER,
    state        TEXT NOT NULL,
    reason       TEXT NOT NULL DEFAULT '',
    decided_by   INTEGER,
    decided_at   INTEGER,
    status_id    INTEGER,
    created_at   INTEGER NOT NULL
);
CREATE INDEX team_drafts_account ON team_drafts (account, state, id);
CREATE INDEX team_drafts_member ON team_drafts (member_id, id);
