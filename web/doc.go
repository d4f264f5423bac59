// Package web serves the bridge's HTML pages: the home page, the accounts'
// profile pages, post permalinks, hashtag pages and the X exit notice
// pages (notice.go). Pages are server-rendered from one template set and
// one stylesheet, with no external assets and a strict
// Content-Security-Policy; they work without JavaScript.
//
// Imports: only cmd/bridge imports it.
package web
