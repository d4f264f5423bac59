// Package publish is where posts are made, edited, deleted and pinned,
// where media are uploaded, and where an account replies to, boosts and
// favourites posts it did not write, remote ones included (presence.go):
// the one code path shared by the Mastodon client API and the command
// line. Each change is written in one transaction
// together with the jobs that deliver it, so a crash loses nothing.
//
// Imports: it must not import api, web, feeds or xarchive: they post
// through it.
package publish
