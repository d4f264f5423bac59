// Package web serves the bridge's public HTML pages: the home page, the
// accounts' profiles, post permalinks and embeds, hashtag pages, the RSS
// 2.0 and Atom feeds, oEmbed, the accessibility statement, styled error
// pages, and the X exit notice pages (notice.go). Every page is in the
// visitor's language among the account's (i18n.go), server-rendered from
// one template set and one stylesheet, with no external assets and a
// strict Content-Security-Policy; pages work without JavaScript. Rendered
// pages are kept in memory with validators (cache.go) and invalidated by
// publishing.
//
// Imports: only cmd/bridge imports it.
package web
