// A real Fedify peer on loopback for Passerelle's end-to-end tests
// (started by e2e/fedify.go). Everything ActivityPub here is Fedify's own:
// WebFinger lookups, actor and key documents, HTTP signatures (RFC 9421
// first, draft-cavage on 401/400, remembered per origin: "double
// knocking") and the inbox's verification (skipSignatureVerification is
// off: listeners only ever see activities Fedify verified). This file only
// adds what a test needs to see and steer it: a log of what the inboxes
// received and of every request Fedify sent, and a small JSON control API
// under /_test/ on the same server.
//
// Environment: FEDIFY_HOST (default 127.0.0.1) and FEDIFY_PORT (required)
// to listen on; FEDIFY_FIRST_KNOCK ("rfc9421", Fedify's default, or
// "draft-cavage-http-signatures-12"); FEDIFY_LOG_LEVEL (LogTape level for
// Fedify's own log on stderr, default "warning"). Prints "ready ORIGIN" on
// stdout once listening. Node must trust the bridge's certificate
// (NODE_EXTRA_CA_CERTS): Fedify looks handles up over HTTPS only.

import { AsyncLocalStorage } from "node:async_hooks";
import dns from "node:dns";
import { randomUUID } from "node:crypto";
import { serve } from "@hono/node-server";
import { configure, getConsoleSink } from "@logtape/logtape";
import { Temporal } from "@js-temporal/polyfill";
import { createFederation, generateCryptoKeyPair, MemoryKvStore } from "@fedify/fedify";
import {
  Accept, Activity, Add, Announce, Block, Create, Delete, Endpoints, Flag, Follow, isActor, Like,
  Mention, Move, Note, Person, PUBLIC_COLLECTION, Question, QuoteRequest, Reject, Remove, Undo, Update,
} from "@fedify/vocab";

// "localhost" may resolve to ::1 first; the test's servers listen on IPv4.
dns.setDefaultResultOrder("ipv4first");

const host = process.env.FEDIFY_HOST || "127.0.0.1";
const port = Number(process.env.FEDIFY_PORT);
if (!Number.isInteger(port) || port <= 0) {
  console.error("FEDIFY_PORT must be a port number");
  process.exit(2);
}
const firstKnock = process.env.FEDIFY_FIRST_KNOCK || "rfc9421";
const origin = `http://${host}:${port}`;
const users = ["alice", "bob"];

await configure({
  contextLocalStorage: new AsyncLocalStorage(),
  sinks: { console: getConsoleSink({ console: { ...console, debug: console.error, info: console.error, log: console.error } }) },
  loggers: [
    { category: "fedify", sinks: ["console"], lowestLevel: process.env.FEDIFY_LOG_LEVEL || "warning" },
    { category: ["logtape", "meta"], sinks: ["console"], lowestLevel: "warning" },
  ],
});

// What the test reads back.
const received = [];   // activities the inbox listeners got (so verified)
const unverified = []; // activities Fedify refused to verify
const inboxErrors = []; // errors thrown while handling a verified activity
const incoming = [];   // every POST to an inbox, with its signature spec and our answer
const knocks = [];     // every request Fedify sent, with its signature spec and the answer
const following = new Map(); // actor id → {followId, state}
const notes = new Map();     // our notes by id, served to whoever fetches them
const signedOnly = new Set(); // ids of the notes served only to signed GETs (authorized fetch)
const fetches = [];          // every GET of a note: who signed it, and whether it was served
let seq = 0;

// The signature spec a request carries.
function specOf(headers) {
  if (headers.has("signature-input")) return "rfc9421";
  const sig = headers.get("signature");
  if (sig != null && /keyId\s*=/.test(sig)) return "draft-cavage-http-signatures-12";
  return "none";
}

function keyIdOf(headers) {
  const input = headers.get("signature-input");
  if (input != null) return /keyid="([^"]*)"/.exec(input)?.[1] ?? null;
  return /keyId="([^"]*)"/.exec(headers.get("signature") ?? "")?.[1] ?? null;
}

