// Package archive writes an account's history in the layout of Mastodon's
// account archive (Preferences > Import and export > Request your
// archive), which Mastodon-compatible importers read:
//
//	outbox.json        an OrderedCollection of Create activities, oldest
//	                   first, each embedding its Note; attachment URLs are
//	                   paths inside the archive
//	actor.json         the actor document, its outbox, likes and bookmarks
//	                   pointing to the files below
//	likes.json         empty OrderedCollections: the bridge neither likes
//	bookmarks.json     nor bookmarks
//	media_attachments/files/ID/original/ID.EXT   the media files
//
// The archive is a directory or a .zip file (Mastodon's current archives
// are zip files; older ones were .tar.gz with the same entries).
//
// Imports: only cmd/bridge imports it. It writes what federation encodes
// and storage holds; it never fetches anything.
package archive
