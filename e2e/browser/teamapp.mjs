// Issue 17's whole path in Chromium (playwright-core), for
// e2e/console_app_test.go: a contributor accepts their invitation, adds a
// passkey and signs in with it; a Mastodon app (masto.js,
// e2e/masto/teamapp.mjs) is authorized on the console's OAuth page with
// that login and posts as the contributor (a draft); an editor accepts
// their invitation and approves the draft on the console's drafts page.
//
//   node teamapp.mjs --site URL --contributor URL --editor URL --masto DIR --text TEXT
//
// Prints one JSON summary ({"draft", "status"}) on stdout and exits 0; on
// a failed check, what differed on stderr and exits 1. It never downloads
// a browser: BRIDGE_TEST_CHROMIUM (default /usr/bin/chromium).
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import { parseArgs } from "node:util";
import { acceptInvitation, addPasskey, signOutAndInWithPasskey } from "./team.mjs";

const { values: opt } = parseArgs({
  options: { site: { type: "string" }, contributor: { type: "string" }, editor: { type: "string" }, masto: { type: "string" }, text: { type: "string" } },
});
for (const k of ["site", "contributor", "editor", "masto", "text"]) {
  if (!opt[k]) {
    console.error("usage: node teamapp.mjs --site URL --contributor URL --editor URL --masto DIR --text TEXT");
    process.exit(2);
  }
}

class Mismatch extends Error {}
function check(ok, what, got) {
  if (!ok) throw new Mismatch(`${what}${got === undefined ? "" : `; got ${JSON.stringify(got)}`}`);
}

// masto runs e2e/masto/teamapp.mjs's phase with env and returns its summary.
function masto(phase, env = {}) {
  const out = execFileSync("node", ["teamapp.mjs"], { cwd: opt.masto, env: { ...process.env, ...env, PHASE: phase, BRIDGE_URL: opt.site }, encoding: "utf8" });
  return JSON.parse(out.trim());
}

const browser = await chromium.launch({
  executablePath: process.env.BRIDGE_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
try {
  // The contributor: invitation, passkey, signed in with the passkey.
  const ctxC = await browser.newContext({ locale: "en-US" });
  const pageC = await ctxC.newPage();
  await pageC.goto(opt.contributor);
  check((await acceptInvitation(pageC)) === "/admin", "contributor: invitation accepted", pageC.url());
  const added = await addPasskey(ctxC, pageC, opt.site);
  check(/Passkey added/.test(added), "contributor: passkey added", added);
  const back = await signOutAndInWithPasskey(pageC);
  check(back.path === "/admin", "contributor: signed in with the passkey", back);

  // The app, authorized with the team login.
  const app = masto("app");
  await pageC.goto(app.authorize);
  check((await pageC.textContent("main")).includes("Signed in as contributor@city.example"), "the authorization page knows the member", await pageC.textContent("main"));
  await Promise.all([pageC.waitForNavigation(), pageC.getByRole("button", { name: /^Authorize as / }).click()]);
  const code = (await pageC.textContent(".code"))?.trim();
  check(code && code.length >= 16, "an authorization code is shown", code);
  const posted = masto("post", { CLIENT_ID: app.client_id, CLIENT_SECRET: app.client_secret, CODE: code, STATUS_TEXT: opt.text });
  await ctxC.close();

  // The editor approves it.
  const ctxE = await browser.newContext({ locale: "en-US" });
  const pageE = await ctxE.newPage();
  await pageE.goto(opt.editor);
  check((await acceptInvitation(pageE)) === "/admin", "editor: invitation accepted", pageE.url());
  await pageE.goto(opt.site + "/admin/drafts");
  const article = pageE.locator("article.draft", { hasText: opt.text });
  check((await article.count()) === 1, "editor: the contributor's draft is listed", await pageE.textContent("main"));
  await Promise.all([pageE.waitForNavigation(), article.locator("form[action='/admin/drafts/approve'] button").click()]);
  const done = (await pageE.textContent(".notice")) ?? "";
  const m = /Published as status (\d+)/.exec(done);
  check(m, "editor: the draft is published", done);
  // The reach pages: the post reached the follower's server and is on
  // Bluesky; the follower chart is drawn.
  let row = "";
  for (let i = 0; i < 60; i++) {
    await pageE.goto(opt.site + "/admin/reach/posts/news");
    const cells = await pageE.locator(`#post-${m[1]} td`).allTextContents();
    row = cells.join(" | ");
    if (cells[0]?.trim() === "1" && /mirrored/i.test(cells[3] ?? "")) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  check(/^1 \| 0 \| 0 \| mirrored/i.test(row), "editor: the reach page shows the post reached 1 server and mirrored", row);
  await pageE.goto(opt.site + "/admin/reach");
  check((await pageE.$("svg[role='img'] title")) !== null, "editor: the follower chart", await pageE.textContent("main"));
  await ctxE.close();
  console.log(JSON.stringify({ draft: posted.draft, status: m[1], account: posted.account, reach: row }));
} catch (e) {
  console.error(e instanceof Mismatch ? "mismatch: " + e.message : e?.stack ?? String(e));
  process.exitCode = 1;
} finally {
  await browser.close();
}