// Every request Fedify makes goes through the global fetch (doubleKnock,
// the document loader, WebFinger): log its method, URL, signature spec
// and the status it got. Nothing is changed.
const realFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const req = input instanceof Request ? input : null;
  const method = (init?.method ?? req?.method ?? "GET").toUpperCase();
  const url = req?.url ?? String(input);
  const headers = new Headers(init?.headers ?? req?.headers ?? {});
  const knock = { seq: ++seq, method, url, spec: specOf(headers), keyId: keyIdOf(headers), status: 0, at: new Date().toISOString() };
  knocks.push(knock);
  try {
    const res = await realFetch(input, init);
    knock.status = res.status;
    if (res.status >= 400) knock.body = (await res.clone().text()).slice(0, 300);
    return res;
  } catch (e) {
    knock.error = String(e?.cause ?? e);
    throw e;
  }
};

const kv = new MemoryKvStore();
// No queue: sendActivity delivers before it returns (and throws when the
// remote inbox refuses), and inbox listeners run before the inbox answers,
// so what the test reads back is never behind.
const federation = createFederation({
  kv,
  origin,
  allowPrivateAddress: true,
  skipSignatureVerification: false,
  firstKnock,
});

const keyPairs = new Map();
for (const u of users) {
  keyPairs.set(u, [await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"), await generateCryptoKeyPair("Ed25519")]);
}

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (!keyPairs.has(identifier)) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: identifier[0].toUpperCase() + identifier.slice(1) + " (Fedify)",
      summary: "A Fedify peer in Passerelle's end-to-end tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((k) => k.multikey),
    });
  })
  .setKeyPairsDispatcher((_ctx, identifier) => keyPairs.get(identifier) ?? []);

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (ctx, values) => {
  return notes.get(ctx.getObjectUri(Note, values).href) ?? null;
}).authorize(async (ctx, values) => {
  // A note made with signedOnly answers only signed GETs whose signer
  // Fedify verified (a server in "authorized fetch" mode); every GET is
  // logged with its verified signer.
  const id = ctx.getObjectUri(Note, values).href;
  let owner = null;
  try {
    owner = (await ctx.getSignedKeyOwner())?.id?.href ?? null;
  } catch (e) {
    owner = null;
  }
  const allowed = !signedOnly.has(id) || owner != null;
  fetches.push({ seq: ++seq, id, signer: owner, allowed, at: new Date().toISOString() });
  return allowed;
});

// The JSON-LD of a vocab object or IRI, compacted; null if absent.
async function jsonOf(ctx, v) {
  if (v == null) return null;
  if (v instanceof URL) return v.href;
  return await v.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
}

async function record(ctx, activity) {
  const entry = {
    seq: ++seq,
    recipient: ctx.recipient,
    verified: true, // listeners only see what Fedify verified
    signature: ctx.data?.spec ?? null,
    keyId: ctx.data?.keyId ?? null,
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    objectId: activity.objectId?.href ?? null,
    at: new Date().toISOString(),
  };
  try {
    const json = await activity.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
    entry.type = [].concat(json.type)[0];
    entry.json = json;
    entry.object = typeof json.object === "object" && json.object != null ? json.object : null;
  } catch (e) {
    entry.type = activity.constructor.name;
    entry.error = String(e);
  }
  received.push(entry);
  // A Follow of one of our users is accepted at once (as an unlocked
  // Mastodon account does), embedding it.
  if (activity instanceof Follow && ctx.recipient != null) {
    try {
      const follower = await activity.getActor();
      await ctx.sendActivity({ identifier: ctx.recipient }, follower, new Accept({
        id: newId(ctx, ctx.recipient, "accepts"), actor: ctx.getActorUri(ctx.recipient), object: activity, to: follower.id,
      }));
      entry.accepted = true;
    } catch (e) {
      inboxErrors.push({ error: "accept: " + String(e), at: new Date().toISOString() });
    }
  }
  if (activity instanceof Accept || activity instanceof Reject) {
    for (const f of following.values()) {
      if (f.followId === entry.objectId || f.followId === entry.object?.id) {
        f.state = activity instanceof Accept ? "accepted" : "rejected";
      }
    }
  }
}

