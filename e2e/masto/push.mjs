// Subscribes to Web Push the way a Mastodon app does, with masto.js: a
// subscription for the comms team's token (alerts for mentions, replies,
// favourites, boosts, follows and follow requests), read back, its
// policy changed, and a second one, for another token, on an endpoint
// that the push service will say is gone.
//
// Run by e2e/push_test.go. Environment:
//   BRIDGE_URL                 the bridge's public URL (loopback)
//   BRIDGE_TOKEN, BRIDGE_TOKEN2  two access tokens with "push"
//   PUSH_ENDPOINT, PUSH_GONE_ENDPOINT, PUSH_P256DH, PUSH_AUTH  the test
//                              push service's endpoints and keys
//
// On success it prints one JSON summary on stdout and exits 0; on any
// mismatch it prints what differed on stderr and exits 1.
import { createRestAPIClient } from "masto";
import { Mismatch, need, check } from "./common.mjs";

async function main() {
  const url = need("BRIDGE_URL");
  const client = createRestAPIClient({ url, accessToken: need("BRIDGE_TOKEN"), timeout: 30_000 });
  const other = createRestAPIClient({ url, accessToken: need("BRIDGE_TOKEN2"), timeout: 30_000 });
  const keys = { p256dh: need("PUSH_P256DH"), auth: need("PUSH_AUTH") };
  const alerts = { mention: true, favourite: true, reblog: true, follow: true, follow_request: true, poll: false };

  let missing = false;
  try {
    await client.v1.push.subscription.fetch();
  } catch (e) {
    missing = e.statusCode === 404;
  }
  check(missing, "before subscribing, fetch answers 404");

  const created = await client.v1.push.subscription.create({
    subscription: { endpoint: need("PUSH_ENDPOINT"), keys },
    data: { alerts },
    policy: "none", // masto.js sends it outside data; changed below
  });
  check(created.endpoint === need("PUSH_ENDPOINT"), "endpoint", created.endpoint);
  check(created.policy === "none", "policy", created.policy);
  check(created.alerts.mention && created.alerts.favourite && created.alerts.reblog && created.alerts.follow && !created.alerts.poll,
    "alerts", created.alerts);
  check(typeof created.serverKey === "string" && created.serverKey.length > 80, "server_key", created.serverKey);

  const updated = await client.v1.push.subscription.update({ data: { alerts, policy: "all" } });
  check(updated.policy === "all" && updated.id === created.id, "updated policy", updated);
  const fetched = await client.v1.push.subscription.fetch();
  check(fetched.policy === "all" && fetched.serverKey === created.serverKey, "fetched", fetched);

  const gone = await other.v1.push.subscription.create({
    subscription: { endpoint: need("PUSH_GONE_ENDPOINT"), keys },
    data: { alerts: { mention: true }, policy: "all" },
  });
  check(gone.id !== created.id, "one subscription per token", gone);

  process.stdout.write(JSON.stringify({ id: created.id, server_key: created.serverKey, gone_id: gone.id }) + "\n");
}

main().catch((e) => {
  process.stderr.write((e instanceof Mismatch ? "mismatch: " : "error: ") + (e.stack || e) + "\n");
  process.exit(1);
});
