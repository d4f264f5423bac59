// A Web Push service on loopback, for e2e/push_test.go. It plays both the
// push service (it receives the bridge's POSTs) and the browser (it holds
// the subscription's private key and auth secret), and checks each push
// with implementations independent of the bridge's:
//   - the body is decrypted with http_ece (RFC 8188 and RFC 8291,
//     aes128gcm), with the subscription's private key and auth secret;
//   - the VAPID Authorization (RFC 8292, "vapid t=JWT, k=KEY") is verified
//     with Node's crypto: an ES256 signature by KEY, "aud" the origin of
//     the endpoint, "exp" within 24 hours, a "sub" contact.
//
// It prints one JSON line first: the subscription to give the bridge
// ({endpoint, gone_endpoint, p256dh, auth}), then one JSON line per push
// received: {path, headers, vapid: {k, aud, exp, sub}, payload} or
// {path, error}. POSTs to the gone endpoint are answered 410 (the
// subscription expired), others 201. It runs until killed.
import crypto from "node:crypto";
import http from "node:http";
import ece from "http_ece";

const ecdh = crypto.createECDH("prime256v1");
ecdh.generateKeys();
const authSecret = crypto.randomBytes(16);
const b64url = (b) => Buffer.from(b).toString("base64url");
const token = b64url(crypto.randomBytes(12));

function checkVAPID(header, origin) {
  const m = /^vapid\s+(.*)$/i.exec(header || "");
  if (!m) throw new Error(`Authorization is not vapid: ${header}`);
  const params = Object.fromEntries(m[1].split(",").map((p) => {
    const i = p.indexOf("=");
    return [p.slice(0, i).trim(), p.slice(i + 1).trim()];
  }));
  const [h, c, s] = (params.t || "").split(".");
  if (!h || !c || !s) throw new Error("no JWT in t=");
  const head = JSON.parse(Buffer.from(h, "base64url"));
  if (head.alg !== "ES256") throw new Error(`JWT alg ${head.alg}`);
  const raw = Buffer.from(params.k || "", "base64url");
  if (raw.length !== 65 || raw[0] !== 4) throw new Error("k is not an uncompressed P-256 point");
  const key = crypto.createPublicKey({
    key: { kty: "EC", crv: "P-256", x: b64url(raw.subarray(1, 33)), y: b64url(raw.subarray(33)) },
    format: "jwk",
  });
  const ok = crypto.verify("sha256", Buffer.from(`${h}.${c}`), { key, dsaEncoding: "ieee-p1363" },
    Buffer.from(s, "base64url"));
  if (!ok) throw new Error("the VAPID JWT's signature does not verify with k");
  const claims = JSON.parse(Buffer.from(c, "base64url"));
  const now = Date.now() / 1000;
  if (claims.aud !== origin) throw new Error(`aud ${claims.aud}, want ${origin}`);
  if (!(claims.exp > now && claims.exp <= now + 24 * 3600)) throw new Error(`exp ${claims.exp} not within 24 h`);
  if (!/^(mailto:|https:)/.test(claims.sub || "")) throw new Error(`sub ${claims.sub} is not a contact`);
  return { k: params.k, aud: claims.aud, exp: claims.exp, sub: claims.sub };
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const origin = `http://${req.headers.host}`;
    const out = { path: req.url, length: body.length, headers: {
      "content-encoding": req.headers["content-encoding"], ttl: req.headers.ttl, urgency: req.headers.urgency,
      "content-type": req.headers["content-type"] } };
    try {
      if (req.method !== "POST") throw new Error(`method ${req.method}`);
      out.vapid = checkVAPID(req.headers.authorization, origin);
      if (req.headers["content-encoding"] !== "aes128gcm") throw new Error("not aes128gcm");
      const plain = ece.decrypt(body, { version: "aes128gcm", privateKey: ecdh, authSecret: b64url(authSecret) });
      out.payload = JSON.parse(plain.toString("utf8"));
    } catch (e) {
      out.error = String(e && e.message || e);
    }
    process.stdout.write(JSON.stringify(out) + "\n");
    res.statusCode = req.url.endsWith("/gone") ? 410 : 201;
    res.end();
  });
});

server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  process.stdout.write(JSON.stringify({
    endpoint: `http://127.0.0.1:${port}/push/${token}`,
    gone_endpoint: `http://127.0.0.1:${port}/push/${token}/gone`,
    p256dh: b64url(ecdh.getPublicKey()),
    auth: b64url(authSecret),
  }) + "\n");
});
