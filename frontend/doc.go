// Package frontend runs the bridge's listeners: the main server (plain
// HTTP behind a reverse proxy, or HTTPS with file or ACME certificates;
// each of its requests gets an id and a logger, package reqlog),
// the plain-HTTP listener that answers ACME HTTP-01 challenges and
// redirects to HTTPS, and the private metrics listener. It binds them all
// before serving any, and shuts them all down gracefully.
//
// Imports: only cmd/bridge imports it; it knows listeners, not
// ActivityPub or storage.
package frontend
