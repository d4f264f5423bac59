-- Interaction authorizations: the quote authorizations (FEP-044f) become
-- one kind among those GoToSocial's interaction controls ask for (reply,
-- like, announce), kept in one table and served at their ids. Existing
-- rows keep their ids, so the stamps already given stay valid.
ALTER TABLE quote_authorizations RENAME TO interaction_authorizations;
ALTER TABLE interaction_authorizations RENAME COLUMN quote_note_id TO interaction_id;
ALTER TABLE interaction_authorizations ADD COLUMN kind TEXT NOT NULL DEFAULT 'quote';

-- What was last announced of each account's actor document: a digest of
-- it, and a sequence number that makes each Update's id unique.
CREATE TABLE actor_announcements (
    account      TEXT PRIMARY KEY,
    digest       TEXT NOT NULL,
    seq          BIGINT NOT NULL,
    announced_at BIGINT NOT NULL
);
