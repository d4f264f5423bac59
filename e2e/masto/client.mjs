// Drives Passerelle's Mastodon-compatible client API with masto.js, a real
// Mastodon client library, the way a posting app does: log in with a
// token, read the instance, upload an image with alt text, post, edit,
// pin, unpin and delete a status, and check that an over-long status is
// refused with Mastodon's 422 error.
//
// Run by e2e/masto_test.go (go test ./e2e/ -run MastoJS). Environment:
//   BRIDGE_URL      the bridge's public URL (loopback), e.g. http://127.0.0.1:8080
//   BRIDGE_TOKEN    an access token with "read write" (bridge token create)
//   BRIDGE_IMAGE    path of a test image (PNG or JPEG)
//   BRIDGE_ACCOUNT  the token's account (default "news")
//   BRIDGE_IMAGE_WIDTH, BRIDGE_IMAGE_HEIGHT  its size, if they are to be checked
//
// On success it prints one JSON summary on stdout and exits 0; on any
// mismatch it prints what differed on stderr and exits 1.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { createRestAPIClient, MastoHttpError } from "masto";
import { Mismatch, need, check, expectHttpError } from "./common.mjs";

const imageTypes = { ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg" };

async function main() {
  const url = need("BRIDGE_URL");
  const accessToken = need("BRIDGE_TOKEN");
  const imagePath = need("BRIDGE_IMAGE");
  const account = process.env.BRIDGE_ACCOUNT || "news";
  const width = Number(process.env.BRIDGE_IMAGE_WIDTH || 0);
  const height = Number(process.env.BRIDGE_IMAGE_HEIGHT || 0);

  const client = createRestAPIClient({ url, accessToken, timeout: 30_000 });
  const summary = { url };

  // Log in: the token's account.
  const me = await client.v1.accounts.verifyCredentials();
  check(me.acct === account, `verify_credentials: acct is not ${JSON.stringify(account)}`, me.acct);
  check(me.username === account, "verify_credentials: username differs from acct", me.username);
  check(typeof me.id === "string" && me.id !== "", "verify_credentials: no account id", me.id);
  check(me.source && typeof me.source.privacy === "string", "verify_credentials: no source.privacy", me.source);
  summary.account = { id: me.id, acct: me.acct, url: me.url };

  // The instance, as apps read it at login: v2, then v1.
  const v2 = await client.v2.instance.fetch();
  const maxChars = v2.configuration?.statuses?.maxCharacters;
  check(Number.isInteger(maxChars) && maxChars > 0, "instance v2: configuration.statuses.max_characters is not a positive integer", maxChars);
  check(typeof v2.version === "string" && v2.version.startsWith("4."), "instance v2: version is not Mastodon 4.x compatible", v2.version);
  const v1 = await client.v1.instance.fetch();
  const maxCharsV1 = v1.configuration?.statuses?.maxCharacters;
  check(maxCharsV1 === maxChars, `instance v1: configuration.statuses.max_characters differs from v2's ${maxChars}`, maxCharsV1);
  summary.instance = { domain: v2.domain, version: v2.version, maxCharacters: maxChars };

  // Upload an image with alt text (v2: masto.js then polls GET /api/v1/media/:id until url is set).
  const bytes = await readFile(imagePath);
  const ext = imagePath.slice(imagePath.lastIndexOf(".")).toLowerCase();
  const file = new Blob([bytes], { type: imageTypes[ext] || "application/octet-stream" });
  const description = "Test image: a gradient, uploaded by masto.js";
  const media = await client.v2.media.create({ file, description });
  check(typeof media.id === "string" && media.id !== "", "media: no id", media.id);
  check(media.type === "image", "media: type is not image", media.type);
  check(media.description === description, "media: description did not come back", media.description);
  check(typeof media.blurhash === "string" && media.blurhash.length >= 6, "media: no blurhash", media.blurhash);
  check(typeof media.url === "string" && media.url.startsWith("http"), "media: no url", media.url);
  const orig = media.meta?.original;
  check(orig && orig.width > 0 && orig.height > 0, "media: no meta.original size", media.meta);
  if (width && height) {
    check(orig.width === width && orig.height === height, `media: meta.original is not ${width}x${height}`, orig);
  }
  // The file itself is served.
  const served = await fetch(media.url);
  check(served.ok, `media: GET ${media.url} answered ${served.status}`);
  check((served.headers.get("content-type") || "").startsWith("image/"), "media: file is not served as an image", served.headers.get("content-type"));
  await served.arrayBuffer();
  summary.media = {
    id: media.id, url: media.url, description: media.description, blurhash: media.blurhash,
    width: orig.width, height: orig.height, file: basename(imagePath),
  };

  // Post: a link, a hashtag, the image, a content warning and a language.
  const link = "https://example.org/agenda";
  const text = `Council meeting tonight, agenda: ${link} #CityCouncil`;
  const spoilerText = "Local politics";
  const created = await client.v1.statuses.create({
    status: text, mediaIds: [media.id], spoilerText, language: "en", visibility: "public",
  });
  const id = created.id;
  check(typeof id === "string" && id !== "", "create: no status id", id);
  check(created.account?.acct === account, "create: account.acct", created.account?.acct);
  check(created.visibility === "public", "create: visibility", created.visibility);
  check(created.spoilerText === spoilerText, "create: spoiler_text", created.spoilerText);
  check(created.sensitive === true, "create: a status with a spoiler is not sensitive", created.sensitive);
  check(created.language === "en", "create: language", created.language);
  check(created.editedAt === null, "create: edited_at is set on a new status", created.editedAt);
  check(created.content.includes(`href="${link}"`), "create: content has no link to " + link, created.content);
  check(/#<span>CityCouncil<\/span>|#CityCouncil/.test(created.content), "create: content has no hashtag", created.content);
  check(created.tags.some((t) => t.name.toLowerCase() === "citycouncil"), "create: tags do not list citycouncil", created.tags);
  check(created.mediaAttachments.length === 1 && created.mediaAttachments[0].id === media.id,
    "create: media_attachments is not the uploaded image", created.mediaAttachments);
  check(created.mediaAttachments[0].description === description, "create: attachment lost its description", created.mediaAttachments[0]);
  check(typeof created.uri === "string" && created.uri.startsWith("http"), "create: no uri", created.uri);

  // Fetch it back.
  const fetched = await client.v1.statuses.$select(id).fetch();
  check(fetched.id === id && fetched.uri === created.uri, "fetch: another status", { id: fetched.id, uri: fetched.uri });
  check(fetched.content === created.content, "fetch: content differs from create's", fetched.content);
  check(fetched.mediaAttachments.length === 1, "fetch: media_attachments", fetched.mediaAttachments);

  // Edit it.
  const editedText = `Council meeting tonight at 7 pm, agenda: ${link} #CityCouncil`;
  const edited = await client.v1.statuses.$select(id).update({ status: editedText });
  check(edited.id === id, "edit: another status", edited.id);
  check(typeof edited.editedAt === "string" && !Number.isNaN(Date.parse(edited.editedAt)), "edit: edited_at is not a datetime", edited.editedAt);
  check(Date.parse(edited.editedAt) >= Date.parse(created.createdAt), "edit: edited_at is before created_at", edited.editedAt);
  check(edited.content.includes("7 pm"), "edit: content is not the new text", edited.content);
  const refetched = await client.v1.statuses.$select(id).fetch();
  check(refetched.editedAt === edited.editedAt && refetched.content === edited.content, "fetch after edit: not the edited status", refetched);

  // The account's statuses list it.
  const page = await client.v1.accounts.$select(me.id).statuses.list({ limit: 20 });
  check(Array.isArray(page) && page.some((s) => s.id === id), "account statuses: the status is not listed", page.map?.((s) => s.id));
  // masto.js follows the Link header page by page (one status a page):
  // the status, then an empty page without a next link ends the walk.
  const walked = [];
  let pages = 0;
  for await (const p of client.v1.accounts.$select(me.id).statuses.list({ limit: 1 })) {
    check(++pages <= 10, "account statuses: more than 10 pages of one status each, is the Link header looping?");
    walked.push(...p.map((s) => s.id));
    if (p.length === 0) break;
  }
  check(walked.includes(id), "account statuses: paging with the Link header never reached the status", walked);

  // Pin, list pinned, unpin.
  const pinned = await client.v1.statuses.$select(id).pin();
  check(pinned.pinned === true, "pin: pinned is not true", pinned.pinned);
  const pinnedPage = await client.v1.accounts.$select(me.id).statuses.list({ pinned: true });
  check(pinnedPage.some((s) => s.id === id), "pinned statuses: the status is not listed", pinnedPage.map((s) => s.id));
  const unpinned = await client.v1.statuses.$select(id).unpin();
  check(unpinned.pinned === false, "unpin: pinned is not false", unpinned.pinned);

  // Delete it: the answer carries the source text (for "delete and redraft").
  const deleted = await client.v1.statuses.$select(id).remove();
  check(deleted.id === id, "delete: another status", deleted.id);
  check(deleted.text === editedText, "delete: text is not the source text", deleted.text);
  const gone = await expectHttpError("fetch after delete", 404, () => client.v1.statuses.$select(id).fetch());

  // Scheduled statuses: create with scheduled_at, list, move, cancel.
  const inAnHour = new Date(Date.now() + 3600_000);
  inAnHour.setUTCMilliseconds(0);
  const scheduled = await client.v1.statuses.create({ status: "Reminder: council tonight", scheduledAt: inAnHour.toISOString() });
  check(typeof scheduled.id === "string" && scheduled.params?.text === "Reminder: council tonight",
    "schedule: not a ScheduledStatus", scheduled);
  check(Date.parse(scheduled.scheduledAt) === inAnHour.getTime(), "schedule: scheduled_at", scheduled.scheduledAt);
  const scheduledList = await client.v1.scheduledStatuses.list();
  check(scheduledList.some((s) => s.id === scheduled.id), "scheduled statuses: not listed", scheduledList.map((s) => s.id));
  const later = new Date(inAnHour.getTime() + 3600_000);
  const moved = await client.v1.scheduledStatuses.$select(scheduled.id).update({ scheduledAt: later.toISOString() });
  check(Date.parse(moved.scheduledAt) === later.getTime(), "scheduled status update: scheduled_at not moved", moved.scheduledAt);
  await client.v1.scheduledStatuses.$select(scheduled.id).remove();
  await expectHttpError("scheduled status after cancel", 404, () => client.v1.scheduledStatuses.$select(scheduled.id).fetch());
  summary.scheduled = { id: scheduled.id, moved: moved.scheduledAt, cancelled: true };

  // Too long: Mastodon's 422 and its message, as masto.js surfaces them.
  const tooLong = "a".repeat(maxChars + 1);
  const refused = await expectHttpError("over-long status", 422, () => client.v1.statuses.create({ status: tooLong }));
  check(typeof refused.message === "string" && /character limit/i.test(refused.message) && refused.message.includes(String(maxChars)),
    "over-long status: the error message does not name the character limit", refused.message);

  // A feature this server may lack (search): apps probe it and carry on
  // after a 404, so it must answer or fail as an HTTP error masto.js
  // understands, never as "the server returned data with an unknown encoding".
  let search;
  try {
    await client.v2.search.list({ q: "council" });
    search = "answered";
  } catch (err) {
    check(err instanceof MastoHttpError, `search: want an answer or an HTTP error, got ${err?.name}: ${err?.message}`);
    search = `HTTP ${err.statusCode}: ${err.message}`;
  }
  summary.search = search;

  summary.status = {
    id, uri: created.uri, url: created.url, createdAt: created.createdAt, editedAt: edited.editedAt,
    tags: created.tags.map((t) => t.name), pinned: pinned.pinned, unpinned: !unpinned.pinned,
    deleted: true, fetchAfterDelete: gone.statusCode,
  };
  summary.overLong = { statusCode: refused.statusCode, message: refused.message };
  process.stdout.write(JSON.stringify(summary) + "\n");
}

main().catch((err) => {
  if (err instanceof Mismatch) {
    console.error(`masto.js check failed: ${err.message}`);
  } else if (err instanceof MastoHttpError) {
    console.error(`masto.js check failed: HTTP ${err.statusCode}: ${err.message}`);
    console.error(err.stack);
  } else {
    console.error("masto.js check failed:", err);
  }
  process.exit(1);
});
