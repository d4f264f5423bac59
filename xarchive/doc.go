// Package xarchive reads X's (Twitter's) data export, "Download an archive
// of your data", and imports an account's tweets into its outbox.
//
// The archive is a zip file: data/account.js names the account,
// data/tweets.js (data/tweet.js in older exports, with tweets-part1.js,
// ... for large accounts) holds the tweets as a JavaScript assignment
// ("window.YTD.tweets.part0 = [ ... ]") of a JSON array, and
// data/tweets_media/ holds the photos, named <tweet id>-<file name>.
//
// Everything is streamed: the tweets are decoded one at a time with a
// json.Decoder over the array (after the assignment prefix), and media
// files are read from the zip when their tweet is imported, so memory
// stays flat whatever the archive's size.
//
// Imports: only cmd/bridge imports it; it posts through publish.
package xarchive
