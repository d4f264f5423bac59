-- A deleted post's media answer 410 at once (web pages, issue 18): the
-- media detached from a status by its deletion are marked removed, until
-- a new status attaches them again (a client's delete-and-redraft).
ALTER TABLE media ADD COLUMN removed_at BIGINT; -- NULL: not removed
