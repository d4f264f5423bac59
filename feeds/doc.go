// Package feeds posts the new entries of the institution's website feeds
// (RSS 2.0 and Atom: news pages, press releases). A Poller fetches each
// configured feed through the SSRF-safe client with conditional requests,
// recognises entries by their id, and publishes each new one exactly once
// through the publishing service, from the feed's template.
//
// Imports: only cmd/bridge imports it; it posts through publish, never
// through federation.
package feeds
