// What the console's browser scripts share (console.mjs, teamapp.mjs):
// RFC 6238 codes, accepting an invitation by keyboard, and a passkey
// through Chrome's virtual authenticator.

import { createHmac } from "node:crypto";

// totp is RFC 6238's code (SHA-1, 6 digits, 30 s) of a base32 key at t.
export function totp(secret, t = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const ch of secret.replace(/=+$/, "")) bits += alphabet.indexOf(ch).toString(2).padStart(5, "0");
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(t / 1000 / 30)));
  const h = createHmac("sha1", key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  return String((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

// acceptInvitation fills the invitation page open in page by keyboard (a
// passphrase twice and the TOTP code of the key it shows) and submits it;
// it returns the path the browser lands on (the console's home).
export async function acceptInvitation(page) {
  const secret = (await page.textContent("#totp-key")).trim();
  await page.focus("#password");
  await page.keyboard.type("a passphrase long enough");
  await page.keyboard.press("Tab");
  await page.keyboard.type("a passphrase long enough");
  await page.focus("#code");
  await page.keyboard.type(totp(secret));
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  return new URL(page.url()).pathname;
}

// addPasskey gives context a virtual authenticator (DevTools Protocol),
// adds a passkey from the console's home at site, and returns the page's
// status text.
export async function addPasskey(context, page, site) {
  const cdp = await context.newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", { options: {
    protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true } });
  await page.goto(site + "/admin");
  await page.focus("#add-passkey");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.getElementById("passkey-status").textContent !== "");
  return page.textContent("#passkey-status");
}

// signOutAndInWithPasskey signs out of the console and in again with the
// passkey, and returns the path the browser lands on and the status text.
export async function signOutAndInWithPasskey(page) {
  await Promise.all([page.waitForNavigation(), page.click("nav button")]); // sign out
  await page.focus("#passkey-login");
  await Promise.all([page.waitForURL((u) => u.pathname === "/admin", { timeout: 15000 }).catch(() => {}), page.keyboard.press("Enter")]);
  return { path: new URL(page.url()).pathname, status: await page.textContent("#passkey-status").catch(() => "") };
}
