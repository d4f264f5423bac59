// Creates and reads a poll the way a comms team's Mastodon app does, with
// masto.js. Two steps, run by e2e/masto_polls_test.go:
//   POLL_STEP=create  creates a poll (and checks that a one-option poll and
//                     a poll with too many options are refused with 422);
//                     prints {"id": ...}
//   POLL_STEP=read    reads the poll of BRIDGE_STATUS after a remote vote
//                     (GET /api/v1/polls/:id and the status), checks that
//                     voting in its own poll is refused; prints a summary.
// Environment: BRIDGE_URL, BRIDGE_TOKEN, POLL_STEP, BRIDGE_STATUS (read).
// On a mismatch it prints what differed on stderr and exits 1.
import { createRestAPIClient } from "masto";
import { Mismatch, need, check, expectHttpError } from "./common.mjs";

async function create(client) {
  await expectHttpError("a poll with one option", 422, () =>
    client.v1.statuses.create({ status: "One?", poll: { options: ["Only"], expiresIn: 3600 } }));
  await expectHttpError("a poll with 5 options", 422, () =>
    client.v1.statuses.create({ status: "Five?", poll: { options: ["a", "b", "c", "d", "e"], expiresIn: 3600 } }));
  const st = await client.v1.statuses.create({
    status: "Which day for the market?",
    poll: { options: ["Saturday", "Sunday"], expiresIn: 3600 },
  });
  check(st.poll && st.poll.id === st.id, "the status's poll", st.poll);
  check(st.poll.options.map((o) => o.title).join(",") === "Saturday,Sunday", "options", st.poll.options);
  check(st.poll.expired === false && st.poll.multiple === false && st.poll.votesCount === 0, "a new poll", st.poll);
  return { id: st.id };
}

async function read(client) {
  const id = need("BRIDGE_STATUS");
  const poll = await client.v1.polls.$select(id).fetch();
  check(poll.id === id, "poll id", poll);
  check(poll.votesCount === 1 && poll.votersCount === 1, "the remote vote is counted", poll);
  check(poll.options[0].votesCount === 0 && poll.options[1].votesCount === 1, "Sunday's vote", poll.options);
  check(poll.voted === false && Array.isArray(poll.ownVotes) && poll.ownVotes.length === 0, "our own votes", poll);
  const st = await client.v1.statuses.$select(id).fetch();
  check(st.poll && st.poll.votesCount === 1, "the status embeds the poll", st.poll);
  await expectHttpError("voting in our own poll", 422, () => client.v1.polls.$select(id).votes.create({ choices: [0] }));
  return { votes: poll.votesCount, options: poll.options.map((o) => [o.title, o.votesCount]) };
}

async function main() {
  const client = createRestAPIClient({ url: need("BRIDGE_URL"), accessToken: need("BRIDGE_TOKEN"), timeout: 30_000 });
  const step = need("POLL_STEP");
  const out = step === "create" ? await create(client) : await read(client);
  console.log(JSON.stringify(out));
}

main().catch((err) => {
  console.error(err instanceof Mismatch ? err.message : err?.stack ?? String(err));
  process.exit(1);
});
