// Package metrics exposes Passerelle's Prometheus metrics: inbound
// activities, signature failures, deliveries, the job queue, the Bluesky
// mirror and HTTP requests, on a registry of its own (never the global
// default one), served by Handler on a separate listen address.
//
// Every label takes its values from a small, fixed set: remote input
// (activity types, paths) is mapped to "other" rather than becoming a
// label value.
//
// Imports: only cmd/bridge imports it.
package metrics
