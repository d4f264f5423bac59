// Command bluesky measures the Bluesky mirror of the real bridge binary
// against the reference PDS on loopback: N posts, each with one large
// image, are made through the Mastodon client API, and the time from
// POST /api/v1/statuses until the record exists on the PDS (read with
// com.atproto.repo.listRecords) is measured for each. It prints p50, p90,
// p99 and max, and the bridge's CPU time per post (image processing at
// upload, the re-encoding for Bluesky, the requests), from /proc.
//
// Posts are made one after another (each waits for its record), so the
// figures are latencies, not queueing. -think sets the time between the
// image upload and the post: a person using a Mastodon app writes the text
// and the alt text after attaching the image, and the bridge prepares the
// image for Bluesky meanwhile; -think 0 posts at once (worst case).
//
//	(cd e2e/pds && npm_config_nodedir=/usr npm ci)
//	go run ./bench/bluesky -n 50 -think 0
//	go run ./bench/bluesky -n 50 -think 2s
//
// Everything runs on loopback. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/e2e"
)

func main() {
	n := flag.Int("n", 50, "posts, each with one large image")
	width := flag.Int("width", 4000, "image width (px)")
	height := flag.Int("height", 3000, "image height (px)")
	think := flag.Duration("think", 0, "time between the image upload and the post")
	maxBytes := flag.Int("image-max-bytes", 1_000_000, "bluesky.image_max_bytes (the pinned PDS's lexicon takes at most 1,000,000)")
	bridge := flag.String("bridge", "", "bridge binary (empty: build ./cmd/bridge)")
	flag.Parse()
	if err := run(*n, *width, *height, *think, *maxBytes, *bridge); err != nil {
		fmt.Fprintln(os.Stderr, "bench/bluesky:", err)
		os.Exit(1)
	}
}

func run(n, width, height int, think time.Duration, maxBytes int, bin string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "passerelle-bench-bluesky-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "bridge")
		if err := e2e.Build(bin); err != nil {
			return err
		}
	}
	pds, err := pdstest.Start(pdstest.Options{})
	if err != nil {
		return err
	}
	defer pds.Close()
	acct, err := pds.CreateAccount(ctx, "benchcity.test")
	if err != nil {
		return err
	}
	addr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	cfg := e2e.BlueskyConfig{
		Config:     e2e.Config{Addr: addr, DSN: filepath.Join(dir, "data", "bridge.db"), LogLevel: "warn"},
		PDSURL:     pds.URL,
		Identifier: acct.Handle,
		Extra:      fmt.Sprintf("image_max_bytes: %d", maxBytes),
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.YAML()), 0o600); err != nil {
		return err
	}
	env := []string{"BSKY_APP_PASSWORD=" + acct.AppPassword}
	proc, err := e2e.StartEnv(bin, cfgPath, filepath.Join(dir, "bridge.log"), cfg.BaseURL(), env)
	if err != nil {
		return err
	}
	defer proc.Stop(20 * time.Second)
	if err := proc.WaitHealthy(15 * time.Second); err != nil {
		return err
	}
	token, err := e2e.CreateToken(bin, cfgPath, env)
	if err != nil {
		return err
	}
	api := e2e.API{BaseURL: cfg.BaseURL(), Token: token, Client: e2e.Client(4)}

	fmt.Printf("%d posts, each with a %dx%d photo-like JPEG; image_max_bytes %d; think time %v\n", n, width, height, maxBytes, think)
	// Warm-up: logs in (createSession) and measures nothing.
	if _, err := postAndWait(ctx, api, pds, acct.DID, nil, "warm-up", 0); err != nil {
		return err
	}
	var (
		lat        []time.Duration
		imageBytes int
		cpu        time.Duration
	)
	for i := range n {
		img := photo(width, height, uint64(i+1))
		imageBytes += len(img)
		c0, _ := proc.CPUTime()
		d, err := postAndWait(ctx, api, pds, acct.DID, img, fmt.Sprintf("Bench post %d", i), think)
		if err != nil {
			return err
		}
		c1, _ := proc.CPUTime()
		cpu += c1 - c0
		lat = append(lat, d)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	fmt.Printf("images: %.1f MB on average\n", float64(imageBytes)/float64(n)/1e6)
	fmt.Printf("POST /api/v1/statuses -> record on the PDS: p50 %v  p90 %v  p99 %v  max %v\n",
		pct(0.50).Round(time.Millisecond), pct(0.90).Round(time.Millisecond), pct(0.99).Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
	fmt.Printf("bridge CPU per post (upload processing + Bluesky re-encode + requests): %v\n", (cpu / time.Duration(n)).Round(time.Millisecond))
	return nil
}

// postAndWait uploads img (when not nil), waits think, posts, and returns
// the time from the post until its record is listed by the PDS.
func postAndWait(ctx context.Context, api e2e.API, pds *pdstest.Server, did string, img []byte, text string, think time.Duration) (time.Duration, error) {
	status := map[string]any{"status": text}
	if img != nil {
		id, err := api.UploadMedia(ctx, img, "photo.jpg", "Photo de la place de la mairie")
		if err != nil {
			return 0, err
		}
		status["media_ids"] = []string{id}
		time.Sleep(think)
	}
	start := time.Now()
	if _, err := api.PostStatus(ctx, status); err != nil {
		return 0, err
	}
	deadline := start.Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		var out struct {
			Records []struct {
				Value json.RawMessage `json:"value"`
			} `json:"records"`
		}
		err := pds.XRPC(ctx, "GET", "com.atproto.repo.listRecords", "",
			url.Values{"repo": {did}, "collection": {"app.bsky.feed.post"}, "limit": {"1"}}, nil, &out)
		if err != nil && !errors.Is(err, context.Canceled) {
			return 0, err
		}
		if len(out.Records) == 1 && strings.Contains(string(out.Records[0].Value), `"`+text+`"`) {
			return time.Since(start), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return 0, fmt.Errorf("post %q not on the PDS after 2 minutes", text)
}

// photo is a w×h JPEG that compresses like a photograph: smooth gradients
// with a little noise (quality 92: about 1 byte per pixel... less).
func photo(w, h int, seed uint64) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 42))
	cx, cy := r.IntN(w), r.IntN(h)
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(24))
			dx, dy := (x-cx)/8, (y-cy)/8
			img.Set(x, y, color.RGBA{uint8(x*200/w) + n, uint8(y*200/h) + n, uint8((dx*dx+dy*dy)%200) + n, 0xff})
		}
	}
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92})
	return buf.Bytes()
}
