package api_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/video"
)

// fakeVideo stands for package video's Processor (which runs ffmpeg, and
// is exercised by its own tests and e2e): it copies the upload as the
// result, refuses one containing "AUDIO", and waits for release before
// finishing, so that the test sees the media while it is processed.
type fakeVideo struct{ release chan struct{} }

func (f fakeVideo) Process(ctx context.Context, dir, file string, lim video.Limits) (video.Result, error) {
	select {
	case <-f.release:
	case <-ctx.Done():
		return video.Result{}, ctx.Err()
	}
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		return video.Result{}, err
	}
	if bytes.Contains(data, []byte("AUDIO")) {
		return video.Result{}, fmt.Errorf("%w (audio only?)", video.ErrNoVideo)
	}
	out := filepath.Join(dir, "out.mp4")
	if err := os.WriteFile(out, data, 0o600); err != nil {
		return video.Result{}, err
	}
	var poster bytes.Buffer
	jpeg.Encode(&poster, image.NewGray(image.Rect(0, 0, 32, 18)), nil)
	return video.Result{Path: out, Poster: poster.Bytes(), Width: 320, Height: 180, Duration: 12500 * time.Millisecond, HasAudio: true}, nil
}

// mp4Head is the start of an mp4 file (an ftyp box).
const mp4Head = "\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"

func uploadVideo(t *testing.T, e *env, tok string, data []byte, fields ...[2]string) response {
	t.Helper()
	body, ct := multipartBody(t, fields, "clip.mp4", data)
	return e.do(t, request{method: http.MethodPost, path: "/api/v2/media", token: tok, contentType: ct, body: body})
}

func TestVideoUploadProcessedInBackground(t *testing.T) {
	fake := fakeVideo{release: make(chan struct{})}
	e := newEnv(t, envOptions{video: fake})
	bridgetest.RunJobs(t, e.store, time.Second, e.pub.RegisterVideo)
	tok := e.token(t, "news", "read write")
	clip := []byte(mp4Head + strings.Repeat("frames", 500))

	r := uploadVideo(t, e, tok, clip, [2]string{"description", "The mayor's message"},
		[2]string{"captions", "WEBVTT\n\n00:00.000 --> 00:02.000\nHello"}, [2]string{"captions_lang", "fr"})
	if r.code != http.StatusAccepted {
		t.Fatalf("upload: %d %s, want 202", r.code, r.body)
	}
	m := r.json(t)
	id := m["id"].(string)
	if m["type"] != "video" || m["url"] != nil || m["description"] != "The mayor's message" {
		t.Errorf("processing attachment: %s", r.body)
	}
	if r := e.get(t, "/api/v1/media/"+id, tok); r.code != http.StatusPartialContent {
		t.Errorf("GET while processing: %d %s, want 206", r.code, r.body)
	}
	if r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"too early"}, "media_ids[]": {id}}); r.code != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.body), "not finished processing") {
		t.Errorf("post with a processing video: %d %s, want 422", r.code, r.body)
	}
	if r := e.get(t, "/media/"+id+".mp4", ""); r.code != http.StatusNotFound {
		t.Errorf("file while processing: %d, want 404", r.code)
	}

	close(fake.release)
	ready := waitMedia(t, e, tok, id)
	meta := ready["meta"].(map[string]any)
	if ready["type"] != "video" || !strings.HasSuffix(fmt.Sprint(ready["url"]), "/media/"+id+".mp4") ||
		!strings.HasSuffix(fmt.Sprint(ready["preview_url"]), "/media/"+id+"/poster.jpg") || ready["blurhash"] == nil ||
		meta["duration"] != 12.5 || meta["length"] != "0:00:12.50" || meta["width"] != 320.0 || meta["height"] != 180.0 {
		t.Errorf("ready attachment: %v", ready)
	}

	// Served with ranges and caching headers.
	full := e.get(t, ready["url"].(string), "")
	if full.code != http.StatusOK || string(full.body) != string(clip) || full.header.Get("Content-Type") != "video/mp4" ||
		!strings.Contains(full.header.Get("Cache-Control"), "max-age") || full.header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("GET video: %d %v", full.code, full.header)
	}
	part := e.do(t, request{method: http.MethodGet, path: ready["url"].(string), header: map[string]string{"Range": "bytes=4-11"}})
	if part.code != http.StatusPartialContent || string(part.body) != "ftypisom" {
		t.Errorf("range request: %d %q, want 206 ftypisom", part.code, part.body)
	}
	poster := e.get(t, ready["preview_url"].(string), "")
	if poster.code != http.StatusOK || poster.header.Get("Content-Type") != "image/jpeg" {
		t.Errorf("GET poster: %d %v", poster.code, poster.header)
	}
	if _, err := jpeg.DecodeConfig(bytes.NewReader(poster.body)); err != nil {
		t.Errorf("poster is not a JPEG: %v", err)
	}
	img := e.upload(t, tok, pngBytes(t, 4, 4)).json(t)["id"].(string)
	if r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"two"}, "media_ids[]": {id, img}}); r.code != http.StatusUnprocessableEntity ||
		!strings.Contains(string(r.body), "cannot be combined") {
		t.Errorf("video with an image: %d %s, want 422", r.code, r.body)
	}
	sid := e.post(t, tok, url.Values{"status": {"The mayor's message"}, "media_ids[]": {id}})
	st := e.get(t, "/api/v1/statuses/"+sid, tok).json(t)
	if atts := st["media_attachments"].([]any); len(atts) != 1 || atts[0].(map[string]any)["type"] != "video" {
		t.Errorf("status attachments: %v", st["media_attachments"])
	}
}

