// Command fanout measures the delivery of one post by the real bridge
// binary to N servers (default 10,000) simulated on loopback: 20 ms of
// latency each, 5% gone dark (they accept the connection and never
// answer), 3% failing once (500, then 202). Each server has one follower
// of @news, inserted in the database before the bridge starts. The post is
// published through the Mastodon API (POST /api/v1/statuses, as the comms
// team's apps do); the clock runs from the publication until every live
// server (all but the dark ones) has received a Create whose signature it
// verified independently.
//
// Every delivery needs one RSA-2048 signature, so the ceiling is this
// machine's signing rate, measured in the same run (crypto/rsa on every
// core, before and after the fan-out). It prints the fan-out time, the
// deliveries per second and their ratio to the ceiling, delivery latency
// percentiles and the peak RSS of the bridge.
//
//	go run ./bench/fanout                 # 10,000 servers, SQLite
//	go run ./bench/fanout -n 2000
//	go run ./bench/fanout -driver postgres -dsn postgres://postgres@127.0.0.1:5432/test?sslmode=disable
//	go run ./bench/fanout -driver sqlite,postgres -dsn ...   # both, and PostgreSQL's throughput at equal CPU
//	go run ./bench/fanout -driver postgres -replicas 1,2,3 -dsn ...   # replicas on one PostgreSQL
//
// Everything runs on loopback. See bench/README.md.
package main

import (
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/passerelle/passerelle/e2e"
	"github.com/passerelle/passerelle/federation/fedtest"
)

type options struct {
	bridge, driver, dsn, logLevel, cpuprofile string
	replicas                                  int
	logCopy, selfprofile, heapprofile         string
	n, workers                                int
	latency, signFor, timeout                 time.Duration
	dark, failing                             float64
	seed                                      uint64
	ed25519                                   bool
}

func main() {
	var o options
	flag.StringVar(&o.bridge, "bridge", "", "bridge binary (empty: build ./cmd/bridge into a temporary directory)")
	flag.IntVar(&o.n, "n", 10000, "simulated servers (one follower each)")
	flag.DurationVar(&o.latency, "latency", 20*time.Millisecond, "latency of every inbox answer")
	flag.Float64Var(&o.dark, "dark", 0.05, "fraction of servers gone dark (accept, never answer)")
	flag.Float64Var(&o.failing, "failing", 0.03, "fraction of servers answering 500 once, then 202")
	flag.Uint64Var(&o.seed, "seed", 1, "layout of the dark and failing servers")
	drivers := flag.String("driver", "sqlite", "storage driver: sqlite or postgres, or several separated by commas (run one after the other, then compared)")
	replicas := flag.String("replicas", "1", "bridge serve processes sharing the database (postgres only above 1), or several counts separated by commas (run one after the other, then compared)")
	flag.StringVar(&o.dsn, "dsn", "", "postgres: database URL (a fresh schema is created in it and dropped after)")
	flag.IntVar(&o.workers, "workers", 0, "federation.delivery_workers (0: the bridge's default)")
	flag.StringVar(&o.logLevel, "log-level", "warn", "bridge log level")
	flag.DurationVar(&o.signFor, "sign-for", 3*time.Second, "duration of each measurement of the signing rate")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up waiting for the fan-out after this long")
	flag.StringVar(&o.heapprofile, "heapprofile", "", "write a heap profile of the bridge, taken when half of the live servers have the post, to this file (builds with -tags pprof)")
	flag.StringVar(&o.selfprofile, "selfprofile", "", "write a CPU profile of this program (the simulated servers) during the fan-out to this file")
	flag.StringVar(&o.logCopy, "log", "", "copy the bridge's log to this file at the end")
	flag.BoolVar(&o.ed25519, "ed25519", false, "the servers verify RFC 9421 Ed25519 signatures, and the bridge knows it (hosts.ed25519 set before it starts, as if learnt): it signs them with its Ed25519 key")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the bridge during the fan-out to this file (builds with -tags pprof)")
	flag.Parse()
	var results []result
	for _, d := range strings.Split(*drivers, ",") {
		for _, r := range strings.Split(*replicas, ",") {
			o := o
			o.driver = strings.TrimSpace(d)
			n, err := strconv.Atoi(strings.TrimSpace(r))
			if err != nil || n < 1 {
				fmt.Fprintf(os.Stderr, "fanout: -replicas %q: want positive counts separated by commas\n", *replicas)
				os.Exit(2)
			}
			o.replicas = n
			if n > 1 && o.driver != "postgres" {
				fmt.Printf("(no run of %s with %d replicas: replicas share one PostgreSQL database)\n", o.driver, n)
				continue
			}
			res, err := run(o)
			if err != nil {
				fmt.Fprintln(os.Stderr, "fanout:", err)
				os.Exit(1)
			}
			results = append(results, res)
		}
	}
	compare(results)
}

