-- The comms team's console (package admin, issue 17): team members with
-- their own login, their roles per account, one-time invitations, console
-- sessions, who made each status and the audit log.
-- team_members: email lower-cased; password_hash a bcrypt hash;
-- totp_secret the RFC 6238 shared secret (base32); totp_last_step the last
-- time step accepted (a code is never accepted twice).
-- team_roles: admin, editor or contributor, per account.
-- team_invites and team_sessions: stored as SHA-256 hashes of the secret
-- handed out; an invitation is used once (used_at) before expires_at.
-- tokens.member_id, auth_codes.member_id: the member who authorized the
-- app (NULL or 0: a login code or the CLI).
-- status_attributions: the member and app that created a status.
-- audit_log: who (member, token, app) did what (action) to what (target),
-- when, from which address. Times are Unix microseconds.

CREATE TABLE team_members (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    created_at     INTEGER NOT NULL
);

CREATE TABLE team_roles (
    member_id INTEGER NOT NULL REFERENCES team_members (id) ON DELETE CASCADE,
    account   TEXT NOT NULL,
    role      TEXT NOT NULL,
    PRIMARY KEY (member_id, account)
);
CREATE INDEX team_roles_account ON team_roles (account);

CREATE TABLE team_invites (
    hash       TEXT PRIMARY KEY,
    email      TEXT NOT NULL,
    account    TEXT NOT NULL,
    role       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE team_sessions (
    hash       TEXT PRIMARY KEY,
    member_id  INTEGER NOT NULL REFERENCES team_members (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX team_sessions_member ON team_sessions (member_id);

ALTER TABLE tokens ADD COLUMN member_id INTEGER;
ALTER TABLE auth_codes ADD COLUMN member_id INTEGER NOT NULL DEFAULT 0;

CREATE TABLE status_attributions (
    status_id  INTEGER PRIMARY KEY,
    member_id  INTEGER,
    app_id     INTEGER,
    token_id   INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    at        INTEGER NOT NULL,
    member_id INTEGER,
    actor     TEXT NOT NULL,
    account   TEXT NOT NULL,
    app       TEXT NOT NULL,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    address   TEXT NOT NULL
);
CREATE INDEX audit_log_account ON audit_log (account, id);

-- team_passkeys: WebAuthn credentials of the members (passkeys):
-- credential_id base64url, credential the JSON of go-webauthn's Credential
-- (public key, sign count, flags).
CREATE TABLE team_passkeys (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id     INTEGER NOT NULL REFERENCES team_members (id) ON DELETE CASCADE,
    credential_id TEXT NOT NULL UNIQUE,
    credential    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX team_passkeys_member ON team_passkeys (member_id);