const inbox = federation.setInboxListeners("/users/{identifier}/inbox", "/inbox");
for (const type of [Accept, Reject, Create, Update, Delete, Announce, Like, Undo, Add, Remove, Block, Follow, Move, Flag, QuoteRequest, Activity]) {
  inbox.on(type, record);
}
inbox.onError((_ctx, error) => {
  inboxErrors.push({ error: String(error), at: new Date().toISOString() });
});
inbox.onUnverifiedActivity((ctx, activity, reason) => {
  unverified.push({ id: activity.id?.href ?? null, type: activity.constructor.name, reason: reason?.type ?? String(reason), spec: ctx.data?.spec ?? null, at: new Date().toISOString() });
  // No response: Fedify answers 401 as always.
});

// --- control API -----------------------------------------------------

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function ctxOf() {
  return federation.createContext(new URL(origin), {});
}

async function lookupActor(ctx, handle) {
  const actor = await ctx.lookupObject(handle);
  if (!isActor(actor)) throw new HttpError(404, `no actor found for ${handle}`);
  return actor;
}

// The author of a remote object, as Fedify finds it: the object fetched,
// then its attributedTo.
async function authorOf(ctx, iri) {
  const obj = await ctx.lookupObject(iri);
  if (obj == null) throw new HttpError(404, `cannot fetch ${iri}`);
  const author = await obj.getAttribution();
  if (!isActor(author)) throw new HttpError(404, `no author for ${iri}`);
  return { obj, author };
}

function userOf(body) {
  const user = body.user || "alice";
  if (!keyPairs.has(user)) throw new HttpError(400, `no such user ${user}`);
  return user;
}

function newId(ctx, user, kind) {
  return new URL(`${ctx.getActorUri(user).href}/${kind}/${randomUUID()}`);
}

function actorSummary(a) {
  return {
    id: a.id?.href, type: a.constructor.name, preferredUsername: a.preferredUsername?.toString() ?? null,
    name: a.name?.toString() ?? null, summary: a.summary?.toString() ?? null, url: a.url?.href ?? null,
    inbox: a.inboxId?.href ?? null, sharedInbox: a.endpoints?.sharedInbox?.href ?? null,
    followers: a.followersId?.href ?? null, outbox: a.outboxId?.href ?? null,
    publicKey: a.publicKeyId?.href ?? null,
  };
}

async function newNote(ctx, user, { content, inReplyTo, mention, quote }) {
  const id = ctx.getObjectUri(Note, { identifier: user, id: randomUUID() });
  const tags = [];
  const ccs = [];
  let html = content ?? "";
  if (mention) {
    tags.push(new Mention({ href: mention.id, name: "@" + mention.handle }));
    ccs.push(mention.id);
    html = `<span class="h-card"><a href="${(mention.url ?? mention.id).href}" class="u-url mention">@<span>${mention.handle.split("@")[0]}</span></a></span> ${html}`;
  }
  const note = new Note({
    id,
    attribution: ctx.getActorUri(user),
    content: `<p>${html}</p>`,
    to: PUBLIC_COLLECTION,
    ccs,
    tags,
    replyTarget: inReplyTo ? new URL(inReplyTo) : null, // inReplyTo
    quote: quote ? new URL(quote) : null,
    published: Temporal.Now.instant(),
    url: id,
  });
  notes.set(id.href, note);
  return note;
}

async function send(ctx, user, recipient, activity) {
  await ctx.sendActivity({ identifier: user }, recipient, activity);
  return activity.id.href;
}

function mentionOf(author, handle) {
  return { id: author.id, url: author.url instanceof URL ? author.url : null, handle };
}

