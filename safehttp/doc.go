// Package safehttp is the one outgoing HTTP client of the program.
// Everything Passerelle fetches or delivers (actors, keys, inboxes,
// WebFinger, link previews, blocklists, feeds, media, the Bluesky PDS)
// goes through it, so that no remote input can make the bridge reach its
// own network (SSRF).
//
// It owns:
//   - NewClient and its Config: the client, its transport (no proxy,
//     HTTP/2, timeouts, connection pool sized for delivery) and its
//     dialer, whose Control function refuses loopback, private,
//     link-local, multicast, unspecified and other non-public addresses
//     after DNS resolution, on the very address being connected to,
//     hence after every redirect and immune to DNS rebinding;
//     Config.AllowPrivateNetworks lifts the refusal, for local tests;
//   - CheckURL, which validates a URL before any network activity;
//   - ErrForbiddenAddress and ErrResponseTooLarge, and LimitedBody, which
//     reads a response body within a bound.
//
// It must not import any other package of this project (storage,
// federation, config, ...): callers map their settings onto Config.
// Host-name helpers (ports, a URL's host, domain keys) live in package
// hostport, which is not about fetching.
package safehttp
