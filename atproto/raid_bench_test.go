package atproto

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/push"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

var (
	raidN        = flag.Int("raid.n", 2000, "BenchmarkBlueskyRaid: replies of the raid")
	raidAccounts = flag.Int("raid.accounts", 20, "BenchmarkBlueskyRaid: raiding Bluesky accounts")
	raidSpan     = flag.Duration("raid.span", 5*time.Minute, "BenchmarkBlueskyRaid: the raid's replies are spread over this span")
	raidInterval = flag.Duration("raid.interval", 0, "BenchmarkBlueskyRaid: bluesky.poll_interval (0: the default)")
)

// BenchmarkBlueskyRaid: a raid of -raid.n Bluesky replies to one of our
// mirrored posts from -raid.accounts accounts, spread over -raid.span,
// against the reference PDS (its rate limits on) and AppView. The bridge
// polls the account's notifications as in production (the inbox pool of
// the job runner, at the adaptive interval), with Web Push to one
// subscription on a loopback push service. It prints how long the bridge
// took to read them all after the last was written, the requests it made
// to the PDS (by method, with their answers and the lowest
// RateLimit-Remaining the PDS announced), the raids found and the pushes
// sent. Figures only: nothing is asserted.
//
//	go test ./atproto -run XXX -bench BlueskyRaid -benchtime 1x -timeout 30m
//	go test ./atproto -run XXX -bench BlueskyRaid -benchtime 1x -raid.n 200 -raid.span 30s   # quick
func BenchmarkBlueskyRaid(b *testing.B) {
	srv := pdstest.StartT(b, pdstest.Options{AppView: true, RateLimits: true})
	for range b.N {
		benchRaid(b, srv)
	}
}