const routes = {
  "GET /_test/health": async () => ({ ok: true, origin, firstKnock }),
  "GET /_test/lookup": async (_body, url) => {
    const ctx = ctxOf();
    const handle = url.searchParams.get("handle");
    if (!handle) throw new HttpError(400, "handle required");
    return actorSummary(await lookupActor(ctx, handle));
  },
  "GET /_test/object": async (_body, url) => {
    const ctx = ctxOf();
    const obj = await ctx.lookupObject(url.searchParams.get("id"));
    if (obj == null) throw new HttpError(404, "not found");
    return await obj.toJsonLd({ format: "compact", contextLoader: ctx.contextLoader });
  },
  "POST /_test/follow": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const actor = await lookupActor(ctx, body.handle);
    const follow = new Follow({ id: newId(ctx, user, "follows"), actor: ctx.getActorUri(user), object: actor.id, to: actor.id });
    following.set(actor.id.href, { followId: follow.id.href, state: "pending", user });
    await send(ctx, user, actor, follow);
    return { id: follow.id.href, actor: actor.id.href };
  },
  "POST /_test/unfollow": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const actor = await lookupActor(ctx, body.handle);
    const f = following.get(actor.id.href);
    if (f == null) throw new HttpError(409, `not following ${body.handle}`);
    const undo = new Undo({
      id: new URL(f.followId + "/undo"), actor: ctx.getActorUri(user), to: actor.id,
      object: new Follow({ id: new URL(f.followId), actor: ctx.getActorUri(user), object: actor.id }),
    });
    await send(ctx, user, actor, undo);
    following.delete(actor.id.href);
    return { id: undo.id.href };
  },
  "GET /_test/following": async () => Object.fromEntries(following),
  "POST /_test/reply": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const { author } = await authorOf(ctx, body.inReplyTo);
    const mention = body.mention ? mentionOf(author, body.mention) : null;
    const note = await newNote(ctx, user, { content: body.content, inReplyTo: body.inReplyTo, mention });
    const create = new Create({ id: new URL(note.id.href + "/activity"), actor: ctx.getActorUri(user), object: note, to: PUBLIC_COLLECTION, ccs: [author.id] });
    await send(ctx, user, author, create);
    return { id: create.id.href, note: note.id.href };
  },
  "POST /_test/like": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const { author } = await authorOf(ctx, body.object);
    const like = new Like({ id: newId(ctx, user, "likes"), actor: ctx.getActorUri(user), object: new URL(body.object), to: author.id });
    return { id: await send(ctx, user, author, like) };
  },
  "POST /_test/announce": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const { author } = await authorOf(ctx, body.object);
    const announce = new Announce({
      id: newId(ctx, user, "announces"), actor: ctx.getActorUri(user), object: new URL(body.object),
      to: PUBLIC_COLLECTION, ccs: [author.id], published: Temporal.Now.instant(),
    });
    return { id: await send(ctx, user, author, announce) };
  },
  // A quote (FEP-044f's quote property). With request (the default), as
  // Mastodon 4.5 does: a QuoteRequest to the quoted post's author whose
  // instrument is the quoting post; without, a plain Create of the post.
  "POST /_test/quote": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const { author } = await authorOf(ctx, body.object);
    const note = await newNote(ctx, user, { content: body.content ?? "Quoting this.", quote: body.object });
    let activity;
    if (body.request === false) {
      activity = new Create({ id: new URL(note.id.href + "/activity"), actor: ctx.getActorUri(user), object: note, to: PUBLIC_COLLECTION, ccs: [author.id] });
    } else {
      activity = new QuoteRequest({ id: newId(ctx, user, "quote_requests"), actor: ctx.getActorUri(user), object: new URL(body.object), instrument: note, to: author.id });
    }
    return { id: await send(ctx, user, author, activity), note: note.id.href };
  },
  // A public post of the user, served (to signed GETs only with
  // signedOnly) and sent to nobody: a partner's post the bridge finds by
  // searching its URL.
  "POST /_test/post": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const note = await newNote(ctx, user, { content: body.content ?? "A post." });
    if (body.signedOnly) signedOnly.add(note.id.href);
    return { note: note.id.href, actor: ctx.getActorUri(user).href };
  },
  // The Undo of a Like or Announce the user sent (type, id, object).
  "POST /_test/undo": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const { author } = await authorOf(ctx, body.object);
    const Type = body.type === "Announce" ? Announce : Like;
    const inner = new Type({ id: new URL(body.id), actor: ctx.getActorUri(user), object: new URL(body.object) });
    const undo = new Undo({ id: new URL(body.id + "/undo"), actor: ctx.getActorUri(user), object: inner, to: author.id });
    return { id: await send(ctx, user, author, undo) };
  },
  // A vote in a poll, as Mastodon sends it: the Question fetched (it must
  // parse as one, with the choices among its options), then one Create of
  // a Note per choice, named after the option, in reply to the Question,
  // without content, to its author.
  "POST /_test/vote": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const { obj, author } = await authorOf(ctx, body.question);
    if (!(obj instanceof Question)) throw new HttpError(400, `${body.question} is not a Question`);
    const options = [];
    for await (const o of obj.getExclusiveOptions()) options.push(o.name?.toString());
    for await (const o of obj.getInclusiveOptions()) options.push(o.name?.toString());
    const ids = [];
    for (const choice of body.choices ?? []) {
      if (!options.includes(choice)) throw new HttpError(400, `no option ${choice} in ${options}`);
      const id = ctx.getObjectUri(Note, { identifier: user, id: randomUUID() });
      const note = new Note({ id, attribution: ctx.getActorUri(user), name: choice, replyTarget: obj.id, to: author.id });
      notes.set(id.href, note);
      const create = new Create({ id: new URL(id.href + "/activity"), actor: ctx.getActorUri(user), object: note, to: author.id });
      ids.push(await send(ctx, user, author, create));
    }
    return { ids: ids.join(" "), options: options.join("\n") };
  },
  // A public post sent to one actor (a follower: its server keeps it for
  // its home timelines).
  "POST /_test/broadcast": async (body) => {
    const ctx = ctxOf();
    const user = userOf(body);
    const actor = await lookupActor(ctx, body.handle);
    const note = await newNote(ctx, user, { content: body.content ?? "A post." });
    const create = new Create({ id: new URL(note.id.href + "/activity"), actor: ctx.getActorUri(user), object: note, to: PUBLIC_COLLECTION });
    await send(ctx, user, actor, create);
    return { id: create.id.href, note: note.id.href };
  },
  "GET /_test/fetches": async () => fetches,
  "GET /_test/inbox": async () => received,
  "GET /_test/unverified": async () => unverified,
  "GET /_test/errors": async () => inboxErrors,
  "GET /_test/incoming": async () => incoming,
  "GET /_test/knocks": async () => knocks,
  // The signature spec Fedify remembers per origin (its KV store).
  "GET /_test/specs": async () => {
    const out = {};
    for await (const e of kv.list(["_fedify", "httpMessageSignaturesSpec"])) out[e.key[e.key.length - 1]] = e.value;
    return out;
  },
};