// result is what one run measured, for the comparison of several.
type result struct {
	driver           string
	replicas, live   int
	bridgeCPU, dbCPU time.Duration
	elapsed, sigCPU  time.Duration
}

// perCPUSecond is the live servers reached per second of CPU spent by the
// bridge processes and, for PostgreSQL, its server.
func (r result) perCPUSecond() float64 { return float64(r.live) / (r.bridgeCPU + r.dbCPU).Seconds() }

// compare prints, after several runs, PostgreSQL's throughput at equal CPU
// relative to SQLite's (issue 20, goal 5: >= 0.7) and the CPU per delivery
// as replicas are added (goal 6: flat).
func compare(rs []result) {
	if len(rs) < 2 {
		return
	}
	fmt.Printf("\ncomparison of the %d runs (CPU per live server reached: the bridge processes + the PostgreSQL server; in RSA-2048 signatures of each run):\n", len(rs))
	var sqlite *result
	for i, r := range rs {
		fmt.Printf("  %-8s replicas=%d: %v per live server (bridge %v + database %v) = %.2f signatures; %.0f live servers per CPU-second; all reached in %.2f s\n",
			r.driver, r.replicas, ((r.bridgeCPU + r.dbCPU) / time.Duration(r.live)).Round(time.Microsecond),
			(r.bridgeCPU / time.Duration(r.live)).Round(time.Microsecond), (r.dbCPU / time.Duration(r.live)).Round(time.Microsecond),
			(r.bridgeCPU+r.dbCPU).Seconds()/float64(r.live)/r.sigCPU.Seconds(), r.perCPUSecond(), r.elapsed.Seconds())
		if r.driver == "sqlite" && sqlite == nil {
			sqlite = &rs[i]
		}
	}
	if sqlite == nil {
		return
	}
	for _, r := range rs {
		if r.driver == "postgres" {
			// Normalised by each run's signature cost, so that a change of
			// the machine's speed between the runs does not count.
			norm := func(r result) float64 { return r.perCPUSecond() * r.sigCPU.Seconds() }
			fmt.Printf("  PostgreSQL (replicas=%d) / SQLite throughput at equal CPU: %.2f (goal >= 0.7)\n", r.replicas, norm(r)/norm(*sqlite))
		}
	}
}

