// Package moderation decides which remote servers Passerelle federates
// with: domain blocks written in the configuration, added from the
// command line, imported from Mastodon's CSV export, or received from
// blocklist subscriptions, all merged into one in-memory Matcher that the
// hot paths (inboxes, fetches, deliveries) read without locking. A
// blocked domain covers its subdomains, whatever the port. Each account
// also has its own domain blocks, made from its Mastodon app
// (accounts.go): they concern that account only (Matcher.BlockedFor).
//
// Severities: "suspend" blocks (requests refused before any signature key
// is fetched, followers removed, nothing delivered or served); "silence"
// keeps federating but its activities must not notify anyone; "noop"
// entries of imported lists are ignored.
//
// Imports: it must not import federation, publish, api or web: federation
// asks it (federation.DomainPolicy), not the other way round.
package moderation
