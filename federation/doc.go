// Package federation is everything ActivityPub: WebFinger, host-meta,
// NodeInfo, the actor documents and collections (wellknown.go, actor.go,
// objects.go); the inboxes (inbox.go, sigin.go: signatures checked; the
// guard, guard.go: blocks and limits; inbound*.go and approvals.go: one
// file per activity type, one dispatch table, one apply-once helper);
// remote actors and keys (remote.go); the documents we send (encode*.go,
// note.go: plain structs) and the decoding of what others send
// (decode.go: go-fed); what tells the fediverse about our statuses
// (statuses.go), what our accounts do to others' posts and how they find
// them (presence.go: boosts, favourites, search by URL;
// encode_reactions.go) and the durable fan-out and delivery (fanout.go,
// delivery.go: a pool of package jobs; knock.go: which signature spec and
// key a host takes, Ed25519 where known; resign.go: a retry re-sends its
// signature while fresh).
//
// Imports: it must not import publish, api, web, atproto, notice, archive,
// feeds or xarchive (they import it); go-fed's activity vocabulary is
// imported here and nowhere else (cmd/bridge/layout_test.go). HTTP
// signatures are httpsig's, the outgoing client safehttp's, the job loop
// jobs', our URLs links', per-key limits ratelimit's.
package federation
