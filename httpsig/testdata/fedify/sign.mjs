import { readFileSync } from "node:fs";
const { signRequest } = await import(process.env.FEDIFY_SIG_MODULE);
const pem = readFileSync("key.pk8.pem", "utf8").replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
const der = Buffer.from(pem, "base64");
const key = await crypto.subtle.importKey("pkcs8", der, { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["sign"]);
const t = 1618884473000;
const currentTime = { epochMilliseconds: t, toString: () => new Date(t).toISOString() };
const body = JSON.stringify({ "@context": "https://www.w3.org/ns/activitystreams", id: "https://fedify.example/follows/1", type: "Follow", actor: "https://fedify.example/users/alice", object: "https://bridge.example/users/news" });
const out = [];
for (const [method, url, b] of [["POST", "https://bridge.example/users/news/inbox", body], ["GET", "https://bridge.example/users/news/outbox?page=2", null]]) {
  const req = new Request(url, { method, headers: { "Content-Type": "application/activity+json", Accept: "application/activity+json" }, body: b });
  const signed = await signRequest(req, key, new URL("https://fedify.example/users/alice#main-key"), { spec: "rfc9421", currentTime, body: b == null ? null : new TextEncoder().encode(b).buffer });
  const u = new URL(signed.url);
  let wire = `${method} ${u.pathname}${u.search} HTTP/1.1\r\n`;
  for (const [k, v] of signed.headers) wire += `${k}: ${v}\r\n`;
  const text = b == null ? "" : await signed.text();
  if (b != null) wire += `content-length: ${Buffer.byteLength(text)}\r\n`;
  wire += "\r\n" + text;
  out.push(wire);
}
console.log(JSON.stringify(out));
