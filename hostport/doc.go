// Package hostport reduces hosts, as found in URLs, Host headers, keyIds,
// handles and configuration, the same way everywhere in the program:
//
//   - Host strips the port (and the brackets of an IPv6 literal) from
//     host[:port];
//   - FromURL takes the host[:port] of an absolute URL, as written;
//   - Key (and URLKey, for a URL) gives the domain key: the lower-case,
//     punycode, port-less form that domain blocks, per-domain limits and
//     stored domains use.
//
// FromURL, and Host and Key on lower-case ASCII names, allocate nothing:
// the inbound guard calls them on every request.
//
// It owns no policy (package moderation decides what is blocked; package
// safehttp decides which addresses may be dialled) and must not import
// any other package of this project, so that any of them, config
// included, can use it.
package hostport
