// Command follows measures the follow path of the real bridge binary end to
// end: N remote actors (simulated by fedtest on 127.0.0.2, .3, ...) send
// signed Follows to @news, and every Accept must be received and verified
// by the remote servers. It prints follows per second for the inbox answers
// (all POSTs answered 202) and end to end (all Accepts verified), the inbox
// latency percentiles, and the idle RSS of `bridge serve` before and after
// the load. It measures and reports; it asserts nothing beyond correctness
// of the run (every answer 202, every Accept verified).
//
//	go run ./bench/follows -n 2000 -concurrency 64
//
// Everything runs on loopback. See bench/README.md.
package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io"
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

func main() {
	var o options
	flag.StringVar(&o.bridge, "bridge", "", "bridge binary (empty: build ./cmd/bridge into a temporary directory)")
	flag.IntVar(&o.n, "n", 2000, "number of follows (one remote actor each)")
	flag.StringVar(&o.driver, "driver", "sqlite", "storage driver: sqlite or postgres")
	flag.StringVar(&o.dsn, "dsn", "", "postgres: database URL (a fresh schema is created in it and dropped after); sqlite: database file (default: a new temporary file)")
	flag.IntVar(&o.concurrency, "concurrency", 64, "concurrent inbox POSTs")
	flag.IntVar(&o.servers, "servers", 4, "simulated remote servers (127.0.0.2, .3, ...); actors are spread over them")
	flag.IntVar(&o.keys, "keys", 8, "RSA keys shared by the remote actors (generation is slow)")
	settle := flag.String("settle", "5s", "idle times after the load at which RSS is measured, comma-separated (e.g. 5s,30s,2m10s)")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the bridge during the load to this file (builds the bridge with -tags pprof)")
	flag.StringVar(&o.selfprofile, "selfprofile", "", "write a CPU profile of this program (the remote side and the load generator) during the load to this file")
	flag.StringVar(&o.logLevel, "log-level", "warn", "bridge log level")
	flag.DurationVar(&o.signFor, "sign-for", 2*time.Second, "duration of the measurement of one RSA-2048 signature's CPU (before the load)")
	flag.BoolVar(&o.refollow, "refollow", false, "then a second phase: the same actors follow again (keys cached: only the Accept is signed)")
	flag.Parse()
	for _, v := range strings.Split(*settle, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 || (len(o.rssAt) > 0 && d < o.rssAt[len(o.rssAt)-1]) {
			fmt.Fprintln(os.Stderr, "follows: -settle: want increasing durations such as 5s,30s")
			os.Exit(2)
		}
		o.rssAt = append(o.rssAt, d)
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "follows:", err)
		os.Exit(1)
	}
}

type options struct {
	bridge, driver, dsn, cpuprofile, logLevel string
	selfprofile                               string
	n, concurrency, servers, keys             int
	rssAt                                     []time.Duration
	refollow                                  bool
	signFor                                   time.Duration
}

