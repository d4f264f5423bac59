// Package atproto mirrors the accounts' posts to Bluesky (the AT
// Protocol), on indigo: the publishing transaction queues a job
// (publish.Mirror), and the worker (Mirror.Run) converts the stored status
// into app.bsky.feed.post records (text within 300 graphemes and 3,000
// bytes, a thread or a truncation beyond, facets computed on the final
// bytes, images fitted and uploaded as blobs, link cards, threadgates and
// postgates) and writes them with record keys chosen at enqueue time, so
// that nothing is lost or duplicated across retries, crashes and PDS
// outages. It also keeps each account's session (sealed in storage),
// serves /.well-known/atproto-did and switches an account's handle to its
// domain. See docs/bluesky.md.
//
// indigo's generated com.atproto package is imported as comatproto.
//
// Imports: it must not import federation, publish, api or web; indigo
// (the Bluesky SDK) is imported here and nowhere else
// (cmd/bridge/layout_test.go).
package atproto
