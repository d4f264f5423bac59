// Command video measures the processing of an uploaded video by the real
// bridge binary: a clip of -seconds (60) at -size (1920x1080, 30 fps,
// with a 440 Hz tone) is generated first, with the same ffmpeg
// (WebAssembly) the bridge embeds, then uploaded through POST
// /api/v2/media; the bench polls GET /api/v1/media/:id until it is ready
// and prints the bridge's CPU time and wall time for it, its peak RSS, and
// the latency of the API (GET /api/v1/accounts/verify_credentials, one
// request after another) before and while the video is processed.
//
//	go run ./bench/video                     # 60 s 1080p H.264/AAC mp4: remuxed
//	go run ./bench/video -mode reencode      # H.264 4:4:4 input: re-encoded to 4:2:0
//	go run ./bench/video -seconds 10 -size 1280x720
//
// A 1-second clip is uploaded first, so that the one-time compilation of
// ffmpeg (on the bridge's first video; cached on disk afterwards) is
// measured apart. Loopback only. See bench/README.md.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/passerelle/passerelle/e2e"
	"github.com/passerelle/passerelle/video/ffwasm"
)

func main() {
	seconds := flag.Int("seconds", 60, "length of the clip")
	size := flag.String("size", "1920x1080", "size of the clip")
	mode := flag.String("mode", "remux", "remux: an H.264/AAC mp4 (streams copied); reencode: H.264 4:4:4 (re-encoded)")
	bin := flag.String("bridge", "", "bridge binary (empty: build ./cmd/bridge)")
	keep := flag.String("clip", "", "file of the clip: used when it exists (generated with the same -seconds, -size and -mode), else written there")
	flag.Parse()
	if *mode != "remux" && *mode != "reencode" {
		fmt.Fprintln(os.Stderr, "bench/video: -mode is remux or reencode")
		os.Exit(2)
	}
	if err := run(*seconds, *size, *mode, *bin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "bench/video:", err)
		os.Exit(1)
	}
}

func run(seconds int, size, mode, bin, keep string) error {
	dir, err := os.MkdirTemp("", "passerelle-bench-video-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	// The clips, made by the same ffmpeg (WebAssembly) in this process.
	gen := ffwasm.New(filepath.Join(dir, "gen-cache"))
	defer gen.Close(ctx)
	pixfmt := "yuv420p"
	if mode == "reencode" {
		pixfmt = "yuv444p"
	}
	start := time.Now()
	clips := []struct {
		name string
		secs int
		size string
	}{{"warmup.mp4", 1, "320x240"}, {"clip.mp4", seconds, size}}
	if keep != "" {
		if data, err := os.ReadFile(keep); err == nil {
			if err := os.WriteFile(filepath.Join(dir, "clip.mp4"), data, 0o600); err != nil {
				return err
			}
			clips = clips[:1]
		}
	}
	for _, c := range clips {
		if _, err := gen.Run(ctx, "ffmpeg", dir, "-nostdin", "-v", "error", "-y",
			"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%s:rate=30:duration=%d", c.size, c.secs),
			"-f", "lavfi", "-i", fmt.Sprintf("sine=frequency=440:duration=%d", c.secs),
			// 5 Mb/s: a phone's 1080p is 8 to 16, but x264 ultrafast on the
			// noisy test pattern would go over the 100 MB upload limit.
			"-c:v", "libx264", "-preset", "ultrafast", "-b:v", "5M", "-maxrate", "5M", "-bufsize", "10M",
			"-pix_fmt", pixfmt, "-c:a", "aac", "-b:a", "128k",
			"-shortest", "/w/"+c.name); err != nil {
			return fmt.Errorf("generate %s: %w", c.name, err)
		}
	}
	clip, err := os.ReadFile(filepath.Join(dir, "clip.mp4"))
	if err != nil {
		return err
	}
	if keep != "" {
		if _, err := os.Stat(keep); err != nil {
			if err := os.WriteFile(keep, clip, 0o600); err != nil {
				return err
			}
		}
	}
	warm, err := os.ReadFile(filepath.Join(dir, "warmup.mp4"))
	if err != nil {
		return err
	}
	fmt.Printf("video: %d s %s H.264 (%s) + AAC, %.1f MB, generated in %s\n", seconds, size, pixfmt, float64(len(clip))/1e6, time.Since(start).Round(time.Millisecond))

	if bin == "" {
		bin = filepath.Join(dir, "bridge")
		if err := e2e.Build(bin); err != nil {
			return err
		}
	}
	addr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	cfg := e2e.Config{Addr: addr, DSN: filepath.Join(dir, "data", "bridge.db"), LogLevel: "warn"}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := e2e.WriteConfig(cfgPath, cfg); err != nil {
		return err
	}
	proc, err := e2e.Start(bin, cfgPath, filepath.Join(dir, "bridge.log"), cfg.BaseURL())
	if err != nil {
		return err
	}
	defer proc.Stop(10 * time.Second)
	if err := proc.WaitHealthy(30 * time.Second); err != nil {
		return err
	}
	token, err := e2e.CreateToken(bin, cfgPath, nil)
	if err != nil {
		return err
	}
	b := &bench{base: cfg.BaseURL(), token: token, client: &http.Client{Timeout: 5 * time.Minute}, pid: proc.PID()}

	idle, err := b.latencies(2*time.Second, nil)
	if err != nil {
		return err
	}
	fmt.Printf("  API latency, idle:                 %s\n", summary(idle))

	w, err := b.process(warm)
	if err != nil {
		return fmt.Errorf("warm-up clip: %w", err)
	}
	fmt.Printf("  first video (1 s 320x240; ffmpeg compiled once per process, cache cold): wall %s, CPU %s, peak RSS %s\n",
		w.wall.Round(time.Millisecond), w.cpu.Round(time.Millisecond), mib(w.peakKB))

	res, err := b.process(clip)
	if err != nil {
		return err
	}
	fmt.Printf("  %d s %s (%s): wall %s, bridge CPU %s, RSS while processing up to %s (process peak %s), output %.1f MB\n",
		seconds, size, mode, res.wall.Round(time.Millisecond), res.cpu.Round(time.Millisecond), mib(res.maxRSSKB), mib(res.peakKB), float64(res.size)/1e6)
	fmt.Printf("  API latency, while it is processed: %s\n", summary(res.during))
	time.Sleep(3 * time.Second)
	if kb, err := e2e.ProcStatusKB(b.pid, "VmRSS:"); err == nil {
		fmt.Printf("  RSS 3 s after: %s\n", mib(kb))
	}
	return nil
}

