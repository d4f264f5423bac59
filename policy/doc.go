// Package policy is the interaction policy of a post: who may reply to it
// and who may quote it. One account setting (accounts[].replies and
// accounts[].quotes), or a per-post override, becomes a Rule here, and
// both networks derive their controls from that one Rule: the fediverse
// side (package federation) writes it as GoToSocial's interactionPolicy
// and Mastodon's canQuote on every Note and enforces it on inbound
// replies and quote requests; the Bluesky side (package atproto) writes it
// as the post's threadgate and postgate.
//
// The author may always reply to and quote their own posts. Actors
// mentioned in a post may reply to it unless replies are "nobody", as
// GoToSocial assumes (a mentioned person must be able to answer), and as
// Bluesky's mention rule allows.
//
// Imports: config only.
package policy
