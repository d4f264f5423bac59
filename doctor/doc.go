// Package doctor checks a deployment from the outside in, as `bridge
// doctor` does: DNS, the WebFinger round trip on the account domain, the
// TLS certificate, the clock, the database, the Bluesky login and a
// signature self-test. Each check is a small function returning a Result
// with a one-line detail and, when something is wrong, a hint saying how
// to fix it. The network, the clock and the resolver are injected (Env),
// so every check is testable on loopback.
//
// Imports: only cmd/bridge imports it; it signs with httpsig and reads
// storage, never federation.
package doctor