type bench struct {
	base, token string
	client      *http.Client
	pid         int
	maxRSS      int64 // kB, sampled by latencies
}

type result struct {
	wall, cpu time.Duration
	peakKB    int64 // VmHWM: the process's peak so far
	maxRSSKB  int64 // the largest VmRSS sampled while the video was processed
	size      int64
	during    []time.Duration
}

// process uploads a clip and polls until it is ready, measuring the API
// in between.
func (b *bench) process(clip []byte) (result, error) {
	cpu0, err := e2e.PIDCPUTime(b.pid)
	if err != nil {
		return result{}, err
	}
	start := time.Now()
	id, err := b.upload(clip)
	if err != nil {
		return result{}, err
	}
	done := make(chan struct{})
	var (
		ready   map[string]any
		pollErr error
	)
	go func() {
		defer close(done)
		for {
			var m map[string]any
			code, err := b.get("/api/v1/media/"+id, &m)
			switch {
			case err != nil:
				pollErr = err
				return
			case code == http.StatusOK:
				ready = m
				return
			case code != http.StatusPartialContent:
				pollErr = fmt.Errorf("GET media: %d %v", code, m)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
	}()
	b.maxRSS = 0
	during, err := b.latencies(0, done)
	<-done
	wall := time.Since(start)
	if err == nil {
		err = pollErr
	}
	if err != nil {
		return result{}, err
	}
	cpu1, err := e2e.PIDCPUTime(b.pid)
	if err != nil {
		return result{}, err
	}
	peak, err := e2e.ProcStatusKB(b.pid, "VmHWM:")
	if err != nil {
		return result{}, err
	}
	var size int64
	if u, _ := ready["url"].(string); u != "" {
		if resp, err := b.client.Get(u); err == nil {
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			size = n
		}
	}
	return result{wall: wall, cpu: cpu1 - cpu0, peakKB: peak, maxRSSKB: b.maxRSS, size: size, during: during}, nil
}

func (b *bench) upload(clip []byte) (string, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "clip.mp4")
	if err != nil {
		return "", err
	}
	fw.Write(clip)
	mw.WriteField("description", "A test pattern with a tone")
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, b.base+"/api/v2/media", &body)
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusAccepted {
		return "", fmt.Errorf("upload: %d %v %v", resp.StatusCode, m, err)
	}
	id, _ := m["id"].(string)
	return id, nil
}

func (b *bench) get(path string, v any) (int, error) {
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	resp, err := b.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if v == nil {
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}
	return resp.StatusCode, json.NewDecoder(resp.Body).Decode(v)
}

// latencies times GET verify_credentials one after another, for d or
// until stop is closed.
func (b *bench) latencies(d time.Duration, stop <-chan struct{}) ([]time.Duration, error) {
	var out []time.Duration
	end := time.Now().Add(d)
	for {
		if stop != nil {
			select {
			case <-stop:
				return out, nil
			default:
			}
		} else if time.Now().After(end) {
			return out, nil
		}
		t0 := time.Now()
		code, err := b.get("/api/v1/accounts/verify_credentials", nil)
		if err != nil {
			return nil, err
		}
		if code != http.StatusOK {
			return nil, fmt.Errorf("verify_credentials: %d", code)
		}
		out = append(out, time.Since(t0))
		if kb, err := e2e.ProcStatusKB(b.pid, "VmRSS:"); err == nil {
			b.maxRSS = max(b.maxRSS, kb)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func summary(ds []time.Duration) string {
	if len(ds) == 0 {
		return "no request"
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	r := func(d time.Duration) string { return d.Round(10 * time.Microsecond).String() }
	return fmt.Sprintf("n=%d p50 %s p99 %s max %s", len(s), r(e2e.Percentile(s, 0.5)), r(e2e.Percentile(s, 0.99)), r(s[len(s)-1]))
}

func mib(kb int64) string { return fmt.Sprintf("%.0f MiB", float64(kb)/1024) }
