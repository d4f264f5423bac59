// Command raid measures the real bridge binary under a harassment raid:
// 20,000 signed mentions of @news from 400 simulated accounts (on several
// loopback servers, all unknown to the bridge when the raid starts) fired
// with high concurrency, while the institution publishes one post to 100
// followers (one per simulated server, each verifying our signature with
// fedtest's independent verifier). Every mention is signed before the
// clock starts, in parallel.
//
// It reports the mentions absorbed per second (answered 202) and those
// refused (429 with Retry-After: the rate limits), the p50/p99 latency of
// GET /users/news (AS2) polled every 10 ms during the raid, the time for
// the post to reach every follower, the bridge's peak RSS (VmHWM), and
// checks afterwards that no follower was lost, the post reached all of
// them, and the bridge did not crash (it stops cleanly).
//
//	go run ./bench/raid                       # limits raised: every mention is absorbed
//	go run ./bench/raid -defaults             # the shipped inbox limits: most of the flood gets 429
//	go run ./bench/raid -driver postgres -dsn postgres://postgres@127.0.0.1:5432/test?sslmode=disable
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
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/e2e"
	"github.com/passerelle/passerelle/federation/fedtest"
)

type options struct {
	bridge, driver, dsn, logLevel, logCopy       string
	cpuprofile                                   string
	accounts, perAccount, raidServers, followers int
	pushSubs                                     int
	concurrency, keys                            int
	perDomain, perActor, keyFetches              string
	keyConcurrency                               int
	defaults                                     bool
	postAfter, probeEvery, timeout               time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.bridge, "bridge", "", "bridge binary (empty: build ./cmd/bridge into a temporary directory)")
	flag.IntVar(&o.accounts, "accounts", 400, "raiding accounts")
	flag.IntVar(&o.perAccount, "mentions", 50, "mentions sent by each raiding account")
	flag.IntVar(&o.raidServers, "raid-servers", 8, "servers the raiding accounts are spread over")
	flag.IntVar(&o.followers, "followers", 100, "followers of @news, one per simulated server")
	flag.IntVar(&o.pushSubs, "push", 10, "Web Push subscriptions of @news (mention alerts) on a loopback push service; 0: none")
	flag.IntVar(&o.concurrency, "concurrency", 128, "mentions in flight at once")
	flag.IntVar(&o.keys, "keys", 8, "RSA keys shared by the simulated accounts")
	flag.BoolVar(&o.defaults, "defaults", false, "keep the bridge's default inbox limits (the flags below are ignored)")
	flag.StringVar(&o.perDomain, "per-domain", "1000000/min", "federation.inbox_limits.per_domain")
	flag.StringVar(&o.perActor, "per-actor", "100000/min", "federation.inbox_limits.per_actor")
	flag.StringVar(&o.keyFetches, "key-fetches", "100000/min", "federation.inbox_limits.key_fetches")
	flag.IntVar(&o.keyConcurrency, "key-concurrency", 64, "federation.inbox_limits.key_fetch_concurrency")
	flag.DurationVar(&o.postAfter, "post-after", time.Second, "publish the post this long after the raid starts")
	flag.DurationVar(&o.probeEvery, "probe-every", 10*time.Millisecond, "interval of the actor GETs")
	flag.StringVar(&o.driver, "driver", "sqlite", "storage driver: sqlite or postgres")
	flag.StringVar(&o.dsn, "dsn", "", "postgres: database URL (a fresh schema is created in it and dropped after)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "bridge log level")
	flag.StringVar(&o.logCopy, "log", "", "copy the bridge's log to this file at the end")
	flag.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the bridge during the first 10 s of the raid to this file (builds with -tags pprof)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "raid:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if o.accounts < 1 || o.perAccount < 1 || o.raidServers < 1 || o.raidServers > 200 || o.followers < 1 || o.followers > 250 {
		return errors.New("-accounts, -mentions, -followers must be positive; -raid-servers at most 200, -followers at most 250")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "passerelle-raid-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := e2e.BridgeBinary(o.bridge, dir, o.cpuprofile != "")
	if err != nil {
		return err
	}

	// The remote side: raid servers on 127.0.0.2..., follower servers on
	// 127.0.1.1...
	start := time.Now()
	keys, err := fedtest.NewKeys(o.keys)
	if err != nil {
		return err
	}
	var raiders []*fedtest.Server
	per := (o.accounts + o.raidServers - 1) / o.raidServers
	for i, left := 0, o.accounts; left > 0; i++ {
		n := min(per, left)
		s, err := fedtest.New(fmt.Sprintf("127.0.0.%d:0", 2+i), n, fedtest.Options{Keys: keys})
		if err != nil {
			return err
		}
		defer s.Close()
		raiders = append(raiders, s)
		left -= n
	}
	followers := make([]*fedtest.Server, o.followers)
	for i := range followers {
		s, err := fedtest.New(fmt.Sprintf("127.0.1.%d:0", 1+i), 1, fedtest.Options{Keys: keys})
		if err != nil {
			return err
		}
		defer s.Close()
		followers[i] = s
	}
	fmt.Printf("%d raiding accounts on %d servers (127.0.0.x), %d followers on %d servers (127.0.1.x); ready in %v\n",
		o.accounts, len(raiders), o.followers, len(followers), time.Since(start).Round(time.Millisecond))

	addr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	cfg := e2e.Config{Addr: addr, Driver: o.driver, LogLevel: o.logLevel, KeepInboxLimits: true} // limits set below
	dsn, drop, err := e2e.StorageDSN(o.driver, o.dsn, filepath.Join(dir, "data", "bridge.db"))
	if err != nil {
		return err
	}
	defer drop()
	cfg.DSN = dsn
	yaml := cfg.YAML()
	limits := "defaults (per_domain 600/min, per_actor 60/min, key_fetches 60/min, key_fetch_concurrency 4)"
	if !o.defaults {
		extra := fmt.Sprintf("  inbox_limits:\n    per_domain: %q\n    per_actor: %q\n    key_fetches: %q\n    key_fetch_concurrency: %d\n",
			o.perDomain, o.perActor, o.keyFetches, o.keyConcurrency)
		yaml = strings.Replace(yaml, "federation:\n", "federation:\n"+extra, 1)
		limits = fmt.Sprintf("per_domain %s, per_actor %s, key_fetches %s, key_fetch_concurrency %d", o.perDomain, o.perActor, o.keyFetches, o.keyConcurrency)
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		return err
	}
	pub, err := e2e.NewPublisher(ctx, cfgPath)
	if err != nil {
		return err
	}
	defer pub.Close()
	fs := make([]e2e.Follower, len(followers))
	for i, s := range followers {
		fs[i] = e2e.Follower{ActorID: s.ActorID(0), Inbox: s.InboxURL(0), SharedInbox: s.SharedInboxURL()}
	}
	if err := pub.InsertFollowers(ctx, "news", fs); err != nil {
		return err
	}
	pushes, err := startPushService(ctx, pub, o.pushSubs)
	if err != nil {
		return err
	}
	defer pushes.Close()

	logPath := filepath.Join(dir, "bridge.log")
	proc, pprofAddr, err := e2e.StartProfiled(bin, cfgPath, logPath, cfg.BaseURL(), o.cpuprofile != "")
	if err != nil {
		return err
	}
	defer proc.Kill()
	if o.logCopy != "" {
		defer proc.CopyLog(o.logCopy)
	}
	fail := func(err error) error {
		proc.WriteLogTail(os.Stderr, 8<<10)
		return err
	}
	if err := proc.WaitHealthy(30 * time.Second); err != nil {
		return fail(err)
	}
	fmt.Printf("bridge pid %d on %s, storage %s, log level %s; inbox limits: %s\n", proc.PID(), cfg.BaseURL(), o.driver, o.logLevel, limits)

	// Sign every mention before the clock starts. Each account's mentions
	// are spread over the raid: the first 400 requests come from 400
	// accounts the bridge has never seen.
	actor := cfg.ActorID("news")
	inbox := cfg.BaseURL() + "/inbox"
	type sender struct {
		s *fedtest.Server
		i int
	}
	var senders []sender
	for _, s := range raiders {
		for i := range s.NumActors() {
			senders = append(senders, sender{s, i})
		}
	}
	total := o.accounts * o.perAccount
	reqs := make([]*http.Request, total)
	start = time.Now()
	signedAt := time.Now()
	var signErr atomic.Value
	var wg sync.WaitGroup
	next := atomic.Int64{}
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for {
				k := int(next.Add(1) - 1)
				if k >= total {
					return
				}
				sd := senders[k%len(senders)]
				r, err := signedMention(sd.s, sd.i, k/len(senders), inbox, actor, signedAt)
				if err != nil {
					signErr.Store(err)
					return
				}
				reqs[k] = r
			}
		})
	}
	wg.Wait()
	if err, _ := signErr.Load().(error); err != nil {
		return fail(err)
	}
	fmt.Printf("%d mentions signed in %v (%d accounts × %d)\n", total, time.Since(start).Round(time.Millisecond), o.accounts, o.perAccount)

	// Probes: the actor document every 10 ms, the bridge's memory every
	// 50 ms.
	stopProbe := make(chan struct{})
	var probed sync.WaitGroup
	var (
		probeMu  sync.Mutex
		probeLat []time.Duration
		probeBad int
	)
	probed.Go(func() {
		c := e2e.Client(1)
		t := time.NewTicker(o.probeEvery)
		defer t.Stop()
		for {
			select {
			case <-stopProbe:
				return
			case <-t.C:
			}
			req, _ := http.NewRequest(http.MethodGet, actor, nil)
			req.Header.Set("Accept", "application/activity+json")
			t0 := time.Now()
			resp, err := c.Do(req)
			d := time.Since(t0)
			ok := err == nil && resp.StatusCode == http.StatusOK
			if err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			probeMu.Lock()
			probeLat = append(probeLat, d)
			if !ok {
				probeBad++
			}
			probeMu.Unlock()
		}
	})
	var peakPolled atomic.Int64
	probed.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if m, err := proc.Memory(); err == nil && m.RSS > peakPolled.Load() {
				peakPolled.Store(m.RSS)
			}
			select {
			case <-stopProbe:
				return
			case <-t.C:
			}
		}
	})

	// The raid.
	cpu0, _ := proc.CPUTime()
	var (
		codes   sync.Map // status -> *atomic.Int64
		errsN   atomic.Int64
		firstEr atomic.Value
		lats    = make([][]time.Duration, o.concurrency)
	)
	count := func(code int) {
		v, _ := codes.LoadOrStore(code, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	client := e2e.Client(o.concurrency)
	profDone := make(chan error, 1)
	if o.cpuprofile != "" {
		go func() { profDone <- e2e.CPUProfile(pprofAddr, o.cpuprofile, 10) }()
	} else {
		profDone <- nil
	}
	raidStart := time.Now()
	raidDone := make(chan time.Duration, 1)
	go func() {
		var rw sync.WaitGroup
		next := atomic.Int64{}
		for w := range o.concurrency {
			rw.Go(func() {
				for {
					k := int(next.Add(1) - 1)
					if k >= total {
						return
					}
					t0 := time.Now()
					resp, err := client.Do(reqs[k])
					lats[w] = append(lats[w], time.Since(t0))
					reqs[k] = nil
					if err != nil {
						errsN.Add(1)
						firstEr.CompareAndSwap(nil, err.Error())
						continue
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					count(resp.StatusCode)
				}
			})
		}
		rw.Wait()
		raidDone <- time.Since(raidStart)
	}()

	// The post, during the raid.
	time.Sleep(o.postAfter)
	t0 := time.Now()
	id, err := pub.Post(ctx, "news", "Information: road works on the main street from Monday. #passerelle")
	if err != nil {
		return fail(err)
	}
	noteID := pub.NoteID("news", id)
	reached := make([]time.Duration, len(followers))
	var fw sync.WaitGroup
	var missing atomic.Int64
	deadline := time.Now().Add(o.timeout)
	for i, s := range followers {
		fw.Go(func() {
			for time.Now().Before(deadline) {
				n := s.Count()
				if verifiedCreate(s, noteID) > 0 {
					reached[i] = time.Since(t0)
					return
				}
				s.WaitFor(n+1, 100*time.Millisecond)
			}
			missing.Add(1)
		})
	}
	fw.Wait()
	fanout := time.Since(t0)
	var raidTook time.Duration
	select {
	case raidTook = <-raidDone:
	case <-time.After(time.Until(deadline)):
		close(stopProbe)
		return fail(errors.New("the raid did not finish in time"))
	}
	cpu1, _ := proc.CPUTime()
	if err := <-profDone; err != nil {
		fmt.Fprintln(os.Stderr, "raid: cpu profile:", err)
	}
	close(stopProbe)
	probed.Wait()
	mem, _ := proc.Memory()
	hwm, _ := e2e.ProcStatusKB(proc.PID(), "VmHWM:")

	// The pushes: wait until the queue is drained (the push jobs of the
	// last mentions), then count.
	drainStart := time.Now()
	for time.Now().Before(deadline) {
		st, err := pub.Store.JobStats(ctx, time.Now())
		if err == nil && st.Pending == 0 && st.Running == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	drained := time.Since(drainStart)

	// Checks.
	crashed := proc.Exited()
	nFollowers, err := pub.Store.CountFollowers(ctx, "news", "accepted")
	if err != nil {
		return fail(err)
	}
	dups := 0
	for _, s := range followers {
		if n := verifiedCreate(s, noteID); n > 1 {
			dups += n - 1
		}
	}
	keyFetches := 0
	for _, s := range raiders {
		keyFetches += len(s.Fetches())
	}

	accepted, limited := codeCount(&codes, 202), codeCount(&codes, 429)
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	slices.Sort(all)
	slices.Sort(probeLat)
	slices.Sort(reached)
	pct := func(sorted []time.Duration, p float64) time.Duration {
		return e2e.Percentile(sorted, p).Round(100 * time.Microsecond)
	}
	fmt.Printf("\nraid: %d signed mentions from %d accounts on %d servers, concurrency %d, while publishing to %d followers; storage %s\n",
		total, o.accounts, len(raiders), o.concurrency, o.followers, o.driver)
	fmt.Printf("  inbox limits:             %s\n", limits)
	fmt.Printf("  raid took:                %.2f s (%.0f requests/s answered)\n", raidTook.Seconds(), float64(total)/raidTook.Seconds())
	fmt.Printf("  answers:                  %s; transport errors %d%s\n", codeSummary(&codes), errsN.Load(), firstErr(&firstEr))
	fmt.Printf("  mentions absorbed (202):  %d, %.0f/s\n", accepted, float64(accepted)/raidTook.Seconds())
	fmt.Printf("  rejected (429):           %d, %.0f/s (Retry-After sent)\n", limited, float64(limited)/raidTook.Seconds())
	fmt.Printf("  inbox latency:            p50 %v  p90 %v  p99 %v  max %v\n", pct(all, 0.5), pct(all, 0.9), pct(all, 0.99), pct(all, 1))
	fmt.Printf("  key fetches by the bridge: %d (for %d unknown accounts)\n", keyFetches, o.accounts)
	fmt.Printf("  actor GET during the raid: %d probes every %v, p50 %v  p99 %v  max %v, %d not 200 (goal p99 <= 250 ms)\n",
		len(probeLat), o.probeEvery, pct(probeLat, 0.5), pct(probeLat, 0.99), pct(probeLat, 1), probeBad)
	fmt.Printf("  post to all followers:    %.2f s (%d of %d reached; first %v, p50 %v; published %v after the raid started) (goal <= 5 s)\n",
		fanout.Seconds(), len(followers)-int(missing.Load()), len(followers), pct(reached, 0), pct(reached, 0.5), o.postAfter)
	fmt.Printf("  bridge peak RSS:          %.1f MiB (VmHWM; VmRSS polled every 50 ms peaked at %.1f MiB; now %s) (goal <= 200 MB)\n",
		float64(hwm)/1024, float64(peakPolled.Load())/1024, mem)
	fmt.Printf("  bridge CPU during the raid: %v (%v per request); %d CPUs\n", (cpu1 - cpu0).Round(10*time.Millisecond),
		((cpu1 - cpu0) / time.Duration(total)).Round(time.Microsecond), runtime.NumCPU())
	if o.pushSubs > 0 {
		raidPushes, mentionPushes, maxRaid := pushes.Counts()
		fmt.Printf("  Web Push:                 %d subscriptions: %d raid pushes (at most %d per subscription; goal 1), %d single mention pushes before the raid was seen; queue drained %.1f s after the raid\n",
			o.pushSubs, raidPushes, maxRaid, mentionPushes, drained.Seconds())
	}
	fmt.Printf("  afterwards: followers %d of %d, post delivered %d of %d (duplicates %d), bridge crashed: %v\n",
		nFollowers, o.followers, len(followers)-int(missing.Load()), len(followers), dups, crashed)

	code, err := proc.Stop(30 * time.Second)
	if err != nil || code != 0 {
		return fail(fmt.Errorf("bridge stop: exit %d, %v", code, err))
	}
	_, _, maxRaid := pushes.Counts()
	if crashed || nFollowers != int64(o.followers) || missing.Load() > 0 || dups > 0 || maxRaid > 1 {
		return fail(errors.New("the run was not clean (see above)"))
	}
	return nil
}

// signedMention builds a POST of a Create of a Note by actor i of s,
// mentioning @news, signed at `at`.
func signedMention(s *fedtest.Server, i, n int, inbox, target string, at time.Time) (*http.Request, error) {
	author := s.ActorID(i)
	note := fmt.Sprintf("%s/statuses/raid-%d", author, n)
	body, err := json.Marshal(map[string]any{
		"@context": "https://www.w3.org/ns/activitystreams",
		"id":       note + "/activity",
		"type":     "Create",
		"actor":    author,
		"to":       []string{target},
		"object": map[string]any{
			"id": note, "type": "Note", "attributedTo": author, "to": []string{target},
			"published": at.UTC().Format(time.RFC3339),
			"content":   fmt.Sprintf(`<p><span class="h-card"><a href="%s" class="u-url mention">@news</a></span> you will regret this (%d)</p>`, target, n),
			"tag":       []any{map[string]any{"type": "Mention", "href": target, "name": "@news"}},
		},
	})
	if err != nil {
		return nil, err
	}
	r, err := http.NewRequest(http.MethodPost, inbox, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	r.Header.Set("Content-Type", fedtest.ContentTypeAS2)
	return r, s.Sign(i, r, body, at)
}

// verifiedCreate counts the verified Creates of noteID s received.
func verifiedCreate(s *fedtest.Server, noteID string) int {
	n := 0
	for _, d := range s.Received() {
		if !d.Verified || d.Activity["type"] != "Create" {
			continue
		}
		if obj, ok := d.Activity["object"].(map[string]any); ok && obj["id"] == noteID {
			n++
		}
	}
	return n
}

func codeCount(codes *sync.Map, code int) int64 {
	if v, ok := codes.Load(code); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

func codeSummary(codes *sync.Map) string {
	var keys []int
	codes.Range(func(k, _ any) bool { keys = append(keys, k.(int)); return true })
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d × %d", codeCount(codes, k), k))
	}
	return strings.Join(parts, ", ")
}

func firstErr(v *atomic.Value) string {
	if s, ok := v.Load().(string); ok {
		return " (first: " + s + ")"
	}
	return ""
}
