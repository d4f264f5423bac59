// Drives Passerelle's client API with masto.js, a real Mastodon client,
// as a comms team answering the fediverse (issue 15): find a partner's
// post by its URL and the partner by @user@host, answer it in its thread,
// boost and favourite it and take both back, answer privately (direct),
// and read the counts, who boosted or favourited, and the thread.
//
// Run by e2e/presence_test.go, which steers the Fedify peer between the
// phases (PHASE): "act" does the above; "counts" reads what the peer did
// to our reply. Environment:
//   BRIDGE_URL, BRIDGE_TOKEN   the bridge (its HTTPS front) and a token
//   PEER_NOTE                  the URL of the partner's post
//   PEER_HANDLE                the partner's handle, user@host
//   REPLY_ID                   (counts) our reply's id
//   WANT_FAVOURITES, WANT_REBLOGS, WANT_REPLIES  (counts) what to expect
//
// On success it prints one JSON summary on stdout and exits 0; on any
// mismatch it prints what differed on stderr and exits 1.
import { createRestAPIClient, MastoHttpError } from "masto";

class Mismatch extends Error {}

function need(name) {
  const v = process.env[name];
  if (!v) throw new Mismatch(`environment variable ${name} is not set`);
  return v;
}

function check(cond, what, got) {
  if (!cond) {
    throw new Mismatch(`${what}${got === undefined ? "" : `; got ${JSON.stringify(got)}`}`);
  }
}

async function expectHttpError(what, code, fn) {
  try {
    const got = await fn();
    throw new Mismatch(`${what}: succeeded, want HTTP ${code}; got ${JSON.stringify(got)}`);
  } catch (err) {
    if (err instanceof Mismatch) throw err;
    if (!(err instanceof MastoHttpError)) {
      throw new Mismatch(`${what}: want a MastoHttpError ${code}, got ${err?.name}: ${err?.message}`);
    }
    check(err.statusCode === code, `${what}: status code is ${err.statusCode}, want ${code}`);
    return err;
  }
}

async function act(client) {
  const noteURL = need("PEER_NOTE");
  const handle = need("PEER_HANDLE");
  const summary = {};
  const me = await client.v1.accounts.verifyCredentials();

  // The partner, by @user@host: WebFinger, then its actor (with its bio).
  const byHandle = await client.v2.search.list({ q: "@" + handle, resolve: true, type: "accounts" });
  check(byHandle.accounts.length === 1, `search @${handle}: one account`, byHandle.accounts);
  const partner = byHandle.accounts[0];
  check(partner.acct === handle.toLowerCase(), `search @${handle}: acct`, partner.acct);
  check(partner.note.includes("Fedify peer"), "the partner's bio is shown", partner.note);
  const fetched = await client.v1.accounts.$select(partner.id).fetch();
  check(fetched.uri === partner.uri && fetched.note === partner.note, "GET /api/v1/accounts/:id of the partner", fetched);
  summary.partner = { id: partner.id, uri: partner.uri };

  // Its post, by URL: fetched by the bridge, signed.
  const byURL = await client.v2.search.list({ q: noteURL, resolve: true });
  check(byURL.statuses.length === 1, `search ${noteURL}: one status`, byURL);
  const post = byURL.statuses[0];
  check(post.uri === noteURL, "the post found is the one searched", post.uri);
  check(post.account.uri === partner.uri, "the post's author is the partner", post.account);
  check(post.content.includes("Flood warning"), "the post's content", post.content);
  check(!post.favourited && !post.reblogged, "not yet favourited or boosted", post);
  const again = await client.v1.statuses.$select(post.id).fetch();
  check(again.uri === noteURL, "GET /api/v1/statuses/:id of the remote post", again);
  const partnerPosts = await client.v1.accounts.$select(partner.id).statuses.list();
  check(partnerPosts.some((s) => s.id === post.id), "the partner's posts we hold list it", partnerPosts.map((s) => s.uri));
  summary.post = { id: post.id };

  // An answer in its thread.
  const reply = await client.v1.statuses.create({ status: `@${handle} Thanks, we are sharing it with the city's residents.`, inReplyToId: post.id });
  check(reply.inReplyToId === post.id, "the reply's in_reply_to_id", reply.inReplyToId);
  check(reply.inReplyToAccountId === partner.id, "the reply's in_reply_to_account_id", reply.inReplyToAccountId);
  check(reply.mentions.some((m) => m.acct === handle.toLowerCase()), "the reply mentions the partner", reply.mentions);
  summary.reply = { id: reply.id, uri: reply.uri };

  // Boost, favourite, and both taken back.
  const boost = await client.v1.statuses.$select(post.id).reblog();
  check(boost.reblog?.id === post.id && boost.reblogged, "reblog answers our boost of the post", boost);
  summary.boost = { id: boost.id, uri: boost.uri };
  const timeline = await client.v1.accounts.$select(me.id).statuses.list({ limit: 10 });
  check(timeline.some((s) => s.id === boost.id && s.reblog?.id === post.id), "our boost is in our account's statuses", timeline.map((s) => [s.id, s.reblog?.id]));
  const fav = await client.v1.statuses.$select(post.id).favourite();
  check(fav.favourited && fav.reblogged && fav.favouritesCount >= 1, "favourite: favourited and reblogged", fav);
  const shown = await client.v1.statuses.$select(post.id).fetch();
  check(shown.favourited && shown.reblogged, "the post shows our favourite and boost", shown);
  const unboosted = await client.v1.statuses.$select(post.id).unreblog();
  check(!unboosted.reblogged && unboosted.favourited, "unreblog", unboosted);
  const unfav = await client.v1.statuses.$select(post.id).unfavourite();
  check(!unfav.favourited && !unfav.reblogged, "unfavourite", unfav);
  const timelineAfter = await client.v1.accounts.$select(me.id).statuses.list({ limit: 10 });
  check(!timelineAfter.some((s) => s.id === boost.id), "the boost left our account's statuses", timelineAfter.map((s) => s.id));

  // A private answer: direct.
  const direct = await client.v1.statuses.create({ status: `@${handle} Could you send us the gauge readings?`, visibility: "direct", inReplyToId: post.id });
  check(direct.visibility === "direct" && direct.inReplyToId === post.id, "the direct answer", direct);
  summary.direct = { id: direct.id, uri: direct.uri };

  // The thread of the partner's post: our two answers below it.
  const context = await client.v1.statuses.$select(post.id).context.fetch();
  const below = context.descendants.map((s) => s.id);
  check(below.includes(reply.id) && below.includes(direct.id), "the post's context lists our answers", below);
  const replyContext = await client.v1.statuses.$select(reply.id).context.fetch();
  check(replyContext.ancestors.length === 1 && replyContext.ancestors[0].id === post.id, "our reply's context has the partner's post above", replyContext.ancestors);

  // A boost of a direct post is refused.
  await expectHttpError("reblog of a direct post", 422, () => client.v1.statuses.$select(direct.id).reblog());
  // A status we do not hold.
  await expectHttpError("favourite of a status we do not hold", 404, () => client.v1.statuses.$select("123456789").favourite());
  return summary;
}

