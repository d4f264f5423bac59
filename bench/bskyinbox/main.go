// Command bskyinbox measures how long a Bluesky reply takes to become a
// notification in the Mastodon apps (issue 16): the real bridge binary
// mirrors an account to the reference PDS, with the reference AppView
// behind it (on PostgreSQL); a second Bluesky account replies N times to
// the mirrored post, and each reply's latency is the time from its
// com.atproto.repo.createRecord until GET /api/v1/notifications lists it.
// The AppView's own delay (until app.bsky.notification.listNotifications
// through the PDS lists the reply) is measured alongside, so that what
// the bridge adds (its poll interval) shows.
//
// Before each reply the benchmark waits a random time within the poll
// interval, so that replies fall at any point of the bridge's polling
// cycle, as a citizen's do. The bridge polls at -interval (the default of
// accounts[].bluesky.poll_interval unless set); after a notification it
// polls three times as often for a while, as it does in production.
//
//	(cd e2e/pds && npm_config_nodedir=/usr npm ci)
//	BRIDGE_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/test?sslmode=disable go run ./bench/bskyinbox -n 20
//
// Everything runs on loopback. See bench/README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/e2e"
)

func main() {
	n := flag.Int("n", 20, "replies")
	interval := flag.Duration("interval", time.Duration(config.DefaultBlueskyPollInterval), "accounts[].bluesky.poll_interval")
	pg := flag.String("postgres", os.Getenv(pdstest.PostgresEnv), "PostgreSQL URL for the AppView (default $"+pdstest.PostgresEnv+")")
	bridge := flag.String("bridge", "", "bridge binary (empty: build ./cmd/bridge)")
	logLevel := flag.String("log", "info", "the bridge's log level (its log's end is printed if a reply is never notified)")
	flag.Parse()
	if err := run(*n, *interval, *pg, *bridge, *logLevel); err != nil {
		fmt.Fprintln(os.Stderr, "bench/bskyinbox:", err)
		os.Exit(1)
	}
}

func run(n int, interval time.Duration, pg, bin, logLevel string) error {
	if pg == "" {
		return fmt.Errorf("the AppView needs PostgreSQL: set -postgres or $%s", pdstest.PostgresEnv)
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "passerelle-bench-bskyinbox-")
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
	pds, err := pdstest.Start(pdstest.Options{AppView: true, AppViewPostgresURL: pg})
	if err != nil {
		return err
	}
	defer pds.Close()
	city, err := pds.CreateAccount(ctx, "benchcity.test")
	if err != nil {
		return err
	}
	alice, err := pds.CreateAccount(ctx, "benchalice.test")
	if err != nil {
		return err
	}
	addr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	cfg := e2e.BlueskyConfig{
		Config:     e2e.Config{Addr: addr, DSN: filepath.Join(dir, "data", "bridge.db"), LogLevel: logLevel},
		PDSURL:     pds.URL,
		Identifier: city.Handle,
		Handle:     "city.example",
		Extra:      "poll_interval: " + interval.String(),
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.YAML()), 0o600); err != nil {
		return err
	}
	env := []string{"BSKY_APP_PASSWORD=" + city.AppPassword}
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

	id, err := api.PostStatus(ctx, map[string]any{"status": "Consultation sur le nouveau parc : vos questions"})
	if err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	bd, err := api.WaitBluesky(wctx, id, "mirrored", 100*time.Millisecond)
	cancel()
	if err != nil {
		return err
	}
	rkey := bd.URIs[0][strings.LastIndexByte(bd.URIs[0], '/')+1:]
	rec, err := pds.GetRecord(ctx, city.DID, "app.bsky.feed.post", rkey)
	if err != nil {
		return err
	}
	ref := map[string]string{"uri": rec.URI, "cid": rec.CID}

	fmt.Printf("%d Bluesky replies to a mirrored post; poll_interval %v; each after a random wait within the interval\n", n, interval)
	var ours, appview []time.Duration
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	c0, _ := proc.CPUTime()
	begin := time.Now()
	for i := range n {
		time.Sleep(time.Duration(rnd.Int64N(int64(interval))))
		text := fmt.Sprintf("Question %d : le parc sera-t-il ouvert le soir ?", i)
		start := time.Now()
		if _, err := pds.CreateRecord(ctx, alice, "app.bsky.feed.post", map[string]any{"$type": "app.bsky.feed.post",
			"text": text, "createdAt": pdstest.Now(), "reply": map[string]any{"root": ref, "parent": ref}}); err != nil {
			return err
		}
		a, b, err := waitReply(ctx, api, pds, city, text, start, 10*interval+2*time.Minute)
		if err != nil {
			if log, rerr := os.ReadFile(filepath.Join(dir, "bridge.log")); rerr == nil {
				fmt.Fprintf(os.Stderr, "bridge log (end):\n%s\n", log[max(0, len(log)-16<<10):])
			}
			return err
		}
		appview, ours = append(appview, a), append(ours, b)
		fmt.Printf("  reply %d: AppView %v, notification %v\n", i, a.Round(time.Millisecond), b.Round(time.Millisecond))
	}
	c1, _ := proc.CPUTime()
	fmt.Printf("AppView lists the reply (listNotifications via the PDS): %s\n", summary(appview))
	fmt.Printf("reply -> notification in the Mastodon API:                 %s\n", summary(ours))
	fmt.Printf("bridge CPU over the run (%v, polling included): %v\n", time.Since(begin).Round(time.Second), (c1 - c0).Round(time.Millisecond))
	return nil
}

// waitReply waits until the AppView, then the bridge's client API, list
// the reply whose text is text, and returns both delays since start.
func waitReply(ctx context.Context, api e2e.API, pds *pdstest.Server, city pdstest.Account, text string, start time.Time, limit time.Duration) (time.Duration, time.Duration, error) {
	var appview, ours time.Duration
	for deadline := start.Add(limit); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if appview == 0 {
			var out struct {
				Notifications []appviewNotification `json:"notifications"`
			}
			if err := pds.XRPC(ctx, http.MethodGet, "app.bsky.notification.listNotifications", city.AccessJWT, url.Values{"limit": {"10"}}, nil, &out); err != nil {
				return 0, 0, err
			}
			if slices.ContainsFunc(out.Notifications, func(n appviewNotification) bool { return n.Record.Text == text }) {
				appview = time.Since(start)
			}
		}
		notes, err := api.Notifications(ctx, "mention")
		if err != nil {
			return 0, 0, err
		}
		// The notification's HTML escapes the text's apostrophes; its
		// number is enough.
		prefix := text[:strings.Index(text, " :")]
		if slices.ContainsFunc(notes, func(n e2e.Notification) bool {
			return n.Status != nil && strings.Contains(n.Status.Content, prefix+" ")
		}) {
			ours = time.Since(start)
			if appview == 0 {
				appview = ours
			}
			return appview, ours, nil
		}
	}
	return 0, 0, fmt.Errorf("reply %q not notified after %v", text, limit)
}

// appviewNotification is the part of the AppView's notification read here.
type appviewNotification struct {
	Record struct {
		Text string `json:"text"`
	} `json:"record"`
}

func summary(d []time.Duration) string {
	s := slices.Clone(d)
	slices.Sort(s)
	pct := func(p float64) time.Duration { return s[min(len(s)-1, int(float64(len(s))*p))].Round(time.Millisecond) }
	return fmt.Sprintf("p50 %v  p90 %v  p99 %v  max %v", pct(0.5), pct(0.9), pct(0.99), s[len(s)-1].Round(time.Millisecond))
}
