package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestVideo: masto.js uploads a WebM video (converted by the real binary's
// ffmpeg, compiled to WebAssembly, to an H.264/AAC mp4) and posts it; the
// Fedify peer receives the Note with a Video attachment carrying its alt
// text, size, duration and poster; Chromium plays the mp4 from the post's
// page (readyState >= 2).
func TestVideo(t *testing.T) {
	dir := mastoDir(t)
	clip, err := filepath.Abs(filepath.Join("..", "video", "testdata", "vp8_opus.webm"))
	if err != nil {
		t.Fatal(err)
	}
	e := startFedifyEnv(t, FirstKnockRFC9421)
	e.follow(t)
	ctx := e.ctx(5 * time.Minute)

	const alt = "Le maire, devant la mairie, présente le budget participatif"
	cmd := exec.CommandContext(ctx, "node", "video.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BRIDGE_URL="+e.api.BaseURL, "BRIDGE_TOKEN="+e.api.Token,
		"NODE_EXTRA_CA_CERTS="+e.front.CAFile, "BRIDGE_VIDEO="+clip, "BRIDGE_ALT="+alt)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("node video.mjs: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	t.Logf("masto.js: %s", strings.TrimSpace(out.String()))
	var sum struct {
		Media struct {
			URL, PreviewURL string
			Width, Height   int
			Duration        float64
		} `json:"media"`
		Status struct {
			ID, URI, URL string
		} `json:"status"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &sum); err != nil {
		t.Fatalf("video.mjs summary: %v\n%s", err, out.String())
	}
	if sum.Media.Width != 160 || sum.Media.Height != 120 || sum.Media.Duration < 0.5 || sum.Media.Duration > 1.5 {
		t.Errorf("media = %+v, want 160x120, about 1 s", sum.Media)
	}

	// The Fedify peer: a verified Create whose Note has the Video (as
	// Fedify parsed it: its model has no blurhash, a Mastodon extension
	// checked by federation's tests).
	noteID := e.noteID(sum.Status.ID)
	create, err := e.peer.WaitActivity(e.ctx(30*time.Second), "Create of the video post", e.noteActivity("Create", noteID))
	if err != nil {
		t.Fatal(err)
	}
	if !create.Verified {
		t.Errorf("Create not verified by Fedify")
	}
	var video map[string]any
	switch att := create.Object["attachment"].(type) {
	case map[string]any:
		video = att
	case []any:
		if len(att) == 1 {
			video, _ = att[0].(map[string]any)
		}
	}
	icon, _ := video["icon"].(map[string]any)
	if video == nil || video["type"] != "Video" || video["name"] != alt || video["mediaType"] != "video/mp4" ||
		video["url"] != sum.Media.URL || video["width"] != 160.0 || video["height"] != 120.0 ||
		video["duration"] != "PT1S" || icon == nil || icon["url"] != sum.Media.PreviewURL {
		b, _ := json.Marshal(create.Object["attachment"])
		t.Errorf("Fedify received attachment %s; want the Video with its alt text, size, duration and poster", b)
	}

	// Chromium plays it from the post's page.
	browserDir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	chromiumBin := os.Getenv("BRIDGE_TEST_CHROMIUM")
	if chromiumBin == "" {
		chromiumBin = "/usr/bin/chromium"
	}
	_, chromiumErr := os.Stat(chromiumBin)
	_, pwErr := os.Stat(filepath.Join(browserDir, "node_modules", "playwright-core"))
	if chromiumErr != nil || pwErr != nil {
		msg := "playing the video needs chromium (" + chromiumBin + ") and npm ci in e2e/browser"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	page := exec.CommandContext(ctx, "node", "video.mjs", "--page", sum.Status.URL)
	page.Dir = browserDir
	page.Env = append(os.Environ(), "BRIDGE_TEST_CHROMIUM="+chromiumBin)
	var pout, perr bytes.Buffer
	page.Stdout, page.Stderr = &pout, &perr
	if err := page.Run(); err != nil {
		t.Fatalf("chromium did not play the video: %v\nstdout: %s\nstderr: %s", err, pout.String(), perr.String())
	}
	t.Logf("chromium: %s", strings.TrimSpace(pout.String()))
	var state struct {
		ReadyState              int
		VideoWidth, VideoHeight int
	}
	if err := json.Unmarshal(bytes.TrimSpace(pout.Bytes()), &state); err != nil || state.ReadyState < 2 || state.VideoWidth != 160 {
		t.Errorf("chromium: %+v, %v; want readyState >= 2 and a 160 px wide video", state, err)
	}
}
