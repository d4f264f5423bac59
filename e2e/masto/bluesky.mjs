// A Bluesky conversation in the comms team's Mastodon app, with masto.js
// (issue 16): a Bluesky user's reply to a mirrored post arrives in the
// app's notifications, shows in the post's context, and the team answers
// it from the app.
//
// Run by e2e/masto_bluesky_test.go between the Bluesky side's steps (PHASE):
//   "post"   post STATUS_TEXT (public, so it is mirrored)
//   "answer" wait for the notification of BSKY_HANDLE's reply to
//            BRIDGE_STATUS whose text holds WANT_TEXT; check the reply
//            in the status's context and its account; answer it with
//            ANSWER_TEXT
// Environment: BRIDGE_URL, BRIDGE_TOKEN and the above.
// Prints one JSON summary on stdout and exits 0; on a mismatch, what
// differed on stderr and exits 1.
import { createRestAPIClient } from "masto";
import { Mismatch, need, check } from "./common.mjs";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const phases = {
  async post(client) {
    const st = await client.v1.statuses.create({ status: need("STATUS_TEXT"), visibility: "public" });
    return { id: st.id };
  },
  async answer(client) {
    const statusId = need("BRIDGE_STATUS");
    const handle = need("BSKY_HANDLE");
    const want = need("WANT_TEXT");
    const find = async () => {
      const notes = await client.v1.notifications.list({ types: ["mention"], limit: 40 });
      return [notes, notes.find((n) => n.account.acct === handle && n.status?.content.includes(want))];
    };
    // The bridge reads Bluesky every poll_interval; the AppView indexes
    // the reply first.
    let [notes, note] = await find();
    for (let i = 0; i < 240 && note == null; i++) {
      await sleep(500);
      [notes, note] = await find();
    }
    check(note != null, `a mention notification from ${handle} holding "${want}"`,
      notes.map((n) => [n.type, n.account.acct, n.status?.content]));
    check(note.status.inReplyToId === statusId, "the reply answers our post", note.status);
    check(note.account.url.startsWith("https://bsky.app/profile/"), "the account is shown as a Bluesky account", note.account);
    const ctx = await client.v1.statuses.$select(statusId).context.fetch();
    check(ctx.descendants.some((s) => s.id === note.status.id), "the reply is in our post's context", ctx.descendants.map((s) => s.id));
    const answer = await client.v1.statuses.create({ status: need("ANSWER_TEXT"), inReplyToId: note.status.id });
    check(answer.inReplyToId === note.status.id, "the answer replies to the Bluesky post", answer);
    return { notification: note.id, reply: note.status.id, account: note.account.acct, answer: answer.id, visibility: answer.visibility };
  },
};

async function main() {
  const client = createRestAPIClient({ url: need("BRIDGE_URL"), accessToken: need("BRIDGE_TOKEN"), timeout: 30_000 });
  const phase = need("PHASE");
  check(phase in phases, `unknown PHASE ${phase}`);
  console.log(JSON.stringify(await phases[phase](client)));
}

main().catch((err) => {
  if (err instanceof Mismatch) {
    console.error("mismatch: " + err.message);
  } else {
    console.error(err?.stack ?? String(err));
  }
  process.exit(1);
});