func run(o options) error {
	if o.n < 1 || o.concurrency < 1 || o.servers < 1 || o.keys < 1 {
		return errors.New("-n, -concurrency, -servers and -keys must be positive")
	}
	if o.servers > 200 {
		return errors.New("-servers: at most 200")
	}
	dir, err := os.MkdirTemp("", "passerelle-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	start := time.Now()
	bin, err := e2e.BridgeBinary(o.bridge, dir, o.cpuprofile != "")
	if err != nil {
		return err
	}
	if bin != o.bridge {
		fmt.Printf("built %s in %v\n", bin, time.Since(start).Round(time.Millisecond))
	}

	addr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	metricsAddr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	cfg := e2e.Config{Addr: addr, Driver: o.driver, LogLevel: o.logLevel, MetricsListen: metricsAddr}
	dsn, drop, err := e2e.StorageDSN(o.driver, o.dsn, cmp.Or(o.dsn, filepath.Join(dir, "data", "bridge.db")))
	if err != nil {
		return err
	}
	defer drop()
	cfg.DSN = dsn
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := e2e.WriteConfig(cfgPath, cfg); err != nil {
		return err
	}
	logPath := filepath.Join(dir, "bridge.log")
	proc, pprofAddr, err := e2e.StartProfiled(bin, cfgPath, logPath, cfg.BaseURL(), o.cpuprofile != "")
	if err != nil {
		return err
	}
	defer proc.Kill()
	fail := func(err error) error {
		proc.WriteLogTail(os.Stderr, 8<<10)
		return err
	}
	if err := proc.WaitHealthy(30 * time.Second); err != nil {
		return fail(err)
	}
	fmt.Printf("bridge pid %d on %s, storage %s, log level %s\n", proc.PID(), cfg.BaseURL(), o.driver, o.logLevel)

	time.Sleep(2 * time.Second)
	memStart, err := proc.Memory()
	if err != nil {
		return fail(err)
	}

	// The remote side: servers on 127.0.0.2, .3, ... with actors spread
	// over them, and every Follow signed before the clock starts.
	start = time.Now()
	keys, err := fedtest.NewKeys(o.keys)
	if err != nil {
		return err
	}
	var servers []*fedtest.Server
	defer func() {
		for _, s := range servers {
			s.Close()
		}
	}()
	per := (o.n + o.servers - 1) / o.servers
	type follow struct {
		srv *fedtest.Server
		i   int
	}
	var follows []follow
	for k := 0; len(follows) < o.n; k++ {
		actors := min(per, o.n-len(follows))
		s, err := fedtest.New("127.0.0."+strconv.Itoa(k+2)+":0", actors, fedtest.Options{Keys: keys})
		if err != nil {
			return fail(err)
		}
		servers = append(servers, s)
		for i := range actors {
			follows = append(follows, follow{srv: s, i: i})
		}
	}
	actorID := cfg.ActorID("news")
	inboxes := []string{cfg.BaseURL() + "/inbox", actorID + "/inbox"}
	presign := func() ([]*http.Request, time.Duration, error) {
		t := time.Now()
		reqs := make([]*http.Request, len(follows))
		err := parallel(len(follows), runtime.NumCPU(), func(j int) error {
			f := follows[j]
			var err error
			reqs[j], _, err = f.srv.SignedFollow(f.i, inboxes[j%2], actorID, time.Now())
			return err
		})
		return reqs, time.Since(t), err
	}
	reqs, took, err := presign()
	if err != nil {
		return fail(err)
	}
	fmt.Printf("remote side: %d servers, %d actors, %d keys; %d Follows pre-signed in %v (setup %v)\n",
		len(servers), len(follows), len(keys), len(follows), took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))

	// Profile the bridge during the load, if asked.
	profDone := make(chan error, 1)
	if o.cpuprofile != "" {
		go func() { profDone <- e2e.CPUProfile(pprofAddr, o.cpuprofile, 5) }()
		time.Sleep(100 * time.Millisecond)
	} else {
		profDone <- nil
	}
	if o.selfprofile != "" {
		f, err := os.Create(o.selfprofile)
		if err != nil {
			return fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fail(err)
		}
		defer f.Close()
	}

	// One RSA-2048 signature with the library the bridge signs with, in
	// this run: the unit of the CPU per follow (issue 20).
	_, sigCPU := e2e.SigningRate(o.signFor, false)
	fmt.Printf("one RSA-2048 signature (crypto/rsa, %d goroutines, %v): %v CPU\n", runtime.GOMAXPROCS(0), o.signFor, sigCPU.Round(time.Microsecond))

	client := e2e.Client(o.concurrency)
	b := &bench{proc: proc, client: client, servers: servers, concurrency: o.concurrency,
		metricsURL: "http://" + metricsAddr + "/metrics", sigCPU: sigCPU}
	if o.driver == "postgres" {
		b.pgBase, b.pgApp = o.dsn, e2e.ApplicationName(dsn)
	}
	fmt.Printf("\nfollows: n=%d concurrency=%d driver=%s\n", len(follows), o.concurrency, o.driver)
	res, err := b.phase(reqs)
	if err != nil {
		return fail(err)
	}
	if o.selfprofile != "" {
		pprof.StopCPUProfile()
	}
	if err := <-profDone; err != nil {
		fmt.Fprintln(os.Stderr, "follows: cpu profile:", err)
	}
	res.print("new followers (each costs a signed fetch of the follower's key and a signed Accept)")
	clean := res.clean()

	if o.refollow {
		// The same actors follow again (new Follow ids): their keys are
		// cached, so only the Accept is signed.
		if reqs, _, err = presign(); err != nil {
			return fail(err)
		}
		if res, err = b.phase(reqs); err != nil {
			return fail(err)
		}
		res.print("known followers following again (keys cached: only the Accept is signed)")
		clean = clean && res.clean()
	}

	client.CloseIdleConnections()
	fmt.Printf("  idle RSS of bridge serve: after start-up (2s idle)   %v\n", memStart)
	idle := time.Now()
	for _, at := range o.rssAt {
		time.Sleep(at - time.Since(idle))
		m, err := proc.Memory()
		if err != nil {
			return fail(err)
		}
		fmt.Printf("  idle RSS of bridge serve: %-4v after the load       %v\n", at, m)
	}
	if pprofAddr != "" {
		// How much of that is garbage the runtime has not returned yet?
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
		if resp, err := c.Post("http://"+pprofAddr+"/debug/freeosmemory", "", nil); err == nil {
			resp.Body.Close()
			if m, err := proc.Memory(); err == nil {
				fmt.Printf("  RSS after runtime/debug.FreeOSMemory:            %v\n", m)
			}
		}
		if resp, err := c.Get("http://" + pprofAddr + "/debug/pprof/heap?debug=1"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			fmt.Printf("  Go runtime memory (MiB):")
			for _, line := range strings.Split(string(b), "\n") {
				for _, name := range []string{"Sys", "HeapInuse", "HeapReleased", "Stack", "GCSys", "OtherSys"} {
					if v, ok := strings.CutPrefix(line, "# "+name+" = "); ok {
						v, _, _ = strings.Cut(v, " ") // Stack = inuse / sys
						n, _ := strconv.ParseFloat(v, 64)
						fmt.Printf(" %s %.1f", name, n/(1<<20))
					}
				}
			}
			fmt.Println()
		}
	}
	if o.cpuprofile != "" {
		fmt.Printf("  CPU profile of the bridge: %s (go tool pprof -top %s %s)\n", o.cpuprofile, bin, o.cpuprofile)
	}

	code, err := proc.Stop(20 * time.Second)
	if err != nil || code != 0 {
		return fail(fmt.Errorf("bridge stop: exit %d, %v", code, err))
	}
	if !clean {
		return fail(errors.New("the run was not clean (see above): numbers are not valid"))
	}
	return nil
}

