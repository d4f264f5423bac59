// Package api is the subset of Mastodon's client API that a posting client
// needs: the Mastodon apps, web clients and schedulers the comms team
// already uses log in with OAuth (or a token made with the CLI), upload
// images and publish, edit, delete and pin statuses; and answer the
// fediverse: search remote posts and accounts, reply, boost and
// favourite them, see who boosted or favourited, threads and edit
// histories (presence.go, thread.go).
//
// Handlers are thin: they parse the request, call the publishing service
// (package publish, the one code path shared with the command line) or the
// store, and answer with Mastodon's JSON entities and error format
// ({"error": "..."}). Errors are mapped to status codes in one place, fail.
//
// Identifiers: an account's id is its username (stable, readable; Mastodon
// documents ids as opaque strings), a status's or a media's id is its
// storage id in decimal.
//
// Imports: only cmd/bridge imports it (cmd/bridge/layout_test.go). It
// reaches remote servers only through federation and publish, never by
// itself, and keeps SQL in storage.
package api
