-- What the Bluesky mirror reads back (package atproto, inbox.go): for each
-- mirrored account, how far its Bluesky notifications were read and when
-- they are polled again. Times are Unix microseconds; NULL means "not set".

CREATE TABLE bluesky_inbox (
    account     TEXT PRIMARY KEY,
    newest      TEXT NOT NULL, -- indexedAt of the newest notification read (RFC 3339); empty: none yet
    seen_at     TEXT NOT NULL, -- the seenAt last sent with app.bsky.notification.updateSeen
    polled_at   BIGINT,
    active_at   BIGINT,       -- the last poll that found something new
    failures    INTEGER NOT NULL, -- polls failed in a row
    last_error  TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- A notification names the record it is about by its at:// URI.
CREATE INDEX bluesky_records_uri ON bluesky_records (uri);