func benchRaid(b *testing.B, srv *pdstest.Server) {
	ctx := context.Background()
	var pushes, raidPushes atomic.Int64
	pushSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pushes.Add(1)
		if r.Header.Get("Urgency") == "high" {
			raidPushes.Add(1)
		}
		w.WriteHeader(http.StatusCreated)
	}))
	defer pushSrv.Close()

	var ps *push.Service
	store := storagetest.OpenSQLite(b)
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 10 * time.Second})
	var err error
	ps, err = push.New(ctx, push.Settings{BaseURL: "http://127.0.0.1:9", AllowPrivateNetworks: true}, store, client, zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	e := newEnv(b, srv, envOptions{store: store, noRun: true, notifier: ps, bluesky: func(bs *config.Bluesky) {
		if *raidInterval > 0 {
			bs.PollInterval = config.Duration(*raidInterval)
		}
	}})
	e.stop = bridgetest.RunJobs(b, store, 5*time.Second, func(r *jobs.Runner) error {
		if err := e.mirror.Register(r); err != nil {
			return err
		}
		if err := e.mirror.RegisterInbox(r); err != nil {
			return err
		}
		return ps.Register(r)
	})
	subscribe(b, store, pushSrv.URL+"/push")

	st, err := e.pub.Create(ctx, "news", publish.Draft{Text: "Conseil municipal : le budget est voté"})
	if err != nil {
		b.Fatal(err)
	}
	e.waitState(st.ID, storage.BlueskyMirrored, 2*time.Minute)
	ours := e.records(collPost)[0]
	ref := map[string]string{"uri": ours.URI, "cid": ours.CID}

	accounts := make([]pdstest.Account, *raidAccounts)
	for i := range accounts {
		if accounts[i], err = srv.CreateAccount(ctx, newHandle(fmt.Sprintf("raider%d-", i))); err != nil {
			b.Fatal(err)
		}
	}
	// Each account writes its share in batches (applyWrites), every
	// batchEvery, so that the replies come evenly over the span.
	const batches = 20
	per := *raidN / len(accounts)
	batchEvery := *raidSpan / batches
	before := e.calls.snapshot()
	start := time.Now()
	var wg sync.WaitGroup
	var written atomic.Int64
	var writeErrs []error
	var mu sync.Mutex
	for i, acc := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * batchEvery / time.Duration(len(accounts)))
			for k := range batches {
				n := per/batches + btoi(k < per%batches)
				var writes []map[string]any
				for j := range n {
					writes = append(writes, map[string]any{"$type": "com.atproto.repo.applyWrites#create", "collection": collPost,
						"value": map[string]any{"$type": collPost, "createdAt": pdstest.Now(), "text": fmt.Sprintf("honte %d-%d", k, j),
							"reply": map[string]any{"root": ref, "parent": ref}}})
				}
				if len(writes) > 0 {
					err := srv.XRPC(ctx, http.MethodPost, "com.atproto.repo.applyWrites", acc.AccessJWT, nil,
						map[string]any{"repo": acc.DID, "writes": writes}, nil)
					if err != nil {
						mu.Lock()
						writeErrs = append(writeErrs, err)
						mu.Unlock()
					} else {
						written.Add(int64(len(writes)))
					}
				}
				time.Sleep(batchEvery)
			}
		}()
	}
	wg.Wait()
	wroteAll := time.Now()
	want := int(written.Load())
	types := []string{storage.NotificationMention, storage.NotificationQuote}
	read := 0
	for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		ns, err := store.ListNotificationsBetween(ctx, "news", types, start.Add(-time.Hour), time.Now().Add(time.Hour), *raidN+100)
		if err != nil {
			b.Fatal(err)
		}
		if read = len(ns); read >= want {
			break
		}
	}
	readAll := time.Now()
	time.Sleep(10 * time.Second) // the last pushes
	after := e.calls.snapshot()
	buckets, err := store.NotificationBuckets(ctx, "news", moderation.RaidTypes, start.Add(-time.Hour), moderation.RaidWindow)
	if err != nil {
		b.Fatal(err)
	}
	raids := moderation.RaidSpans(buckets, moderation.RaidThreshold)

	b.Logf("raid: %d replies written (%d write errors) by %d accounts over %s (%d batches each)", want, len(writeErrs), len(accounts),
		wroteAll.Sub(start).Round(time.Second), batches)
	if len(writeErrs) > 0 {
		b.Logf("first write error: %v", writeErrs[0])
	}
	b.Logf("read by the bridge: %d of %d; all read %s after the last was written", read, want, readAll.Sub(wroteAll).Round(100*time.Millisecond))
	var methods []string
	total := 0
	for k, v := range after {
		if k == "min RateLimit-Remaining" {
			continue
		}
		if d := v - before[k]; d > 0 {
			methods = append(methods, fmt.Sprintf("%s %d", k, d))
			if !slices.Contains([]string{"status"}, k[:min(len(k), 6)]) {
				total += d
			}
		}
	}
	sort.Strings(methods)
	b.Logf("requests to the PDS during the raid: %d: %v", total, methods)
	if v, ok := after["min RateLimit-Remaining"]; ok {
		b.Logf("lowest RateLimit-Remaining the PDS announced to the bridge: %d", v)
	}
	b.Logf("raids: %d; pushes: %d (%d about the raid)", len(raids), pushes.Load(), raidPushes.Load())

	// The shield against it: one call, then the mirror's jobs.
	if len(raids) > 0 {
		before := e.calls.snapshot()
		t0 := time.Now()
		res, err := e.mirror.ShieldRaid(ctx, "news", raids[len(raids)-1].From, raids[0].To)
		if err != nil {
			b.Fatal(err)
		}
		called := time.Since(t0)
		for deadline := time.Now().Add(5 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			g, err1 := store.RefStats(ctx, fmt.Sprintf("gates:%d:bluesky", st.ID))
			bl, err2 := store.RefStats(ctx, "blocks:news:bluesky")
			if err1 == nil && err2 == nil && g.Pending == 0 && bl.Pending == 0 {
				break
			}
		}
		after := e.calls.snapshot()
		var methods []string
		for k, v := range after {
			if d := v - before[k]; d > 0 && k != "min RateLimit-Remaining" {
				methods = append(methods, fmt.Sprintf("%s %d", k, d))
			}
		}
		sort.Strings(methods)
		b.Logf("shield: %+v; the call took %s, written on Bluesky %s after it; requests %v", res, called.Round(time.Millisecond),
			time.Since(t0).Round(100*time.Millisecond), methods)
	}
	b.ReportMetric(float64(total), "requests")
	b.ReportMetric(float64(len(raids)), "raids")
	b.ReportMetric(float64(pushes.Load()), "pushes")
	b.ReportMetric(readAll.Sub(wroteAll).Seconds(), "s-behind")
}

// subscribe adds a Web Push subscription of news (mention alerts) to the
// push service at endpoint.
func subscribe(tb testing.TB, store storage.Store, endpoint string) {
	tb.Helper()
	ctx := context.Background()
	tok, err := store.InsertToken(ctx, storage.Token{Hash: fmt.Sprint("bench-", time.Now().UnixNano()), Account: "news", Scopes: "push"})
	if err != nil {
		tb.Fatal(err)
	}
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	if _, err := store.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: "news", Endpoint: endpoint,
		P256dh: base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), Auth: base64.RawURLEncoding.EncodeToString(secret),
		Alerts: []string{storage.NotificationMention, storage.NotificationQuote}, Policy: "all"}); err != nil {
		tb.Fatal(err)
	}
}
