-- Client API safety and feed limits (issue 13).
-- account_domain_blocks: the domains one of our accounts blocked through
-- the client API (Mastodon's user domain blocks): they concern that
-- account only, never the instance's blocks (domain_blocks).
-- auth_codes.code_challenge: the PKCE S256 challenge of an authorization
-- code ('' when the client sent none).
-- remote_profiles.summary: the remote actor's bio, sanitised HTML.
-- feed_entries.skipped: an entry recorded without a post because the
-- feed's caps were reached (a flood); feed_states.capped_at and cap_note:
-- when a cap was last reached, and what it did. Times are Unix
-- microseconds; NULL means "not set".

CREATE TABLE account_domain_blocks (
    account    TEXT NOT NULL,
    domain     TEXT NOT NULL, -- canonical: lower case, punycode, no port
    created_at INTEGER NOT NULL,
    PRIMARY KEY (account, domain)
);

ALTER TABLE auth_codes ADD COLUMN code_challenge TEXT NOT NULL DEFAULT '';

ALTER TABLE remote_profiles ADD COLUMN summary TEXT NOT NULL DEFAULT '';

ALTER TABLE feed_entries ADD COLUMN skipped BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE feed_states ADD COLUMN capped_at INTEGER;
ALTER TABLE feed_states ADD COLUMN cap_note TEXT NOT NULL DEFAULT '';

-- Counts of our statuses' replies, favourites and boosts (client API).
CREATE INDEX notifications_status ON notifications (status_id, kind) WHERE status_id IS NOT NULL;
CREATE INDEX statuses_replies ON statuses (in_reply_to_id) WHERE in_reply_to_id IS NOT NULL;
