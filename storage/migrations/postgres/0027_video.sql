-- Videos (issue 19): an upload is stored at once, in state 1 (processing),
-- with the bytes as uploaded; the video job converts it and sets state 0
-- (ready) with the mp4 in path/data, or 2 (failed) with the reason in
-- error and the bytes dropped. Images are inserted ready.
-- duration is in microseconds; the poster frame (a JPEG) lives in a file
-- (poster_path) or, on shared storage, in poster_data. captions is a
-- WebVTT track given with the upload (sent to Bluesky), captions_lang its
-- language. loop marks a GIF converted to a silent looping video (gifv).
ALTER TABLE media ADD COLUMN state BIGINT NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN error TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN duration BIGINT NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN poster_path TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN poster_data BYTEA;
ALTER TABLE media ADD COLUMN poster_size BIGINT NOT NULL DEFAULT 0;
ALTER TABLE media ADD COLUMN captions TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN captions_lang TEXT NOT NULL DEFAULT '';
ALTER TABLE media ADD COLUMN loop BIGINT NOT NULL DEFAULT 0; -- 1: a GIF made a silent looping video (Mastodon's gifv)
