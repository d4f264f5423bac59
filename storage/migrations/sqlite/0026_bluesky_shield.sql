-- The raid shield on Bluesky (atproto/shield.go): per status of ours, what
-- its gate records must keep whenever they are written again (a raid
-- block, crisis mode, an edit): the replies setting its thread was
-- tightened to, the replies its threadgate hides (hiddenReplies) and the
-- quotes its postgates detach (detachedEmbeddingUris). Lists are kept to
-- what the lexicon takes (the newest). Times are Unix microseconds.

CREATE TABLE bluesky_shields (
    status_id  INTEGER PRIMARY KEY,
    account    TEXT NOT NULL,
    replies    TEXT NOT NULL,  -- a replies setting; '' when not tightened
    updated_at INTEGER NOT NULL
);

CREATE TABLE bluesky_shield_uris (
    status_id  INTEGER NOT NULL,
    kind       TEXT NOT NULL,  -- hidden_reply or detached_quote
    uri        TEXT NOT NULL,  -- the reply's or the quote's at:// URI
    created_at INTEGER NOT NULL, -- when the reply or quote was made
    PRIMARY KEY (status_id, kind, uri)
);
