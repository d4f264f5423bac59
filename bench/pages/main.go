// Command pages measures the public pages of the real bridge binary under
// a link-preview storm, wrk-style: -c connections (64) kept alive, each
// sending GETs back to back for -d (10 s) per URL, on loopback. It
// measures, in one run, WebFinger (the reference: a small JSON document
// read from memory) and then the X exit notice /x/news, its card PNG, a
// post page and the account's RSS feed, and prints requests per second,
// p50, p99 and max latency, and the bridge's CPU time per request.
//
//	go run ./bench/pages
//	go run ./bench/pages -c 64 -d 10s
//
// The bridge runs with SQLite in a temporary directory and log.level warn;
// the posts are written with `bridge post` before it starts. Loopback
// only; every loop stops at its deadline. See bench/README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/e2e"
)

func main() {
	conns := flag.Int("c", 64, "connections, each sending one request after another")
	dur := flag.Duration("d", 10*time.Second, "duration per URL")
	posts := flag.Int("posts", 20, "posts written before the run")
	bin := flag.String("bridge", "", "bridge binary (empty: build ./cmd/bridge)")
	flag.Parse()
	if err := run(*conns, *dur, *posts, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench/pages:", err)
		os.Exit(1)
	}
}

func run(conns int, dur time.Duration, posts int, bin string) error {
	dir, err := os.MkdirTemp("", "passerelle-bench-pages-")
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
	addr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	cfg := e2e.Config{Addr: addr, DSN: filepath.Join(dir, "data", "bridge.db"), LogLevel: "warn"}
	yaml := cfg.YAML() + "    notice:\n      x_handle: \"@VilleDeTest\"\n      left_x_on: \"2025-01-20\"\n      bluesky_handle: \"villedetest.bsky.social\"\n"
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return err
	}
	img := filepath.Join(dir, "photo.png")
	if err := writePNG(img, 1200, 800); err != nil {
		return err
	}
	var postID string
	for i := range posts {
		args := []string{"--config", cfgPath, "post", "--account", "news", fmt.Sprintf("News number %d from the city hall #ville", i+1)}
		if i == posts-1 { // the measured post has an image
			args = append(args, "--image", img, "--alt", "The town hall at dusk")
		}
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("bridge post: %v: %s", err, out)
		}
		if m := regexp.MustCompile(`/@news/(\d+)`).FindSubmatch(out); m != nil {
			postID = string(m[1])
		}
	}
	proc, err := e2e.Start(bin, cfgPath, filepath.Join(dir, "bridge.log"), cfg.BaseURL())
	if err != nil {
		return err
	}
	defer proc.Stop(20 * time.Second)
	if err := proc.WaitHealthy(15 * time.Second); err != nil {
		return err
	}
	base := cfg.BaseURL()
	if postID == "" { // the CLI did not print the permalink: take the newest post from the feed
		body, err := fetch(http.DefaultClient, base+"/@news.rss")
		if err != nil {
			return err
		}
		m := regexp.MustCompile(`/@news/(\d+)</link>`).FindStringSubmatch(body)
		if m == nil {
			return errors.New("no post in the feed")
		}
		postID = m[1]
	}
	targets := []struct{ name, path string }{
		{"WebFinger (reference)", "/.well-known/webfinger?resource=acct:news@" + addr},
		{"notice /x/news", "/x/news"},
		{"card /x/news/card.png", "/x/news/card.png"},
		{"post /@news/" + postID, "/@news/" + postID},
		{"RSS /@news.rss", "/@news.rss"},
	}
	fmt.Printf("%d connections, %v per URL, %d posts; bridge and load generator share %d CPUs on loopback\n", conns, dur, posts, runtime.NumCPU())
	fmt.Printf("%-28s %10s %9s %9s %9s %9s %12s\n", "URL", "req/s", "p50", "p99", "max", "errors", "CPU/request")
	var ref float64
	for i, tg := range targets {
		res, err := load(base+tg.path, conns, dur, proc)
		if err != nil {
			return fmt.Errorf("%s: %w", tg.name, err)
		}
		vs := ""
		if i == 0 {
			ref = res.rate
		} else if ref > 0 {
			vs = fmt.Sprintf("  (%.0f%% of WebFinger)", 100*res.rate/ref)
		}
		fmt.Printf("%-28s %10.0f %9v %9v %9v %9d %12v%s\n", tg.name, res.rate, res.p50, res.p99, res.max, res.errors, res.cpu, vs)
	}
	return nil
}

type result struct {
	rate          float64
	p50, p99, max time.Duration
	errors        int
	cpu           time.Duration
}

// load sends GETs to u from conns workers, each on its own kept-alive
// connection, for dur after a one-second warm-up, and reports the rate
// and the latencies of the 200 answers.
func load(u string, conns int, dur time.Duration, proc *e2e.Process) (result, error) {
	tr := &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	if _, err := fetch(client, u); err != nil { // the first request builds the page
		return result{}, err
	}
	warm := time.Now().Add(time.Second)
	end := warm.Add(dur)
	lat := make([][]time.Duration, conns)
	errs := make([]int, conns)
	var (
		wg       sync.WaitGroup
		cpuStart time.Duration
		once     sync.Once
	)
	ctx, cancel := context.WithDeadline(context.Background(), end.Add(5*time.Second))
	defer cancel()
	for w := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]time.Duration, 0, 1<<16)
			for {
				start := time.Now()
				if start.After(end) {
					break
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
				req.Header.Set("Accept", "*/*")
				resp, err := client.Do(req)
				ok := err == nil && resp.StatusCode == http.StatusOK
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				d := time.Since(start)
				if start.Before(warm) {
					continue
				}
				once.Do(func() { cpuStart, _ = proc.CPUTime() })
				if !ok {
					errs[w]++
					continue
				}
				buf = append(buf, d)
			}
			lat[w] = buf
		}()
	}
	wg.Wait()
	cpuEnd, _ := proc.CPUTime()
	var all []time.Duration
	nerr := 0
	for w := range conns {
		all = append(all, lat[w]...)
		nerr += errs[w]
	}
	if len(all) == 0 {
		return result{}, fmt.Errorf("no successful request (%d errors)", nerr)
	}
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		return all[min(len(all)-1, int(float64(len(all))*p))].Round(10 * time.Microsecond)
	}
	return result{
		rate: float64(len(all)) / dur.Seconds(),
		p50:  pct(0.50), p99: pct(0.99), max: all[len(all)-1].Round(10 * time.Microsecond),
		errors: nerr,
		cpu:    ((cpuEnd - cpuStart) / time.Duration(len(all)+nerr)).Round(time.Microsecond),
	}, nil
}

func fetch(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: %d %s", u, resp.StatusCode, strings.TrimSpace(string(b[:min(len(b), 200)])))
	}
	return string(b), nil
}

func writePNG(path string, w, h int) error {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 140, 255})
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
