// Every kind of public page in Debian's chromium (through playwright-core),
// in French and English, at phone and desktop sizes: axe-core (injected
// after load) must report no WCAG 2.1 A/AA violation, the page must load
// without console or CSP errors, and a full-page screenshot is kept. Then
// the feeds are read by an npm feed parser (@rowanmanning/feed-parser), a
// second consumer besides the Go tests' gofeed.
//
//   node pages.mjs --site http://127.0.0.1:P --out DIR --plan PLAN.json
//
// PLAN.json (written by web/browser_test.go): {"pages": [{"name", "path",
// "status"}], "feeds": [{"path", "type", "items", "media"}]}. It prints one
// line per check and exits 1 if any failed. It never downloads a browser:
// BRIDGE_TEST_CHROMIUM (default /usr/bin/chromium) is the executable.
import { chromium } from "playwright-core";
import { parseFeed } from "@rowanmanning/feed-parser";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: { site: { type: "string" }, out: { type: "string" }, plan: { type: "string" } },
});
if (!opt.site || !opt.out || !opt.plan) {
  console.error("usage: node pages.mjs --site URL --out DIR --plan PLAN.json");
  process.exit(2);
}
mkdirSync(opt.out, { recursive: true });
const plan = JSON.parse(readFileSync(opt.plan, "utf8"));
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

let failed = 0;
function check(name, ok, detail = "") {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${detail ? ": " + detail : ""}`);
  if (!ok) failed++;
}

const browser = await chromium.launch({
  executablePath: process.env.BRIDGE_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});

const sizes = [
  { name: "phone", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  { name: "desktop", viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
];
const langs = [
  { lang: "fr", locale: "fr-FR" },
  { lang: "en", locale: "en-GB" },
];
const axeTags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];
let screenshots = 0;

try {
  for (const size of sizes) {
    for (const { lang, locale } of langs) {
      const context = await browser.newContext({
        locale, viewport: size.viewport, isMobile: size.isMobile,
        hasTouch: size.hasTouch, deviceScaleFactor: size.deviceScaleFactor,
      });
      for (const p of plan.pages) {
        const page = await context.newPage();
        const problems = [];
        page.on("console", (m) => {
          if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text());
        });
        page.on("pageerror", (e) => problems.push(String(e)));
        page.on("response", (r) => {
          // The page's own status is checked below; its resources must load.
          if (r.status() >= 400 && r.request().resourceType() !== "document") problems.push(`${r.status()} ${r.url()}`);
        });
        const tag = `[${size.name} ${lang} ${p.name}]`;
        const resp = await page.goto(opt.site + p.path, { waitUntil: "load" });
        check(`${tag} status ${p.status}`, resp && resp.status() === p.status, resp && String(resp.status()));
        const dom = await page.evaluate(() => ({
          lang: document.documentElement.lang,
          dir: document.documentElement.dir,
          overflow: document.documentElement.scrollWidth - window.innerWidth,
          images: [...document.images].map((i) => ({ src: i.src, ok: i.complete && i.naturalWidth > 0, alt: i.getAttribute("alt") })),
        }));
        check(`${tag} lang`, dom.lang === lang, dom.lang);
        check(`${tag} no horizontal scrolling`, dom.overflow <= 0, String(dom.overflow));
        const noAlt = dom.images.filter((i) => i.alt === null);
        check(`${tag} every image has an alt attribute`, noAlt.length === 0, noAlt.map((i) => i.src).join(" "));
        // axe-core, injected through the DevTools protocol (the page's CSP
        // forbids inline scripts, rightly), at WCAG 2.1 A and AA.
        await page.evaluate(axeSource);
        const result = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }), axeTags);
        const violations = result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
        check(`${tag} axe-core WCAG 2.1 AA: no violation`, violations.length === 0, violations.join(" | "));
        // Dark mode changes colours only: checked (contrast) and kept at
        // the desktop size.
        for (const mode of size.name === "desktop" ? ["light", "dark"] : ["light"]) {
          if (mode === "dark") {
            await page.emulateMedia({ colorScheme: "dark" });
            const darkResult = await page.evaluate((tags) => window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] }), axeTags);
            const dv = darkResult.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
            check(`${tag} axe-core in dark mode: no violation`, dv.length === 0, dv.join(" | "));
          }
          await page.screenshot({ path: join(opt.out, `page-${p.name}-${lang}-${size.name}${mode === "dark" ? "-dark" : ""}.png`), fullPage: true });
          screenshots++;
        }
        check(`${tag} no console or CSP errors`, problems.length === 0, problems.join(" | "));
        await page.close();
      }
      await context.close();
    }
  }

  // The feeds, read by a second, independent consumer.
  const context = await browser.newContext();
  for (const f of plan.feeds) {
    const resp = await context.request.get(opt.site + f.path);
    const tag = `[feed ${f.path}]`;
    check(`${tag} 200`, resp.status() === 200, String(resp.status()));
    let feed;
    try {
      feed = parseFeed(await resp.text());
    } catch (e) {
      check(`${tag} parses`, false, String(e));
      continue;
    }
    check(`${tag} type`, feed.meta.type === f.type, feed.meta.type);
    check(`${tag} items`, feed.items.length === f.items, String(feed.items.length));
    const withMedia = feed.items.filter((i) => i.media.some((m) => m.url.startsWith(opt.site + "/media/") && m.mimeType === "image/png"));
    check(`${tag} image enclosures`, withMedia.length === f.media, String(withMedia.length));
    check(`${tag} item links and dates`, feed.items.every((i) => i.url && i.url.startsWith(opt.site + "/@") && i.published instanceof Date));
  }
  await context.close();
} finally {
  await browser.close();
}
console.log(`${screenshots} screenshots in ${opt.out}`);
console.log(failed === 0 ? "all page checks passed" : `${failed} page check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