// bench fires phases of pre-signed Follows at the bridge.
type bench struct {
	proc        *e2e.Process
	client      *http.Client
	servers     []*fedtest.Server
	concurrency int
	metricsURL  string        // the bridge's /metrics (its signature counter)
	sigCPU      time.Duration // CPU of one RSA-2048 signature, measured in this run
	// pgBase and pgApp: with PostgreSQL, the server's URL and the
	// application_name of the bridge's connections (its CPU is counted).
	pgBase, pgApp string
}

// result is what one phase measured.
type result struct {
	n                  int
	inbox, endToEnd    time.Duration // until all 202s, until all Accepts verified
	lat                []time.Duration
	non202             int64
	firstErr           error
	accepts, verified  int
	bridgeCPU, selfCPU time.Duration
	dbCPU              time.Duration // the PostgreSQL server's, for the bridge
	sigCPU             time.Duration
	sigs               float64 // signatures the bridge made (its counter)
	counted            bool    // the bridge counts its signatures
}

// phase POSTs reqs with the bench's concurrency and waits until every
// remote server has received one more Accept per request addressed to its
// actors.
func (b *bench) phase(reqs []*http.Request) (result, error) {
	r := result{n: len(reqs), lat: make([]time.Duration, len(reqs))}
	want := map[*fedtest.Server]int{}
	before := 0
	for _, s := range b.servers {
		want[s] = s.Count()
		before += s.Count()
	}
	for _, req := range reqs {
		for _, s := range b.servers {
			if strings.HasPrefix(req.Header.Get("Signature"), `keyId="`+s.URL()+"/") {
				want[s]++
			}
		}
	}
	r.sigCPU = b.sigCPU
	sigs0, counted, err := e2e.MetricSum(b.metricsURL, "passerelle_signatures_total")
	if err != nil {
		return r, err
	}
	var db *e2e.PostgresCPU
	if b.pgBase != "" {
		if db, err = e2e.StartPostgresCPU(b.pgBase, b.pgApp, 200*time.Millisecond); err != nil {
			return r, err
		}
	}
	cpu0, err := b.proc.CPUTime()
	if err != nil {
		return r, err
	}
	self0 := e2e.SelfCPU()
	var non202 atomic.Int64
	var errOnce sync.Once
	t0 := time.Now()
	_ = parallel(len(reqs), b.concurrency, func(j int) error {
		s := time.Now()
		resp, err := b.client.Do(reqs[j])
		r.lat[j] = time.Since(s)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				err = fmt.Errorf("POST %s: status %d: %s", reqs[j].URL, resp.StatusCode, body)
			}
		}
		if err != nil {
			non202.Add(1)
			errOnce.Do(func() { r.firstErr = err })
		}
		return nil
	})
	r.inbox = time.Since(t0)
	r.non202 = non202.Load()
	wait := max(60*time.Second, time.Duration(len(reqs))*30*time.Millisecond)
	complete := true
	for _, s := range b.servers {
		if !s.WaitFor(want[s], wait-time.Since(t0)) {
			complete = false
			break
		}
	}
	r.endToEnd = time.Since(t0)
	if !complete {
		r.endToEnd = 0
	}
	cpu1, err := b.proc.CPUTime()
	if err != nil {
		return r, err
	}
	r.bridgeCPU, r.selfCPU = cpu1-cpu0, e2e.SelfCPU()-self0
	if db != nil {
		if r.dbCPU, err = db.Stop(); err != nil {
			return r, err
		}
	}
	sigs1, _, err := e2e.MetricSum(b.metricsURL, "passerelle_signatures_total")
	if err != nil {
		return r, err
	}
	r.sigs, r.counted = sigs1-sigs0, counted
	seen := 0
	for _, s := range b.servers {
		for _, d := range s.Received() {
			if seen++; seen <= before {
				continue
			}
			r.accepts++
			if d.Verified && d.Activity["type"] == "Accept" {
				r.verified++
			}
		}
	}
	return r, nil
}

