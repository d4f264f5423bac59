// Package admin is the comms team's console at /admin: server-rendered
// pages (html/template; one script of ours, for passkeys; a strict
// Content-Security-Policy), in
// French and English, for the people of the team, each with their own
// login.
//
// People: the operator invites a member to an account with a role
// (`bridge team invite`, or an admin from the console); the invitation is
// a one-time link, stored hashed, that expires. The invitee sets a
// password (bcrypt) and a TOTP second factor (RFC 6238, through
// github.com/pquerna/otp); a TOTP code is accepted once. A member may add
// passkeys (WebAuthn, through github.com/go-webauthn/webauthn: passkey.go),
// and sign in with one. Roles are per
// account: admin, editor, contributor. Sessions are random secrets in an
// HttpOnly, SameSite=Lax cookie (Secure over HTTPS), stored hashed, renewed
// at every login (no fixation); every form carries a CSRF token; logins
// are limited per person and per client address (package ratelimit).
//
// The Mastodon API's /oauth/authorize asks the console who is signed in
// (Console.Member, the api.TeamLogin interface): a member authorizes apps
// for the accounts they belong to, and the tokens made that way carry the
// member. The audit log (/admin/audit, CSV export) lists what members,
// tokens and apps did, and the failed logins.
//
// Imports: storage, ratelimit and reqlog of this project; only cmd/bridge
// imports it (cmd/bridge/layout_test.go).
package admin
