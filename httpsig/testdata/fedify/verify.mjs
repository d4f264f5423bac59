// Manual cross-check (not run by go test): Fedify's verifyRequest checks
// requests signed by httpsig.SignRFC9421. Input: ours.json, a JSON array of
// {method, url, headers, body} (headers as SignRFC9421 set them, plus Host);
// rsa.pub.pem and ed.pub.pem, the public keys of the two key ids below.
// Run: FEDIFY_SIG_MODULE=.../@fedify/fedify/dist/sig/mod.js
//      TEMPORAL_POLYFILL=.../@js-temporal/polyfill/dist/index.esm.js node verify.mjs
import { readFileSync } from "node:fs";
const { verifyRequestDetailed } = await import(process.env.FEDIFY_SIG_MODULE);
const { Temporal } = globalThis.Temporal ? globalThis : await import(process.env.TEMPORAL_POLYFILL);
const keys = {
  "https://bridge.example/users/news#main-key": readFileSync("rsa.pub.pem", "utf8"),
  "https://bridge.example/users/news#ed25519-key": readFileSync("ed.pub.pem", "utf8"),
};
const documentLoader = async (url) => {
  const pem = keys[url];
  if (pem == null) throw new Error("unexpected fetch " + url);
  return {
    contextUrl: null, documentUrl: url,
    document: {
      "@context": "https://w3id.org/security/v1", id: url, type: "CryptographicKey",
      owner: "https://bridge.example/users/news", publicKeyPem: pem,
    },
  };
};
const currentTime = Temporal.Instant.fromEpochMilliseconds(1618884473000 + 60000);
for (const c of JSON.parse(readFileSync("ours.json", "utf8"))) {
  const opts = { documentLoader, currentTime, spec: "rfc9421" };
  const body = c.method === "GET" ? null : c.body;
  const ok = await verifyRequestDetailed(new Request(c.url, { method: c.method, headers: c.headers, body }), opts);
  let tampered = "n/a";
  if (body != null) {
    const bad = new Request(c.url, { method: c.method, headers: c.headers, body: body.replace("Create", "Delete") });
    tampered = (await verifyRequestDetailed(bad, opts)).verified ? "ACCEPTED" : "refused";
  }
  console.log(c.method, c.url, ok.verified ? "verified" : "NOT verified " + JSON.stringify(ok.reason), "tampered:", tampered);
}
