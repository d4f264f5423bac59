-- Web Push subscriptions (package push): Mastodon's one subscription per
-- access token, made with POST /api/v1/push/subscription. endpoint, p256dh
-- and auth are the browser's or the app's PushSubscription (RFC 8291: the
-- receiver's P-256 public key and authentication secret, base64url);
-- alerts the enabled notification types, space-separated; policy all,
-- followed, follower or none. raid_until: the end of the raid this
-- subscription was last told of (one push per raid); NULL: none. Times are
-- Unix microseconds. The subscription goes with its token.

CREATE TABLE push_subscriptions (
    id         INTEGER PRIMARY KEY,
    token_id   INTEGER NOT NULL UNIQUE REFERENCES tokens (id) ON DELETE CASCADE,
    account    TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    alerts     TEXT NOT NULL DEFAULT '',
    policy     TEXT NOT NULL DEFAULT 'all',
    created_at INTEGER NOT NULL,
    raid_until INTEGER
);
CREATE INDEX push_subscriptions_account ON push_subscriptions (account);
