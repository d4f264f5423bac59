// Package ratelimit bounds what one remote party may do: token buckets
// (federation's inbound limits per domain, actor and key fetches) and
// fixed-window counters (the client API's login and registration
// limits), per key, in memory. Each remembers a fixed number of keys in a
// sharded LRU (Cache): a flood of new keys makes it forget old ones (a
// forgotten bucket starts full again, a forgotten window empty), never
// refuse everyone or grow without bound.
//
// It imports no other package of this project.
package ratelimit
