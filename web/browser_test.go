package web_test

// Pages in a real browser: Debian's chromium, headless. The tests skip
// with a message when chromium (or, for the interactive checks, node and
// e2e/browser/node_modules) is missing, and fail instead under CI=true.
// Screenshots are kept in .ci/artifacts/browser/ (BRIDGE_TEST_ARTIFACTS
// overrides it).

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
)

// chromiumFlags start a headless chromium that stays off the network
// (Debian's build would otherwise call home at start-up).
var chromiumFlags = []string{
	"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
	"--disable-background-networking", "--disable-component-update", "--disable-sync",
	"--hide-scrollbars",
}

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf(format+" (required under CI=true)", args...)
	}
	t.Skipf(format, args...)
}

func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("BRIDGE_TEST_CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		skipOrFail(t, "chromium not found: install it (apt-get install chromium) or set BRIDGE_TEST_CHROMIUM")
	}
	return p
}

func artifactsDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("BRIDGE_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("..", ".ci", "artifacts", "browser")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// runChromium runs chromium with its own empty profile and returns stdout.
func runChromium(t *testing.T, bin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	all := append(append([]string{}, chromiumFlags...), "--user-data-dir="+t.TempDir())
	cmd := exec.CommandContext(ctx, bin, append(all, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return stdout.String()
}

func TestBrowserRendersNotice(t *testing.T) {
	bin := chromium(t)
	s := newSite(t, siteOptions{posts: 6})
	out := artifactsDir(t)
	tests := []struct {
		name          string
		width, height int
		path          string
		want          []string
	}{
		{name: "phone-fr", width: 390, height: 844, path: "/x/news?lang=fr", want: []string{"Nous avons quitté X le 20 janvier 2025"}},
		{name: "desktop-en", width: 1280, height: 900, path: "/x/news?lang=en", want: []string{"We have left X on 20 January 2025"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := "--window-size=" + strconv.Itoa(tt.width) + "," + strconv.Itoa(tt.height)
			dom := runChromium(t, bin, size, "--virtual-time-budget=5000", "--run-all-compositor-stages-before-draw", "--dump-dom", s.url+tt.path)
			want := append([]string{
				`id="fediverse-handle" translate="no">@news@` + s.host + `</code>`,
				`id="bluesky-handle" translate="no">@villedetest.bsky.social</code>`,
				`<img id="qr-fediverse" src="`,
				`<form id="follow"`,
			}, tt.want...)
			for _, w := range want {
				if !strings.Contains(dom, w) {
					t.Errorf("rendered DOM lacks %s", w)
				}
			}
			// The script ran under the CSP: it un-hid the copy buttons.
			button := regexp.MustCompile(`<button type="button" class="copy"[^>]*>`).FindString(dom)
			if button == "" || strings.Contains(button, "hidden") {
				t.Errorf("copy button missing or still hidden (the script did not run): %s", button)
			}

			shot := filepath.Join(out, "chromium-"+tt.name+".png")
			runChromium(t, bin, size, "--virtual-time-budget=5000", "--run-all-compositor-stages-before-draw", "--screenshot="+shot, s.url+tt.path)
			data, err := os.ReadFile(shot)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("screenshot is not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tt.width || b.Dy() != tt.height {
				t.Errorf("screenshot is %v, want %dx%d", b, tt.width, tt.height)
			}
			if colours := distinctColours(img, 64); colours < 16 {
				t.Errorf("screenshot has %d colours: blank page?", colours)
			}
			t.Logf("screenshot: %s", shot)
		})
	}
}

// TestBrowserInteractions drives the page with playwright-core
// (e2e/browser/notice.mjs): images loaded, copy button, the remote-follow
// form by keyboard and by click, hostile input, at phone and desktop
// sizes.
func TestBrowserInteractions(t *testing.T) {
	bin := chromium(t)
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node not found: the interactive browser checks need Node.js")
	}
	dir, err := filepath.Abs(filepath.Join("..", "e2e", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "playwright-core")); err != nil {
		skipOrFail(t, "e2e/browser/node_modules missing: run npm ci in e2e/browser")
	}
	s := newSite(t, siteOptions{allowPrivate: true, posts: 6})
	v := newVisitorServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "notice.mjs", "--site", s.url, "--visitor", v.url, "--out", artifactsDir(t))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BRIDGE_TEST_CHROMIUM="+bin)
	output, err := cmd.CombinedOutput()
	t.Logf("notice.mjs:\n%s", output)
	if err != nil {
		t.Fatalf("browser checks failed: %v", err)
	}
}

// distinctColours counts the colours of a sample of pixels, up to max.
func distinctColours(img image.Image, max int) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(bl >> 8), uint8(a >> 8)}] = true
			if len(seen) >= max {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// TestBrowserAccessibility renders every kind of page (home, profile,
// older posts, a post with images, a post behind a content warning, a
// hashtag page, the accessibility statement, an embed, the notice page,
// the remote-follow error, and the 404 and 410 pages) in chromium, in
// French and English at phone and desktop sizes, runs axe-core at WCAG
// 2.1 AA on each (light and dark), keeps full-page screenshots, and reads
// the feeds with an npm feed parser (e2e/browser/pages.mjs).
func TestBrowserAccessibility(t *testing.T) {
	bin := chromium(t)
	node, err := exec.LookPath("node")
	if err != nil {
		skipOrFail(t, "node not found: the accessibility checks need Node.js")
	}
	dir, err := filepath.Abs(filepath.Join("..", "e2e", "browser"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"playwright-core", "axe-core", "@rowanmanning/feed-parser"} {
		if _, err := os.Stat(filepath.Join(dir, "node_modules", m)); err != nil {
			skipOrFail(t, "e2e/browser/node_modules/%s missing: run npm ci in e2e/browser", m)
		}
	}
	s := newSite(t, siteOptions{posts: 22, pages: config.Pages{
		Links:         config.PageLinks{LegalNotice: "https://city.example/legal", Privacy: "https://city.example/privacy", Contact: "mailto:web@city.example"},
		Accessibility: config.Accessibility{Status: "partial", AuditedOn: "2026-11-03", NonCompliant: []string{"Some images posted before 2026 have no text alternative."}},
	}})
	r := addRich(t, s)
	type page struct {
		Name   string `json:"name"`
		Path   string `json:"path"`
		Status int    `json:"status"`
	}
	type feed struct {
		Path  string `json:"path"`
		Type  string `json:"type"`
		Items int    `json:"items"`
		Media int    `json:"media"`
	}
	plan := struct {
		Pages []page `json:"pages"`
		Feeds []feed `json:"feeds"`
	}{
		Pages: []page{
			{"home", "/", 200},
			{"profile", "/@news", 200},
			{"older-posts", "/@news?max_id=" + id(s.ids[5]), 200},
			{"post-images", "/@news/" + id(r.media), 200},
			{"post-warning", "/@news/" + id(r.cw), 200},
			{"tag", "/tags/exit", 200},
			{"statement", "/@news/accessibility", 200},
			{"embed", "/@news/" + id(r.media) + "/embed", 200},
			{"notice", "/x/news", 200},
			{"error-404", "/@nobody", 404},
			{"error-410", "/@news/" + id(r.deleted), 410},
			{"error-400", "/@news?max_id=99999999999999999999999", 400},
		},
		Feeds: []feed{
			{"/@news.rss", "rss", 20, 1},
			{"/@news.atom", "atom", 20, 1},
			{"/tags/travaux.rss", "rss", 1, 1},
			{"/tags/exit.atom", "atom", 20, 0},
		},
	}
	planFile := filepath.Join(t.TempDir(), "plan.json")
	data, err := json.Marshal(plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(planFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out := artifactsDir(t)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "pages.mjs", "--site", s.url, "--out", out, "--plan", planFile)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BRIDGE_TEST_CHROMIUM="+bin)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if testing.Verbose() { // the checks as they run: the whole takes minutes
		cmd.Stdout = io.MultiWriter(&output, os.Stderr)
	}
	err = cmd.Run()
	t.Logf("pages.mjs:\n%s", output.String())
	if err != nil {
		t.Fatalf("accessibility checks failed: %v", err)
	}
	t.Logf("screenshots: %s/page-*.png", out)
}
