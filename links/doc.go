// Package links builds and reads the public addresses of this bridge's
// own things: its accounts' actors, profiles and handles, their posts'
// ActivityPub ids and permalinks, media, tag pages and collections. It is
// a small value, built once from the configuration and handed to every
// package that writes or recognises our URLs (federation, the client API,
// the pages, publishing, the Bluesky mirror, the CLI), so that none of
// them needs the federation service for that.
//
// It imports no other package of this project.
package links
