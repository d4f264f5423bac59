// Opens a post's page in Debian's chromium (through playwright-core) and
// waits for its video element to have data to play (HTMLMediaElement
// readyState >= 2, HAVE_CURRENT_DATA), then plays it for a moment.
//
//   node video.mjs --page URL
//
// Prints one JSON line ({readyState, currentTime, duration, videoWidth,
// videoHeight, src, errors}) and exits 0 when the video loaded, 1
// otherwise. BRIDGE_TEST_CHROMIUM (default /usr/bin/chromium) is the
// executable; no browser is downloaded. The test's TLS front has its own
// CA: certificate errors are ignored (loopback only).
import { chromium } from "playwright-core";
import { parseArgs } from "node:util";

const { values: opt } = parseArgs({ options: { page: { type: "string" } } });
if (!opt.page) {
  console.error("usage: node video.mjs --page URL");
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.BRIDGE_TEST_CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--autoplay-policy=no-user-gesture-required",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let ok = false;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const errors = [];
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("pageerror", (e) => errors.push(String(e)));
  const resp = await page.goto(opt.page, { waitUntil: "load" });
  if (!resp || resp.status() !== 200) throw new Error(`page answered ${resp?.status()}`);
  const video = page.locator("article video").first();
  await video.waitFor({ timeout: 10_000 });
  const state = await video.evaluate(async (v) => {
    v.muted = true;
    const deadline = Date.now() + 20_000;
    while (v.readyState < 2 && !v.error && Date.now() < deadline) {
      if (v.networkState === HTMLMediaElement.NETWORK_IDLE || v.preload !== "auto") v.preload = "auto";
      await new Promise((r) => setTimeout(r, 100));
    }
    if (v.readyState >= 2) {
      try { await v.play(); } catch (e) { /* autoplay refused: readyState is what counts */ }
      await new Promise((r) => setTimeout(r, 500));
    }
    return {
      readyState: v.readyState, currentTime: v.currentTime, duration: v.duration,
      videoWidth: v.videoWidth, videoHeight: v.videoHeight, src: v.currentSrc,
      mediaError: v.error ? `${v.error.code} ${v.error.message}` : null,
    };
  });
  state.errors = errors;
  ok = state.readyState >= 2 && state.mediaError == null;
  console.log(JSON.stringify(state));
} catch (err) {
  console.error(err?.stack ?? String(err));
} finally {
  await browser.close();
}
process.exit(ok ? 0 : 1);
