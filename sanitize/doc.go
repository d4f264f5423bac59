// Package sanitize makes what remote servers send safe to store and to
// show: HTML is reduced to the elements Mastodon itself keeps in remote
// posts (paragraphs, line breaks, links, mentions, hashtags, simple
// formatting), through bluemonday; names and plain text lose the Unicode
// that is used to spoof or to break layouts (bidirectional overrides,
// control characters, floods of zero-width characters or combining marks)
// and are length-capped.
//
// Every remote string goes through this package before it is stored, and
// what is stored is what is displayed: nothing remote is ever rendered
// without it.
//
// Imports: no other package of this project.
package sanitize
