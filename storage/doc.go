// Package storage keeps Passerelle's durable state: key pairs, followers,
// the remote actor cache, processed activity ids and the job queue.
//
// It knows rows, not HTTP or ActivityStreams. One interface, two backends
// (SQLite through a pure-Go driver, PostgreSQL through pgx), one conformance
// suite (storage/storagetest). Times are stored as Unix microseconds in both
// backends so that SQL stays dialect-neutral.
//
// Imports: no other package of this project, and never net/http or the
// ActivityStreams vocabulary: storage knows rows.
package storage
