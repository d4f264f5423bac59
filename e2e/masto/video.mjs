// Uploads a video with masto.js the way a posting app does (POST
// /api/v2/media answers 202 with url null; masto.js polls GET
// /api/v1/media/:id until the url is set), checks the video attachment,
// and posts it.
//
// Run by e2e/video_test.go. Environment:
//   BRIDGE_URL    the bridge's public URL
//   BRIDGE_TOKEN  an access token with "read write"
//   BRIDGE_VIDEO  path of a video file (WebM or mp4)
//   BRIDGE_ALT    its alt text
//
// Prints one JSON summary on stdout and exits 0; on a mismatch, prints
// what differed on stderr and exits 1.
import { readFile } from "node:fs/promises";
import { createRestAPIClient } from "masto";
import { Mismatch, need, check } from "./common.mjs";

async function main() {
  const client = createRestAPIClient({
    url: need("BRIDGE_URL"), accessToken: need("BRIDGE_TOKEN"), timeout: 30_000,
    mediaTimeout: 180_000, // the bridge's first video compiles ffmpeg
  });
  const alt = need("BRIDGE_ALT");
  const bytes = await readFile(need("BRIDGE_VIDEO"));
  const start = Date.now();
  const media = await client.v2.media.create({ file: new Blob([bytes], { type: "video/webm" }), description: alt });
  const processedMs = Date.now() - start;
  check(media.type === "video", "media: type is not video", media.type);
  check(media.description === alt, "media: description did not come back", media.description);
  check(typeof media.url === "string" && media.url.endsWith(".mp4"), "media: url is not an mp4", media.url);
  check(typeof media.previewUrl === "string" && media.previewUrl.endsWith("/poster.jpg"), "media: no poster as preview_url", media.previewUrl);
  check(typeof media.blurhash === "string" && media.blurhash.length >= 6, "media: no blurhash", media.blurhash);
  const meta = media.meta ?? {};
  check(meta.original?.width > 0 && meta.original?.height > 0, "media: no meta.original size", meta);
  check(meta.duration > 0 && typeof meta.length === "string", "media: no meta duration and length", meta);

  const status = await client.v1.statuses.create({ status: "Le message du maire en vidéo", mediaIds: [media.id], visibility: "public" });
  check(status.mediaAttachments?.length === 1 && status.mediaAttachments[0].type === "video", "status: no video attachment", status.mediaAttachments);
  console.log(JSON.stringify({
    media: { id: media.id, url: media.url, previewUrl: media.previewUrl, width: meta.original.width, height: meta.original.height, duration: meta.duration },
    status: { id: status.id, uri: status.uri, url: status.url },
    processedMs,
  }));
}

main().catch((err) => {
  console.error(err instanceof Mismatch ? `mismatch: ${err.message}` : err?.stack ?? String(err));
  process.exit(1);
});