async function control(request, url) {
  const route = routes[`${request.method} ${url.pathname}`];
  if (route == null) return Response.json({ error: "no such test route" }, { status: 404 });
  try {
    const body = request.method === "POST" ? await request.json() : {};
    return Response.json(await route(body, url));
  } catch (e) {
    const status = e instanceof HttpError ? e.status : 502;
    return Response.json({ error: String(e?.message ?? e), status: e?.statusCode ?? null }, { status });
  }
}

async function handle(request) {
  const url = new URL(request.url);
  if (url.pathname.startsWith("/_test/")) return control(request, url);
  if (request.method !== "POST") return federation.fetch(request, { contextData: {} });
  // An inbox delivery: note how it was signed, and what we answered.
  const meta = { spec: specOf(request.headers), keyId: keyIdOf(request.headers) };
  const entry = { seq: ++seq, path: url.pathname, ...meta, status: 0, at: new Date().toISOString() };
  try {
    const json = JSON.parse(await request.clone().text());
    entry.type = json.type ?? null;
    entry.id = json.id ?? null;
    entry.actor = typeof json.actor === "string" ? json.actor : json.actor?.id ?? null;
  } catch {
    entry.type = null;
  }
  incoming.push(entry);
  const response = await federation.fetch(request, { contextData: meta });
  entry.status = response.status;
  return response;
}

serve({ fetch: handle, port, hostname: host, overrideGlobalObjects: false }, () => {
  console.log(`ready ${origin}`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
