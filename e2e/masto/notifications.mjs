// Reads what the fediverse said to the institution the way the comms
// team's Mastodon app does, with masto.js: notifications (all, then only
// mentions), the replies under a post (its context), the account behind a
// mention; then blocks the mentioning account, dismisses a notification
// and clears them all. The remote activities (a mention with a script in
// it, a reply, a like) were delivered by the Go test before this runs.
//
// Run by e2e/masto_notifications_test.go. Environment:
//   BRIDGE_URL     the bridge's public URL (loopback)
//   BRIDGE_TOKEN   an access token with "read write"
//   BRIDGE_STATUS  the id of the post the remote actors replied to and liked
//   BRIDGE_MENTIONER, BRIDGE_REPLIER, BRIDGE_LIKER  their accts (user@host)
//
// On success it prints one JSON summary on stdout and exits 0; on any
// mismatch it prints what differed on stderr and exits 1.
import { createRestAPIClient } from "masto";
import { Mismatch, need, check } from "./common.mjs";

async function main() {
  const url = need("BRIDGE_URL");
  const client = createRestAPIClient({ url, accessToken: need("BRIDGE_TOKEN"), timeout: 30_000 });
  const statusId = need("BRIDGE_STATUS");
  const mentioner = need("BRIDGE_MENTIONER");
  const replier = need("BRIDGE_REPLIER");
  const liker = need("BRIDGE_LIKER");
  const summary = {};

  // Every notification, newest first: the like, the reply, the mention.
  const all = await client.v1.notifications.list({ limit: 20 });
  summary.types = all.map((n) => n.type);
  check(all.length === 3, "notifications: want 3", summary.types);
  const byActor = Object.fromEntries(all.map((n) => [n.account.acct, n]));
  const mention = byActor[mentioner];
  check(mention && mention.type === "mention", `no mention from ${mentioner}`, summary.types);
  check(mention.status && typeof mention.status.content === "string", "the mention has no status", mention);
  check(!/<script|javascript:|onerror|onclick/i.test(mention.status.content), "the mention's content is not sanitised", mention.status.content);
  check(mention.account.displayName === "Test user 0", "the mentioner's display name", mention.account.displayName);
  const reply = byActor[replier];
  check(reply && reply.type === "mention" && reply.status.inReplyToId === statusId, "the reply's notification", reply);
  const like = byActor[liker];
  check(like && like.type === "favourite" && like.status.id === statusId, "the like's notification is about our post", like);
  summary.mention = { acct: mention.account.acct, content: mention.status.content };

  // Only mentions.
  const mentions = await client.v1.notifications.list({ types: ["mention"] });
  check(mentions.length === 2 && mentions.every((n) => n.type === "mention"), "types[]=mention", mentions.map((n) => n.type));
  const count = await client.v1.notifications.unreadCount.fetch();
  check(count.count === 3, "unread_count", count);

  // The reply is under our post.
  const context = await client.v1.statuses.$select(statusId).context.fetch();
  check(context.descendants.length === 1 && context.descendants[0].account.acct === replier, "context descendants", context.descendants);
  summary.replies = context.descendants.length;

  // The mentioner as an account, then blocked: its notification goes.
  const account = await client.v1.accounts.$select(mentioner).fetch();
  check(account.acct === mentioner, "the mentioner's account", account);
  const rel = await client.v1.accounts.$select(mentioner).block();
  check(rel.blocking === true, "block: relationship", rel);
  const afterBlock = await client.v1.notifications.list();
  check(afterBlock.length === 2 && !afterBlock.some((n) => n.account.acct === mentioner), "notifications after the block", afterBlock.map((n) => n.account.acct));
  const blocks = await client.v1.blocks.list();
  check(blocks.length === 1 && blocks[0].acct === mentioner, "blocks list", blocks);
  summary.blocked = rel.id;

  // Dismiss one, then clear.
  await client.v1.notifications.$select(afterBlock[0].id).dismiss();
  const afterDismiss = await client.v1.notifications.list();
  check(afterDismiss.length === 1, "after dismiss", afterDismiss.length);
  await client.v1.notifications.clear();
  const afterClear = await client.v1.notifications.list();
  check(afterClear.length === 0, "after clear", afterClear.length);
  summary.cleared = true;

  console.log(JSON.stringify(summary));
}

main().catch((err) => {
  if (err instanceof Mismatch) {
    console.error(`mismatch: ${err.message}`);
  } else {
    console.error(`error: ${err?.stack || err}`);
  }
  process.exit(1);
});
