// Drives Debian's chromium through playwright-core over the comms team's
// console (/admin) of a running bridge (e2e/console_browser_test.go), at
// phone width in French and desktop width in English, by keyboard: accepts
// an invitation (password + a TOTP code computed here from the key the
// page shows), visits every console page, and runs axe-core (WCAG 2.0/2.1
// A and AA rules) on each. Keeps full-page screenshots.
//
//   node console.mjs --site http://127.0.0.1:P --invite URL_fr --invite URL_en --out DIR
//
// It prints one line per check and exits 1 if any failed. It never
// downloads a browser: BRIDGE_TEST_CHROMIUM (default /usr/bin/chromium) is
// the executable.
import { chromium } from "playwright-core";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { acceptInvitation, addPasskey, signOutAndInWithPasskey } from "./team.mjs";

const { values: opt } = parseArgs({
  options: { site: { type: "string" }, invite: { type: "string", multiple: true }, out: { type: "string" } },
});
if (!opt.site || !opt.invite || opt.invite.length !== 2 || !opt.out) {
  console.error("usage: node console.mjs --site URL --invite URL --invite URL --out DIR");
  process.exit(2);
}
mkdirSync(opt.out, { recursive: true });
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let failed = 0;
function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
  if (!ok) failed++;
}

async function axe(page, name) {
  // The console's CSP forbids scripts: axe is injected through the
  // DevTools protocol's evaluation, which the page's CSP does not govern.
  const result = await page.evaluate(async (src) => {
    if (!window.axe) { (0, eval)(src); }
    return await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"] } });
  }, axeSource);
  const v = result.violations.map((x) => `${x.id} (${x.nodes.length}): ${x.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
  check(`${name}: axe-core, no WCAG 2.1 AA violation`, v.length === 0, v.join("; "));
}

const browser = await chromium.launch({
  executablePath: process.env.BRIDGE_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const sizes = [
  { name: "phone", locale: "fr-FR", lang: "fr", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  { name: "desktop", locale: "en-US", lang: "en", viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
];
try {
  for (const [i, size] of sizes.entries()) {
    const context = await browser.newContext({ locale: size.locale, viewport: size.viewport, isMobile: size.isMobile, hasTouch: size.hasTouch, deviceScaleFactor: size.deviceScaleFactor });
    const page = await context.newPage();
    const problems = [];
    // Console errors (CSP violations are reported there) and failed
    // requests, but the browser's own /favicon.ico.
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text()); });
    page.on("response", (r) => { if (r.status() >= 400 && !r.url().endsWith("/favicon.ico")) problems.push(`${r.status()} ${r.url()}`); });
    const visit = async (label, path) => {
      const resp = await page.goto(opt.site + path);
      check(`${size.name} ${label}: HTTP ${resp.status()}`, resp.status() === 200);
      check(`${size.name} ${label}: lang ${size.lang}`, (await page.getAttribute("html", "lang")) === size.lang);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1);
      check(`${size.name} ${label}: no horizontal scroll of the page`, wide);
      await axe(page, `${size.name} ${label}`);
      await page.screenshot({ path: join(opt.out, `console-${label}-${size.name}.png`), fullPage: true });
    };

    await visit("login", "/admin/login");
    const invite = new URL(opt.invite[i]);
    await visit("invite", invite.pathname);
    const qr = await page.evaluate(() => { const i = document.querySelector("img"); return i ? i.naturalWidth : 0; });
    check(`${size.name} invite: the QR code of the key is shown`, qr === 200, `naturalWidth ${qr}`);
    await acceptInvitation(page); // keyboard only
    check(`${size.name} invitation accepted: on the console's home`, new URL(page.url()).pathname === "/admin", page.url());
    await visit("home", "/admin");
    await visit("audit", "/admin/audit");
    await visit("team", "/admin/team");
    await visit("reach", "/admin/reach");
    const reach = await page.textContent("main");
    check(`${size.name} reach: the follower chart, a failed server and the raid`,
      (await page.$("svg[role='img'] title")) !== null && reach.includes("gone.example") && reach.includes("410 Gone") && reach.includes("raid.example"));
    await visit("reach-posts", "/admin/reach/posts/news");
    check(`${size.name} reach posts: the post with its delivery`,
      (await page.textContent("main")).includes("The library opens late on Thursdays."));
    await visit("compose", "/admin/compose");
    await page.fill("#text", "Marché de Noël sur la place dès samedi #noël");
    await Promise.all([page.waitForNavigation(), page.click("button[value='preview']")]);
    check(`${size.name} compose: the preview counts the text`, /\d+ (of|caractères sur) 500/.test(await page.textContent("main")));
    await axe(page, `${size.name} compose-preview`);
    await page.screenshot({ path: join(opt.out, `console-compose-preview-${size.name}.png`), fullPage: true });
    await visit("moderation", "/admin/moderation");
    check(`${size.name} moderation: the crisis switch`, (await page.$("form[action='/admin/moderation/crisis']")) !== null);
    await visit("drafts", "/admin/drafts");
    check(`${size.name} drafts: the contributor's draft waits with its forms`,
      (await page.textContent("main")).includes("The pool reopens on Monday.") && (await page.$("form[action='/admin/drafts/approve']")) !== null);
    // Tab reaches the first link of the navigation, with a visible focus.
    await page.keyboard.press("Tab");
    const focus = await page.evaluate(() => { const e = document.activeElement; return e && e.tagName + " " + getComputedStyle(e).outlineStyle; });
    check(`${size.name} keyboard: Tab focuses a link with an outline`, /^A (solid|auto)/.test(focus || ""), focus);
    if (size.name === "desktop") {
      // A passkey through Chrome's virtual authenticator (DevTools
      // Protocol): added on the home page, then used to sign in again.
      const added = await addPasskey(context, page, opt.site);
      check("desktop passkey: added", /Passkey added/.test(added), added);
      await page.goto(opt.site + "/admin");
      check("desktop passkey: counted on the home page", /Passkeys registered: 1\./.test(await page.textContent("main")));
      const back = await signOutAndInWithPasskey(page);
      check("desktop passkey: signed in with it", back.path === "/admin", `${page.url()} ${back.status}`);
      await visit("home-passkey", "/admin");
    }
    check(`${size.name}: no console error (CSP included)`, problems.length === 0, problems.join(" | "));
    await context.close();
  }
} finally {
  await browser.close();
}
console.log(failed ? `${failed} check(s) failed` : "all checks passed");
process.exit(failed ? 1 : 0);
