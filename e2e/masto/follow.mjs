// Drives Passerelle's client API with masto.js (issue 15, "Follow"): the
// comms team follows a partner on a real Fedify server, reads the
// relationship, its home timeline and its notifications, and unfollows.
//
// Run by e2e/follow_fedify_test.go between the peer's steps (PHASE):
//   "follow"   find PEER_HANDLE, follow it
//   "accepted" relationships says following (the partner's Accept came)
//   "check"    relationships says following; the home timeline holds the
//              post whose text is WANT_TEXT; a follow notification from
//              the partner
//   "unfollow" unfollow it
//   "requests" (a manual-approval account) the partner's follow request
//              listed, authorized twice, gone from the list
// Environment: BRIDGE_URL, BRIDGE_TOKEN, PEER_HANDLE, WANT_TEXT.
// Prints one JSON summary on stdout and exits 0; on a mismatch, what
// differed on stderr and exits 1.
import { createRestAPIClient } from "masto";
import { Mismatch, need, check } from "./common.mjs";

async function partnerOf(client) {
  const handle = need("PEER_HANDLE");
  const found = await client.v2.search.list({ q: "@" + handle, resolve: true, type: "accounts" });
  check(found.accounts.length === 1, `search @${handle}: one account`, found.accounts);
  return found.accounts[0];
}

async function relationshipOf(client, id) {
  const rels = await client.v1.accounts.relationships.fetch({ id: [id] });
  check(rels.length === 1, "one relationship", rels);
  return rels[0];
}

const phases = {
  async follow(client) {
    const partner = await partnerOf(client);
    const rel = await client.v1.accounts.$select(partner.id).follow();
    check(rel.requested === true || rel.following === true, "follow: requested or following", rel);
    return { partner: partner.id, requested: rel.requested, following: rel.following };
  },
  // Our Follow accepted: the partner's posts are taken from now on (a
  // post from an account we only requested to follow is dropped).
  async accepted(client) {
    const partner = await partnerOf(client);
    let rel = await relationshipOf(client, partner.id);
    for (let i = 0; i < 60 && !rel.following; i++) {
      await new Promise((r) => setTimeout(r, 500)); // Fedify's Accept is delivered by its queue
      rel = await relationshipOf(client, partner.id);
    }
    check(rel.following === true && rel.requested === false, "relationship after the Accept: following", rel);
    return { relationship: rel };
  },
  async check(client) {
    const partner = await partnerOf(client);
    let rel = await relationshipOf(client, partner.id);
    for (let i = 0; i < 60 && !(rel.following && rel.followedBy); i++) {
      await new Promise((r) => setTimeout(r, 500)); // the Accept and the Follow are delivered by the bridge's workers
      rel = await relationshipOf(client, partner.id);
    }
    check(rel.following === true && rel.requested === false, "relationship after the Accept: following", rel);
    check(rel.followedBy === true, "relationship: followed_by (the partner follows us)", rel);
    const want = need("WANT_TEXT");
    const inHome = async () => {
      const home = await client.v1.timelines.home.list({ limit: 40 });
      return [home, home.find((s) => s.account.id === partner.id && s.content.includes(want))];
    };
    let [home, post] = await inHome();
    for (let i = 0; i < 60 && post == null; i++) {
      await new Promise((r) => setTimeout(r, 500)); // Fedify delivers the post from its queue
      [home, post] = await inHome();
    }
    check(post != null, `the home timeline holds the partner's post "${want}"`, home.map((s) => [s.account.acct, s.content]));
    const notes = await client.v1.notifications.list({ types: ["follow"] });
    check(notes.some((n) => n.type === "follow" && n.account.id === partner.id), "a follow notification from the partner", notes);
    const following = await client.v1.accounts.$select((await client.v1.accounts.verifyCredentials()).id).following.list();
    check(following.some((a) => a.id === partner.id), "our following list holds the partner", following.map((a) => a.acct));
    return { relationship: rel, post: post.id };
  },
  // A manual-approval account: the partner's follow request is listed,
  // authorized (twice: the same answer), and the list is empty after.
  async requests(client) {
    const partner = await partnerOf(client);
    let reqs = await client.v1.followRequests.list();
    for (let i = 0; i < 60 && !reqs.some((a) => a.id === partner.id); i++) {
      await new Promise((r) => setTimeout(r, 500));
      reqs = await client.v1.followRequests.list();
    }
    check(reqs.some((a) => a.id === partner.id), "the partner's follow request is listed", reqs.map((a) => a.acct));
    let rel = await relationshipOf(client, partner.id);
    check(rel.requestedBy === true && rel.followedBy === false, "relationship: requested_by, not yet followed_by", rel);
    const notes = await client.v1.notifications.list({ types: ["follow_request"] });
    check(notes.some((n) => n.type === "follow_request" && n.account.id === partner.id), "a follow_request notification", notes);
    rel = await client.v1.followRequests.$select(partner.id).authorize();
    check(rel.followedBy === true && rel.requestedBy === false, "authorize: followed_by", rel);
    const again = await client.v1.followRequests.$select(partner.id).authorize();
    check(again.followedBy === true, "authorizing twice: the same answer", again);
    reqs = await client.v1.followRequests.list();
    check(!reqs.some((a) => a.id === partner.id), "no request left", reqs.map((a) => a.acct));
    return { authorized: partner.id };
  },
  async unfollow(client) {
    const partner = await partnerOf(client);
    const rel = await client.v1.accounts.$select(partner.id).unfollow();
    check(rel.following === false && rel.requested === false, "unfollow: neither following nor requested", rel);
    return { unfollowed: partner.id };
  },
};

const client = createRestAPIClient({ url: need("BRIDGE_URL"), accessToken: need("BRIDGE_TOKEN") });
try {
  console.log(JSON.stringify(await phases[need("PHASE")](client)));
} catch (e) {
  console.error(e instanceof Mismatch ? e.message : e);
  process.exit(1);
}