func (r result) clean() bool { return r.non202 == 0 && r.endToEnd > 0 && r.verified == r.n }

func (r result) print(title string) {
	slices.Sort(r.lat)
	pct := func(p float64) time.Duration { return e2e.Percentile(r.lat, p).Round(time.Microsecond) }
	n := float64(r.n)
	fmt.Printf("  %s:\n", title)
	fmt.Printf("    inbox:      all answered in %-9v %8.0f follows/s   (non-202: %d)\n", r.inbox.Round(time.Millisecond), n/r.inbox.Seconds(), r.non202)
	if r.endToEnd > 0 && r.verified == r.n {
		fmt.Printf("    end to end: all Accepts in %-9v %8.0f follows/s   (Accepts received %d, verified %d)\n", r.endToEnd.Round(time.Millisecond), n/r.endToEnd.Seconds(), r.accepts, r.verified)
	} else {
		fmt.Printf("    end to end: INCOMPLETE: Accepts received %d, verified %d of %d\n", r.accepts, r.verified, r.n)
	}
	fmt.Printf("    inbox latency: p50 %v  p90 %v  p99 %v  max %v\n", pct(0.50), pct(0.90), pct(0.99), pct(1))
	if r.firstErr != nil {
		fmt.Printf("    first error: %v\n", r.firstErr)
	}
	// The machine is shared by the bridge, the remote servers, the load
	// generator and whatever else runs: CPU time per follow is the number
	// that does not depend on the neighbours.
	per := r.bridgeCPU / time.Duration(r.n)
	fmt.Printf("    CPU: bridge %v (%.2f ms/follow: at most %.0f follows/s per core), remote side + load generator %v; %d CPUs\n",
		r.bridgeCPU.Round(10*time.Millisecond), float64(per.Microseconds())/1000, float64(time.Second)/float64(per),
		r.selfCPU.Round(10*time.Millisecond), runtime.NumCPU())
	if r.sigCPU > 0 {
		fmt.Printf("    CPU per follow / one RSA-2048 signature: %.2f (%v / %v) (goal <= 2)\n",
			float64(per)/float64(r.sigCPU), per.Round(time.Microsecond), r.sigCPU.Round(time.Microsecond))
	}
	if r.dbCPU > 0 {
		withDB := (r.bridgeCPU + r.dbCPU) / time.Duration(r.n)
		fmt.Printf("    PostgreSQL server CPU: %v (%.2f ms/follow); bridge + PostgreSQL: %.2f ms/follow, %.2f signatures\n",
			r.dbCPU.Round(10*time.Millisecond), float64((r.dbCPU/time.Duration(r.n)).Microseconds())/1000,
			float64(withDB.Microseconds())/1000, float64(withDB)/float64(r.sigCPU))
	}
	if r.counted {
		fmt.Printf("    signatures made by the bridge: %.0f, %.2f per follow (the Accept; the signed fetch of an unknown key)\n", r.sigs, r.sigs/n)
	}
}

// parallel runs fn(0..n-1) on at most workers goroutines and returns the
// first error.
func parallel(n, workers int, fn func(int) error) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	for range min(workers, n) {
		wg.Go(func() {
			for {
				j := int(next.Add(1) - 1)
				if j >= n {
					return
				}
				if err := fn(j); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}
