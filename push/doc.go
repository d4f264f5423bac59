// Package push sends Web Push notifications to the comms team's phones
// and browsers, as Mastodon does: the subscriptions that the client API
// makes (one per access token, with alerts and a policy), the server's
// VAPID key pair (RFC 8292; made once and kept in storage with the other
// key pairs), the payload (Mastodon's JSON, trimmed to fit one RFC 8291
// record) and its durable delivery.
//
// It owns:
//   - Notified, the hook federation calls in the transaction that creates
//     a notification: a "push" job is queued with it (nothing when the
//     account has no subscription, nor for a mention of a raid every
//     subscription was told of), due 2 s later for mentions and quotes
//     (RaidGather: a burst is seen as a raid first);
//   - the "push" job: the notification read again (gone, dismissed, or
//     from an actor or domain the account blocked or muted: nothing
//     sent), each live subscription's alerts and policy applied, raids
//     collapsed (moderation.RaidSpans: one push per subscription per
//     raid), then one "push.send" job per subscription, in one
//     transaction;
//   - the "push.send" job: the payload encrypted (aes128gcm, RFC 8291) and
//     signed for the push service (VAPID) by github.com/SherClockHolmes/webpush-go,
//     POSTed through the SSRF-safe client with TTL and Urgency; 404 and
//     410 remove the subscription, 429 and 5xx are retried, a push older
//     than its TTL is dropped;
//   - CheckSubscription, which validates what a client subscribes with
//     (an https endpoint on a public address, the receiver's keys).
//
// Imports: storage, jobs, safehttp, moderation, sanitize, hostport; never
// api, web, federation or publish (federation calls it through its
// Notifier interface; api calls it).
package push