func run(o options) (res result, err error) {
	if o.n < 1 || o.dark < 0 || o.failing < 0 || o.dark+o.failing >= 1 {
		return res, errors.New("-n must be positive, -dark and -failing fractions summing under 1")
	}
	if o.replicas > 1 && o.driver != "postgres" {
		return res, errors.New("-replicas above 1 needs -driver postgres (replicas share one database)")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "passerelle-fanout-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	profiling := o.cpuprofile != "" || o.heapprofile != ""
	bin, err := e2e.BridgeBinary(o.bridge, dir, profiling)
	if err != nil {
		return res, err
	}

	// The remote side first: the bridge must find every follower's
	// server listening.
	start := time.Now()
	f, err := newFarm(o.n, o.dark, o.failing, o.latency, o.seed)
	if err != nil {
		return res, err
	}
	defer f.close()
	fmt.Printf("%d simulated servers on 127.1.x.y (%d live, %d failing once, %d dark), %v latency; listening in %v\n",
		o.n, f.live, count(f, kindFailOnce), count(f, kindDark), o.latency, time.Since(start).Round(time.Millisecond))

	addr, err := e2e.FreeAddr()
	if err != nil {
		return res, err
	}
	metricsAddr, err := e2e.FreeAddr()
	if err != nil {
		return res, err
	}
	metricsURL := "http://" + metricsAddr + "/metrics"
	cfg := e2e.Config{Addr: addr, Driver: o.driver, LogLevel: o.logLevel, DeliveryWorkers: o.workers, MetricsListen: metricsAddr}
	dsn, drop, err := e2e.StorageDSN(o.driver, o.dsn, filepath.Join(dir, "data", "bridge.db"))
	if err != nil {
		return res, err
	}
	defer drop()
	cfg.DSN = dsn
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := e2e.WriteConfig(cfgPath, cfg); err != nil {
		return res, err
	}

	// One follower per server, in the database before the bridge starts.
	pub, err := e2e.NewPublisher(ctx, cfgPath)
	if err != nil {
		return res, err
	}
	defer pub.Close()
	fs := make([]e2e.Follower, len(f.servers))
	for i, s := range f.servers {
		fs[i] = e2e.Follower{ActorID: s.actorID(), Inbox: s.inbox(), SharedInbox: s.shared()}
	}
	start = time.Now()
	if err := pub.InsertFollowers(ctx, "news", fs); err != nil {
		return res, err
	}
	if o.ed25519 {
		// As if each server had already taken an Ed25519 signature.
		for _, s := range f.servers {
			if err := pub.Store.SetHostEd25519(ctx, s.host, true); err != nil {
				return res, err
			}
		}
	}
	fmt.Printf("%d followers inserted in %v\n", len(fs), time.Since(start).Round(time.Millisecond))

	logPath := filepath.Join(dir, "bridge.log")
	proc, pprofAddr, err := e2e.StartProfiled(bin, cfgPath, logPath, cfg.BaseURL(), profiling)
	if err != nil {
		return res, err
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
		return res, fail(err)
	}
	workers := "default"
	if o.workers > 0 {
		workers = strconv.Itoa(o.workers)
	}
	fmt.Printf("bridge pid %d on %s, storage %s, log level %s, delivery_workers %s\n", proc.PID(), cfg.BaseURL(), o.driver, o.logLevel, workers)
	// Replicas: more bridge serve processes on the same database, each on
	// its own address behind the same public URL (as behind a load
	// balancer); any of them may claim the fan-out and the deliveries.
	procs, metricsURLs := []*e2e.Process{proc}, []string{metricsURL}
	for i := 1; i < o.replicas; i++ {
		rc := cfg
		if rc.Addr, err = e2e.FreeAddr(); err != nil {
			return res, fail(err)
		}
		if rc.MetricsListen, err = e2e.FreeAddr(); err != nil {
			return res, fail(err)
		}
		rc.PublicURL = cfg.BaseURL()
		rcPath := filepath.Join(dir, fmt.Sprintf("config-%d.yaml", i))
		if err := e2e.WriteConfig(rcPath, rc); err != nil {
			return res, fail(err)
		}
		p, err := e2e.Start(bin, rcPath, filepath.Join(dir, fmt.Sprintf("bridge-%d.log", i)), rc.ListenURL())
		if err != nil {
			return res, fail(err)
		}
		defer p.Kill()
		if err := p.WaitHealthy(30 * time.Second); err != nil {
			p.WriteLogTail(os.Stderr, 8<<10)
			return res, fail(fmt.Errorf("replica %d: %w", i, err))
		}
		fmt.Printf("replica %d: bridge pid %d on %s\n", i, p.PID(), rc.ListenURL())
		procs, metricsURLs = append(procs, p), append(metricsURLs, "http://"+rc.MetricsListen+"/metrics")
	}
	// The CPU of every replica, and the signatures all of them counted.
	cpuTime := func() (time.Duration, error) {
		var sum time.Duration
		for _, p := range procs {
			c, err := p.CPUTime()
			if err != nil {
				return 0, err
			}
			sum += c
		}
		return sum, nil
	}
	signatures := func() (sum float64, counted bool, err error) {
		counted = true
		for _, u := range metricsURLs {
			n, ok, err := e2e.MetricSum(u, "passerelle_signatures_total")
			if err != nil {
				return 0, false, err
			}
			sum, counted = sum+n, counted && ok
		}
		return sum, counted, nil
	}

	// The servers check signatures with the key the actor publishes.
	var actor struct {
		PublicKey struct {
			ID           string `json:"id"`
			PublicKeyPem string `json:"publicKeyPem"`
		} `json:"publicKey"`
	}
	if err := e2e.GetJSON(ctx, e2e.Client(1), cfg.ActorID("news"), &actor); err != nil {
		return res, fail(err)
	}
	key, err := fedtest.ParsePublicKeyPEM(actor.PublicKey.PublicKeyPem)
	if err != nil {
		return res, fail(err)
	}
	f.expect(key, cfg.ActorID("news"))
	if o.ed25519 {
		// The Ed25519 key, where verifiers find it: its own document.
		var kd struct {
			ID, Owner, PublicKeyPem string
		}
		edKeyID := cfg.ActorID("news") + "/ed25519-key"
		if err := e2e.GetJSON(ctx, e2e.Client(1), edKeyID, &kd); err != nil {
			return res, fail(err)
		}
		block, _ := pem.Decode([]byte(kd.PublicKeyPem))
		if block == nil || kd.ID != edKeyID || kd.Owner != cfg.ActorID("news") {
			return res, fail(fmt.Errorf("the Ed25519 key document: %+v", kd))
		}
		k, err := x509.ParsePKIXPublicKey(block.Bytes)
		edPub, ok := k.(ed25519.PublicKey)
		if err != nil || !ok {
			return res, fail(fmt.Errorf("the Ed25519 key: %T, %v", k, err))
		}
		f.edPub, f.edKeyID = edPub, edKeyID
	}

	ceilBefore, sigCPU1 := e2e.SigningRate(o.signFor, false)
	fmt.Printf("signing ceiling before: %.0f RSA-2048 signatures/s (%d goroutines, %v; %v CPU per signature)\n",
		ceilBefore, runtime.GOMAXPROCS(0), o.signFor, sigCPU1.Round(time.Microsecond))

	profDone := make(chan error, 1)
	if o.cpuprofile != "" {
		secs := int(float64(f.live)/ceilBefore*1.1) + 2
		go func() { profDone <- e2e.CPUProfile(pprofAddr, o.cpuprofile, secs) }()
		time.Sleep(100 * time.Millisecond)
	} else {
		profDone <- nil
	}

	// Peak memory: VmHWM at the end, and VmRSS polled meanwhile.
	var peakPolled atomic.Int64
	stopPoll := make(chan struct{})
	var polled sync.WaitGroup
	polled.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := e2e.ProcStatusKB(proc.PID(), "VmRSS:"); err == nil && kb > peakPolled.Load() {
				peakPolled.Store(kb)
			}
			select {
			case <-stopPoll:
				return
			case <-t.C:
			}
		}
	})

	if o.selfprofile != "" {
		pf, err := os.Create(o.selfprofile)
		if err != nil {
			return res, fail(err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return res, fail(err)
		}
	}
	token, err := e2e.CreateToken(bin, cfgPath, nil)
	if err != nil {
		return res, fail(err)
	}
	client := e2e.API{BaseURL: cfg.BaseURL(), Token: token, Client: http.DefaultClient}
	sigs0, counted, err := signatures()
	if err != nil {
		return res, fail(err)
	}
	var db *e2e.PostgresCPU
	if o.driver == "postgres" {
		if db, err = e2e.StartPostgresCPU(o.dsn, e2e.ApplicationName(dsn), 200*time.Millisecond); err != nil {
			return res, fail(err)
		}
	}
	cpu0, err := cpuTime()
	if err != nil {
		return res, fail(err)
	}
	self0 := e2e.SelfCPU()
	t0 := time.Now()
	sid, err := client.PostStatus(ctx, map[string]any{
		"status": "Fan-out benchmark: one post to every follower's server. #passerelle", "visibility": "public"})
	if err != nil {
		return res, fail(err)
	}
	id, err := strconv.ParseInt(sid, 10, 64)
	if err != nil {
		return res, fail(err)
	}
	published := time.Since(t0)
	if o.heapprofile != "" {
		go func() {
			for f.remaining.Load() > int64(f.live/2) {
				time.Sleep(10 * time.Millisecond)
			}
			if err := e2e.FetchProfile(pprofAddr, "heap", o.heapprofile); err != nil {
				fmt.Fprintln(os.Stderr, "fanout: heap profile:", err)
			}
			// The text form ends with the runtime's memory statistics.
			_ = e2e.FetchProfile(pprofAddr, "heap?debug=1", o.heapprofile+".txt")
			_ = e2e.FetchProfile(pprofAddr, "goroutine?debug=1", o.heapprofile+".goroutines.txt")
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", proc.PID())); err == nil {
				_ = os.WriteFile(o.heapprofile+".status.txt", b, 0o644)
			}
		}()
	}
	var elapsed time.Duration
	select {
	case <-f.done:
		elapsed = time.Since(t0)
	case <-time.After(o.timeout):
		close(stopPoll)
		return res, fail(fmt.Errorf("after %v, %d of %d live servers still without the Create (%d requests did not verify; first: %v)",
			o.timeout, f.remaining.Load(), f.live, f.bad.Load(), f.firstBad))
	}
	cpu1, _ := cpuTime()
	var dbCPU time.Duration
	if db != nil {
		if dbCPU, err = db.Stop(); err != nil {
			return res, fail(err)
		}
	}
	selfUsed := e2e.SelfCPU() - self0
	sigs1, _, err := signatures()
	if err != nil {
		return res, fail(err)
	}
	reqsAtEnd := requests(f)
	if o.selfprofile != "" {
		pprof.StopCPUProfile()
	}
	close(stopPoll)
	polled.Wait()
	var hwm int64
	for _, p := range procs {
		if kb, _ := e2e.ProcStatusKB(p.PID(), "VmHWM:"); kb > hwm {
			hwm = kb
		}
	}
	if err := <-profDone; err != nil {
		fmt.Fprintln(os.Stderr, "fanout: cpu profile:", err)
	}
	ceilAfter, sigCPU2 := e2e.SigningRate(o.signFor, false)
	fmt.Printf("signing ceiling after:  %.0f RSA-2048 signatures/s (%v CPU per signature)\n", ceilAfter, sigCPU2.Round(time.Microsecond))
	_, edCPU := e2e.SigningRate(time.Second, true)
	fmt.Printf("one Ed25519 signature (crypto/ed25519): %v CPU\n", edCPU.Round(time.Microsecond))
	sigCPU := min(sigCPU1, sigCPU2)

	// Check what the servers got.
	noteID := pub.NoteID("news", id)
	var lat []time.Duration
	dups, wrong := 0, 0
	first := time.Duration(1<<63 - 1)
	for _, s := range f.servers {
		if s.kind == kindDark {
			continue
		}
		n := int(s.creates.Load())
		if n > 1 {
			dups += n - 1
		}
		if obj, _ := s.object.Load().(string); obj != noteID {
			wrong++
		}
		d := time.Duration(s.at.Load() - t0.UnixNano())
		lat = append(lat, d)
		first = min(first, d)
	}
	slices.Sort(lat)
	pct := func(p float64) time.Duration { return e2e.Percentile(lat, p).Round(time.Millisecond) }
	// Give the dark servers' requests time to arrive, then look at the
	// queue: dark servers stay pending (retried later).
	stats, fanoutPending, err := pub.Stats(ctx, id)
	if err != nil {
		return res, fail(err)
	}
	darkReached := 0
	for _, s := range f.servers {
		if s.kind == kindDark && s.requests.Load() > 0 {
			darkReached++
		}
	}

	live := float64(f.live)
	rate := live / elapsed.Seconds()
	ceil := max(ceilBefore, ceilAfter)
	signing := "RSA (draft-cavage)"
	if o.ed25519 {
		signing = "Ed25519 (RFC 9421, servers known to verify it)"
	}
	fmt.Printf("\nfan-out of one post: driver=%s replicas=%d servers=%d latency=%v dark=%.0f%% failing-once=%.0f%% delivery_workers=%s signing=%s\n",
		o.driver, o.replicas, o.n, o.latency, o.dark*100, o.failing*100, workers, signing)
	fmt.Printf("  live servers reached:   %d of %d (verified Creates; duplicates %d; wrong object %d; bad requests %d)\n",
		f.live-int(f.remaining.Load()), f.live, dups, wrong, f.bad.Load())
	fmt.Printf("  dark servers contacted: %d of %d\n", darkReached, count(f, kindDark))
	fmt.Printf("  time to reach all live: %.2f s (publish took %v; first delivery at %v)\n",
		elapsed.Seconds(), published.Round(time.Millisecond), first.Round(time.Millisecond))
	fmt.Printf("  deliveries/s:           %.0f\n", rate)
	fmt.Printf("  signing ceiling/s:      %.0f (before %.0f, after %.0f; the higher is used)\n", ceil, ceilBefore, ceilAfter)
	fmt.Printf("  ratio to the ceiling:   %.2f (goal >= 0.8)\n", rate/ceil)
	fmt.Printf("  delivery latency:       p50 %v  p90 %v  p99 %v  max %v (from publication)\n",
		pct(0.5), pct(0.9), pct(0.99), pct(1))
	fmt.Printf("  bridge peak RSS:        %.1f MiB (VmHWM; VmRSS polled every 50 ms peaked at %.1f MiB) (goal <= 150 MB)\n",
		float64(hwm)/1024, float64(peakPolled.Load())/1024)
	bridgeCPU := cpu1 - cpu0
	if db != nil {
		fmt.Printf("  PostgreSQL server CPU:  %v (%v per live server; its backends for this run, its background processes and the postmaster, read from /proc)\n",
			dbCPU.Round(10*time.Millisecond), (dbCPU / time.Duration(f.live)).Round(time.Microsecond))
		fmt.Printf("  cost ratio with it:     %.2f (bridge + PostgreSQL CPU per live server / CPU of one RSA-2048 signature)\n",
			(bridgeCPU+dbCPU).Seconds()/live/sigCPU.Seconds())
	}
	if o.replicas > 1 {
		fmt.Printf("  replicas:               %d bridge processes; the CPU and signatures above are their sum; peak RSS is the largest\n", o.replicas)
	}
	res = result{driver: o.driver, replicas: o.replicas, live: f.live, bridgeCPU: bridgeCPU, dbCPU: dbCPU, elapsed: elapsed, sigCPU: sigCPU}
	fmt.Printf("  CPU during the fan-out: bridge %v (%v per live server), simulated servers %v (%v per live server); %d CPUs\n",
		bridgeCPU.Round(10*time.Millisecond), (bridgeCPU / time.Duration(f.live)).Round(time.Microsecond),
		selfUsed.Round(10*time.Millisecond), (selfUsed / time.Duration(f.live)).Round(time.Microsecond), runtime.NumCPU())
	// On a machine shared with other work the wall-clock ratio is noisy;
	// CPU time is not: this is the ratio an otherwise idle machine would
	// show if the fan-out kept every core busy.
	fmt.Printf("  CPU-bound ratio:        %.2f (live servers x %v CPU per signature / CPU used by the bridge and the servers)\n",
		live*sigCPU.Seconds()/(bridgeCPU+selfUsed).Seconds(), sigCPU.Round(time.Microsecond))
	fmt.Printf("  bridge CPU on signing:  %.2f (live servers x CPU per signature / bridge CPU)\n",
		live*sigCPU.Seconds()/bridgeCPU.Seconds())
	// The figures (issue 20): what the bridge spends per live
	// server, in signatures of the library it signs with, measured in this
	// run; and how many signatures it made per live server.
	sigs, sigSrc := sigs1-sigs0, "counted by the bridge: passerelle_signatures_total"
	if !counted { // a bridge without the counter: every request received was signed
		sigs, sigSrc = float64(reqsAtEnd), "counted by the servers: requests received, each signed"
	}
	contacted := f.live + darkReached
	fmt.Printf("  cost ratio:             %.2f (bridge CPU per live server %v / CPU of one RSA-2048 signature %v) (goal <= 1.2)\n",
		bridgeCPU.Seconds()/live/sigCPU.Seconds(), (bridgeCPU / time.Duration(f.live)).Round(time.Microsecond), sigCPU.Round(time.Microsecond))
	fmt.Printf("  signatures:             %.0f, %.3f per live server (goal <= 1.0), %.3f per server contacted (%d) (%s)\n",
		sigs, sigs/live, sigs/float64(contacted), contacted, sigSrc)
	// What the setting allows: the simulated servers share the cores, so
	// even a bridge doing nothing but sign could not beat this ratio here.
	fmt.Printf("  bound of this setting:  %.2f (live servers x CPU per signature / (%.0f signatures x CPU per signature + the simulated servers' CPU))\n",
		live*sigCPU.Seconds()/(sigs*sigCPU.Seconds()+selfUsed.Seconds()), sigs)
	perSig := sigCPU
	if o.ed25519 {
		perSig = edCPU
	}
	fmt.Printf("  bridge CPU besides signing: %v per live server (bridge CPU - signatures x CPU per signature (%v), / live servers)\n",
		((bridgeCPU - time.Duration(sigs*float64(perSig))) / time.Duration(f.live)).Round(time.Microsecond), perSig.Round(time.Microsecond))
	fmt.Printf("  delivery stats of the post: reached %d, pending %d, failed %d, fan-out queued %v\n",
		stats.Done, stats.Pending, stats.Failed, fanoutPending)
	if o.cpuprofile != "" {
		fmt.Printf("  CPU profile of the bridge: %s (go tool pprof -top %s %s)\n", o.cpuprofile, bin, o.cpuprofile)
	}

	for i, p := range procs {
		code, err := p.Stop(30 * time.Second)
		if err != nil || code != 0 {
			return res, fail(fmt.Errorf("bridge stop (replica %d): exit %d, %v", i, code, err))
		}
	}
	if dups > 0 || wrong > 0 || f.bad.Load() > 0 {
		return res, fail(errors.New("the run was not clean (see above): numbers are not valid"))
	}
	return res, nil
}

func count(f *farm, kind int) int {
	n := 0
	for _, s := range f.servers {
		if s.kind == kind {
			n++
		}
	}
	return n
}

// requests is the number of inbox requests the servers received.
func requests(f *farm) int {
	n := 0
	for _, s := range f.servers {
		n += int(s.requests.Load())
	}
	return n
}
