// Package bridgetest builds the bridge's core as cmd/bridge wires it (a
// store, the SSRF-safe client, federation and publishing), served on a
// loopback listener, for the tests of the packages built on that core: the
// client API, the pages, the Bluesky mirror, feeds, imports, metrics.
// Each test package adds its own surface to the environment's mux and
// keeps only the helpers that are its own.
//
// Imports: federation, publish, storage, storagetest, safehttp, links and
// config; never a surface (api, web, …) nor atproto, so that their tests
// can use it.
package bridgetest
