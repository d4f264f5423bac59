// Drives Debian's chromium through playwright-core over the X exit notice
// page served by a Go test (web/browser_test.go), at phone and desktop
// sizes: checks the DOM, the images, the copy button, the remote-follow
// form (by keyboard and by click), and keeps full-page screenshots.
//
//   node notice.mjs --site http://127.0.0.1:P --visitor http://127.0.0.1:Q --out DIR
//
// It prints one line per check and exits 1 if any failed. It never
// downloads a browser: BRIDGE_TEST_CHROMIUM (default /usr/bin/chromium) is
// the executable.
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({
  options: { site: { type: "string" }, visitor: { type: "string" }, out: { type: "string" } },
});
if (!opt.site || !opt.visitor || !opt.out) {
  console.error("usage: node notice.mjs --site URL --visitor URL --out DIR");
  process.exit(2);
}
mkdirSync(opt.out, { recursive: true });
const visitorHost = new URL(opt.visitor).host;
const siteHost = new URL(opt.site).host;
const actor = `${opt.site}/users/news`;

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
  { name: "phone", locale: "fr-FR", lang: "fr", viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 },
  { name: "desktop", locale: "en-US", lang: "en", viewport: { width: 1280, height: 900 }, isMobile: false, hasTouch: false, deviceScaleFactor: 1 },
];

