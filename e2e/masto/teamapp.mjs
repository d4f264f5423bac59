// A Mastodon app logged in by a team member through the console's OAuth
// page, with masto.js (issue 17): the app registers itself, the member
// authorizes it in a browser with their team login (e2e/browser/teamapp.mjs
// runs this script around that), and the app, now acting as a
// contributor, posts: the post waits for an editor's approval.
//
// PHASE:
//   "app"  register an app (POST /api/v1/apps, out-of-band redirect);
//          print its id, secret and authorization URL
//   "post" exchange CODE for a token (POST /oauth/token), read the
//          account it acts for, post STATUS_TEXT: 202 pending_approval
// Environment: BRIDGE_URL; for "post" CLIENT_ID, CLIENT_SECRET, CODE,
// STATUS_TEXT. Prints one JSON summary on stdout and exits 0; on a
// mismatch, what differed on stderr and exits 1.
import { createOAuthAPIClient, createRestAPIClient } from "masto";
import { Mismatch, need, check } from "./common.mjs";

const oob = "urn:ietf:wg:oauth:2.0:oob";
const scope = "read write";

const phases = {
  async app(url) {
    const app = await createRestAPIClient({ url }).v1.apps.create({ clientName: "Comms phone", redirectUris: oob, scopes: scope });
    check(app.clientId && app.clientSecret, "the app has an id and a secret", app);
    const authorize = new URL("/oauth/authorize", url);
    authorize.search = new URLSearchParams({ response_type: "code", client_id: app.clientId, redirect_uri: oob, scope }).toString();
    return { client_id: app.clientId, client_secret: app.clientSecret, authorize: authorize.toString() };
  },
  async post(url) {
    const token = await createOAuthAPIClient({ url }).token.create({
      grantType: "authorization_code", clientId: need("CLIENT_ID"), clientSecret: need("CLIENT_SECRET"),
      redirectUri: oob, code: need("CODE"), scope,
    });
    check(typeof token.accessToken === "string" && token.accessToken.length > 20, "an access token", token);
    const client = createRestAPIClient({ url, accessToken: token.accessToken });
    const me = await client.v1.accounts.verifyCredentials();
    check(me.username === "news", "the token acts for @news", me.acct);
    const draft = await client.v1.statuses.create({ status: need("STATUS_TEXT") });
    // A contributor's post is a draft: 202 with Passerelle's draft entity.
    check(draft.state === "pending_approval" && draft.id, "the contributor's post waits for approval", draft);
    return { account: me.acct, draft: draft.id };
  },
};

const phase = need("PHASE");
try {
  check(phase in phases, `unknown PHASE ${phase}`);
  console.log(JSON.stringify(await phases[phase](need("BRIDGE_URL"))));
} catch (e) {
  console.error(e instanceof Mismatch ? "mismatch: " + e.message : e?.stack ?? String(e));
  process.exit(1);
}