async function counts(client) {
  const replyId = need("REPLY_ID");
  const want = { favourites: Number(need("WANT_FAVOURITES")), reblogs: Number(need("WANT_REBLOGS")), replies: Number(need("WANT_REPLIES")) };
  const handle = need("PEER_HANDLE").toLowerCase();
  const st = await client.v1.statuses.$select(replyId).fetch();
  check(st.favouritesCount === want.favourites && st.reblogsCount === want.reblogs && st.repliesCount === want.replies,
    `counts of our reply: want ${JSON.stringify(want)}`, { favourites: st.favouritesCount, reblogs: st.reblogsCount, replies: st.repliesCount });
  const favBy = await client.v1.statuses.$select(replyId).favouritedBy.list();
  check(favBy.length === want.favourites && favBy.every((a) => a.acct === handle), "favourited_by", favBy.map((a) => a.acct));
  const boostBy = await client.v1.statuses.$select(replyId).rebloggedBy.list();
  check(boostBy.length === want.reblogs && boostBy.every((a) => a.acct === handle), "reblogged_by", boostBy.map((a) => a.acct));
  const context = await client.v1.statuses.$select(replyId).context.fetch();
  check(context.descendants.length === want.replies && context.descendants.every((s) => s.account.acct === handle),
    "the partner's answers below our reply", context.descendants.map((s) => [s.account.acct, s.content]));
  const history = await client.v1.statuses.$select(replyId).history.list();
  check(history.length >= 1 && history[history.length - 1].content === st.content, "history ends with the current version", history);
  return { favourites: st.favouritesCount, reblogs: st.reblogsCount, replies: st.repliesCount, history: history.length };
}

async function main() {
  const client = createRestAPIClient({ url: need("BRIDGE_URL"), accessToken: need("BRIDGE_TOKEN"), timeout: 30_000 });
  const phase = need("PHASE");
  const out = phase === "act" ? await act(client) : await counts(client);
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err instanceof Mismatch ? `mismatch: ${err.message}` : err);
  process.exit(1);
});