try {
  for (const size of sizes) {
    const context = await browser.newContext({
      locale: size.locale, viewport: size.viewport, isMobile: size.isMobile,
      hasTouch: size.hasTouch, deviceScaleFactor: size.deviceScaleFactor,
    });
    const page = await context.newPage();
    const problems = [];
    // Errors: console errors (CSP violations are reported there) and
    // failed requests, except the deliberate 422 of the refused input.
    page.on("console", (m) => { if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(m.text()); });
    page.on("response", (r) => {
      if (r.status() >= 400 && !(r.status() === 422 && r.url().endsWith("/x/news/follow"))) problems.push(`${r.status()} ${r.url()}`);
    });
    page.on("pageerror", (e) => problems.push(String(e)));
    const tag = `[${size.name}]`;

    const resp = await page.goto(`${opt.site}/x/news`, { waitUntil: "load" });
    check(`${tag} page loads`, resp && resp.status() === 200, resp && String(resp.status()));
    const dom = await page.evaluate(() => {
      const img = (sel) => {
        const i = document.querySelector(sel);
        return i ? { complete: i.complete, w: i.naturalWidth, h: i.naturalHeight, alt: i.alt } : null;
      };
      const copy = document.querySelector("button.copy");
      const submit = document.querySelector("#follow button[type=submit]");
      return {
        lang: document.documentElement.lang,
        fediverse: document.querySelector("#fediverse-handle")?.textContent,
        bluesky: document.querySelector("#bluesky-handle")?.textContent,
        h1: document.querySelector("h1")?.textContent,
        qrFediverse: img("#qr-fediverse"),
        qrBluesky: img("#qr-bluesky"),
        avatar: img("img.avatar"),
        copyVisible: copy ? !copy.hidden && copy.offsetWidth > 0 : false,
        styled: submit ? getComputedStyle(submit).borderTopLeftRadius : "",
        ogImage: document.querySelector('meta[property="og:image"]')?.content,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        relMe: [...document.querySelectorAll('[rel~="me"]')].map((a) => a.href),
        posts: document.querySelectorAll("article.post").length,
      };
    });
    check(`${tag} lang attribute`, dom.lang === size.lang, dom.lang);
    check(`${tag} fediverse handle`, dom.fediverse === `@news@${siteHost}`, dom.fediverse);
    check(`${tag} Bluesky handle`, dom.bluesky === "@villedetest.bsky.social", dom.bluesky);
    check(`${tag} headline in the visitor's language`, size.lang === "fr" ? /Nous avons quitté X le 20 janvier 2025/.test(dom.h1) : /We have left X on 20 January 2025/.test(dom.h1), dom.h1);
    for (const [name, i] of [["fediverse QR", dom.qrFediverse], ["Bluesky QR", dom.qrBluesky], ["avatar", dom.avatar]]) {
      check(`${tag} ${name} image loaded`, i && i.complete && i.w > 0 && i.h > 0, JSON.stringify(i));
    }
    check(`${tag} QR codes have alt texts`, !!(dom.qrFediverse?.alt && dom.qrBluesky?.alt));
    check(`${tag} copy button shown by the script`, dom.copyVisible);
    check(`${tag} stylesheet applied`, dom.styled === "10px", dom.styled);
    check(`${tag} og:image is the card`, dom.ogImage === `${opt.site}/x/news/card.png`, dom.ogImage);
    check(`${tag} no horizontal scrolling`, dom.overflow <= 0, String(dom.overflow));
    check(`${tag} rel=me links`, dom.relMe.includes(`${opt.site}/@news`) && dom.relMe.some((h) => h.startsWith("https://bsky.app/profile/")), dom.relMe.join(" "));
    check(`${tag} latest posts`, dom.posts === 5, String(dom.posts));
    const card = await page.request.get(`${opt.site}/x/news/card.png`);
    check(`${tag} card is a PNG`, card.status() === 200 && card.headers()["content-type"] === "image/png");
    await page.screenshot({ path: join(opt.out, `notice-${size.name}-${size.lang}.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: "dark" });
    const dark = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    check(`${tag} dark mode`, dark === "rgb(18, 20, 24)", dark);
    await page.screenshot({ path: join(opt.out, `notice-${size.name}-${size.lang}-dark.png`), fullPage: true });
    await page.emulateMedia({ colorScheme: "light" });

    // The copy button puts the handle on the clipboard.
    if (!size.isMobile) {
      await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: opt.site });
      await page.click("button.copy");
      await page.waitForFunction(() => document.querySelector("#fediverse-copied")?.textContent !== "", null, { timeout: 5000 }).catch(() => {});
      const clip = await page.evaluate(() => navigator.clipboard.readText()).catch((e) => "error: " + e);
      check(`${tag} copy button copies the handle`, clip === `@news@${siteHost}`, clip);
    }

    // Remote follow, by keyboard: type an address, press Enter.
    await page.focus("#server");
    await page.keyboard.type(`@alice@${visitorHost}`);
    await Promise.all([page.waitForURL(`${opt.visitor}/authorize_interaction**`, { timeout: 15000 }), page.keyboard.press("Enter")]);
    let target = await page.textContent("#target");
    check(`${tag} address form redirects to the visitor's server`, page.url().startsWith(`${opt.visitor}/authorize_interaction?uri=`) && target === actor, page.url());

    // By click, with a server name only.
    await page.goto(`${opt.site}/x/news`);
    await page.fill("#server", opt.visitor);
    await Promise.all([page.waitForURL(`${opt.visitor}/authorize_interaction**`, { timeout: 15000 }), page.click("#follow button[type=submit]")]);
    target = await page.textContent("#target");
    check(`${tag} server form redirects to the visitor's server`, target === actor, page.url());

    // Hostile input stays on our page, with a message.
    await page.goto(`${opt.site}/x/news`);
    await page.fill("#server", "javascript:alert(1)");
    await Promise.all([page.waitForLoadState("load"), page.click("#follow button[type=submit]")]);
    await page.waitForSelector("[role=alert]", { timeout: 5000 }).catch(() => {});
    const alert = await page.textContent("[role=alert]").catch(() => null);
    check(`${tag} hostile input refused on the page`, new URL(page.url()).host === siteHost && !!alert, `${page.url()} ${alert}`);
    const invalid = await page.getAttribute("#server", "aria-invalid");
    check(`${tag} input marked invalid`, invalid === "true", String(invalid));
    await page.screenshot({ path: join(opt.out, `notice-${size.name}-${size.lang}-error.png`), fullPage: true });

    check(`${tag} no console errors (CSP violations included)`, problems.length === 0, problems.join(" | "));
    await context.close();
  }

  // Without JavaScript: the copy buttons stay hidden, the form still works.
  const context = await browser.newContext({ javaScriptEnabled: false, locale: "en-US", viewport: { width: 390, height: 844 } });
  const page = await context.newPage();
  await page.goto(`${opt.site}/x/news`, { waitUntil: "load" });
  const copyShown = await page.isVisible("button.copy");
  check("[no-js] copy button hidden", !copyShown);
  check("[no-js] QR code loaded", await page.$eval("#qr-fediverse", (i) => i.complete && i.naturalWidth > 0));
  await page.fill("#server", `@alice@${visitorHost}`);
  await Promise.all([page.waitForURL(`${opt.visitor}/authorize_interaction**`, { timeout: 15000 }), page.click("#follow button[type=submit]")]);
  check("[no-js] form redirects to the visitor's server", (await page.textContent("#target")) === actor, page.url());
  await context.close();
} finally {
  await browser.close();
}
console.log(failed === 0 ? "all browser checks passed" : `${failed} browser check(s) failed`);
process.exit(failed === 0 ? 0 : 1);
