// Package notice is the X exit kit: the texts of the notice page in each
// language, the remote-follow input rules and lookup, the QR codes and the
// link-preview card, and the last post on X (X's weighted length, OAuth
// 1.0a signing and the X API v2 client). The HTML pages themselves are
// served by package web.
//
// Imports: config and safehttp only; cmd/bridge and web import it.
package notice
