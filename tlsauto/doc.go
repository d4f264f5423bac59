// Package tlsauto provides the bridge's certificates: obtained and renewed
// automatically over ACME with certmagic (tls.mode "auto"), or read from
// files (tls.mode "manual"). Certificates, keys and the ACME account are
// kept in the database through [Storage], so that replicas sharing
// PostgreSQL share them and a restart needs no new issuance.
//
// Imports: storage only (certificates are kept in the database); only
// cmd/bridge imports it.
package tlsauto