// waitMedia polls GET /api/v1/media/:id as apps do until it is not 206.
func waitMedia(t *testing.T, e *env, tok, id string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := e.get(t, "/api/v1/media/"+id, tok)
		if r.code == http.StatusOK {
			return r.json(t)
		}
		if r.code != http.StatusPartialContent || time.Now().After(deadline) {
			t.Fatalf("GET media %s: %d %s", id, r.code, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestVideoUploadRejects(t *testing.T) {
	fake := fakeVideo{release: make(chan struct{})}
	close(fake.release)
	e := newEnv(t, envOptions{video: fake})
	bridgetest.RunJobs(t, e.store, time.Second, e.pub.RegisterVideo)
	tok := e.token(t, "news", "read write")
	clip := []byte(mp4Head + "frames")

	sync := []struct {
		name   string
		data   []byte
		fields [][2]string
		code   int
		want   string
	}{
		{"zip named .mp4", []byte("PK\x03\x04" + strings.Repeat("z", 100)), nil, 422, "file type not supported"},
		{"empty", nil, nil, 422, "File can't be blank"},
		{"too large", []byte(mp4Head + strings.Repeat("x", 1<<20)), nil, 413, "too large"},
		{"captions not WebVTT", clip, [][2]string{{"captions", "1\n00:00:00,000 --> 00:00:01,000\nSRT"}}, 422, "WebVTT"},
		{"captions too long", clip, [][2]string{{"captions", "WEBVTT\n\n" + strings.Repeat("a", 20_000)}}, 422, "captions are too long"},
		{"bad captions language", clip, [][2]string{{"captions", "WEBVTT\n"}, {"captions_lang", "f r"}}, 422, "captions_lang"},
		{"captions on an image", pngBytes(t, 4, 4), [][2]string{{"captions", "WEBVTT\n"}}, 422, "only for videos"},
	}
	for _, tc := range sync {
		t.Run(tc.name, func(t *testing.T) {
			r := uploadVideo(t, e, tok, tc.data, tc.fields...)
			if r.code != tc.code || !strings.Contains(string(r.body), tc.want) {
				t.Errorf("%d %s, want %d with %q", r.code, r.body, tc.code, tc.want)
			}
		})
	}
	entries, _ := os.ReadDir(e.mediaDir)
	if len(entries) != 0 {
		t.Errorf("refused uploads left files: %v", entries)
	}

	t.Run("audio only fails in the background", func(t *testing.T) {
		r := uploadVideo(t, e, tok, []byte(mp4Head+"AUDIO"))
		if r.code != http.StatusAccepted {
			t.Fatalf("upload: %d %s", r.code, r.body)
		}
		id := r.json(t)["id"].(string)
		deadline := time.Now().Add(20 * time.Second)
		for {
			g := e.get(t, "/api/v1/media/"+id, tok)
			if g.code == http.StatusUnprocessableEntity {
				if !strings.Contains(string(g.body), "no video track") {
					t.Errorf("failed media: %s", g.body)
				}
				break
			}
			if g.code != http.StatusPartialContent || time.Now().After(deadline) {
				t.Fatalf("GET media: %d %s, want 422 once processed", g.code, g.body)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"x"}, "media_ids[]": {id}}); r.code != http.StatusUnprocessableEntity {
			t.Errorf("post with a failed video: %d %s", r.code, r.body)
		}
		entries, _ := os.ReadDir(e.mediaDir)
		for _, en := range entries {
			t.Errorf("a failed video left %s", en.Name())
		}
	})
}

// TestAnimatedGIFBecomesGifv: with videos enabled, an animated GIF is
// converted like a video and shown as Mastodon's gifv; a still GIF stays
// an image.
func TestAnimatedGIFBecomesGifv(t *testing.T) {
	fake := fakeVideo{release: make(chan struct{})}
	close(fake.release)
	e := newEnv(t, envOptions{video: fake})
	bridgetest.RunJobs(t, e.store, time.Second, e.pub.RegisterVideo)
	tok := e.token(t, "news", "read write")
	gifOf := func(frames int) []byte {
		g := &gif.GIF{}
		for i := range frames {
			p := image.NewPaletted(image.Rect(0, 0, 8, 8), color.Palette{color.Black, color.White})
			p.SetColorIndex(i%8, i%8, 1)
			g.Image, g.Delay = append(g.Image, p), append(g.Delay, 10)
		}
		var b bytes.Buffer
		if err := gif.EncodeAll(&b, g); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	r := uploadVideo(t, e, tok, gifOf(3))
	if r.code != http.StatusAccepted {
		t.Fatalf("animated GIF: %d %s, want 202", r.code, r.body)
	}
	if m := waitMedia(t, e, tok, r.json(t)["id"].(string)); m["type"] != "gifv" || !strings.HasSuffix(fmt.Sprint(m["url"]), ".mp4") {
		t.Errorf("animated GIF became %v", m)
	}
	r = uploadVideo(t, e, tok, gifOf(1))
	if m := r.json(t); r.code != http.StatusOK || m["type"] != "image" {
		t.Errorf("still GIF: %d %s, want an image", r.code, r.body)
	}
}

// TestVideoInstanceLimits: apps read the video types and size limit from
// the instance, only when videos are enabled.
func TestVideoInstanceLimits(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		opts := envOptions{}
		if enabled {
			opts.video = fakeVideo{}
		}
		e := newEnv(t, opts)
		inst := e.get(t, "/api/v2/instance", "").json(t)
		ma := inst["configuration"].(map[string]any)["media_attachments"].(map[string]any)
		types := fmt.Sprint(ma["supported_mime_types"])
		if strings.Contains(types, "video/mp4") != enabled || (ma["video_size_limit"] != 0.0) != enabled {
			t.Errorf("videos enabled %v: media_attachments %v", enabled, ma)
		}
	}
}

func TestVideoRefusedWhenDisabled(t *testing.T) {
	e := newEnv(t, envOptions{})
	r := uploadVideo(t, e, e.token(t, "news", "write"), []byte(mp4Head+"frames"))
	if r.code != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), "videos are not accepted") {
		t.Errorf("%d %s, want 422", r.code, r.body)
	}
}
