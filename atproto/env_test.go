package atproto

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// The tests against the real PDS share one PDS (each test its own
// accounts): starting one takes seconds.
var (
	pdsOnce   sync.Once
	pdsShared *pdstest.Server
	pdsErr    error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if pdsShared != nil {
		pdsShared.Close()
	}
	os.Exit(code)
}

// sharedPDS returns the package's PDS, starting it on first use; the test
// is skipped when the PDS is not installed (a failure under CI=true).
func sharedPDS(t *testing.T) *pdstest.Server {
	t.Helper()
	if _, err := pdstest.Dir(); errors.Is(err, pdstest.ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: the Bluesky PDS tests must not be skipped)", err)
		}
		t.Skip(err.Error())
	}
	pdsOnce.Do(func() { pdsShared, pdsErr = pdstest.Start(pdstest.Options{}) })
	if pdsErr != nil {
		t.Fatal(pdsErr)
	}
	t.Cleanup(func() {
		if t.Failed() {
			log := pdsShared.ReadLog()
			if len(log) > 16<<10 {
				log = log[len(log)-16<<10:]
			}
			t.Logf("PDS log:\n%s", log)
		}
	})
	return pdsShared
}

var handleSeq atomic.Int64

// newHandle is a fresh handle on the PDS's .test domain.
func newHandle(prefix string) string {
	return fmt.Sprintf("%s%d%d.test", prefix, time.Now().UnixMilli()%100000, handleSeq.Add(1))
}

// countingTransport counts requests by XRPC method.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[strings.TrimPrefix(r.URL.Path, "/xrpc/")]++
	c.mu.Unlock()
	resp, err := c.base.RoundTrip(r)
	if err == nil {
		c.mu.Lock()
		c.n["status "+strconv.Itoa(resp.StatusCode)]++
		if v, err := strconv.Atoi(resp.Header.Get("RateLimit-Remaining")); err == nil {
			if old, ok := c.n["min RateLimit-Remaining"]; !ok || v < old {
				c.n["min RateLimit-Remaining"] = v
			}
		}
		c.mu.Unlock()
	}
	return resp, err
}

// snapshot copies the counts.
func (c *countingTransport) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

func (c *countingTransport) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

// env is the publishing service and the mirror wired as in cmd/bridge, on
// a SQLite store, against a PDS.
type env struct {
	t      testing.TB
	ctx    context.Context
	pds    *pdstest.Server
	acct   pdstest.Account
	store  storage.Store
	fed    *federation.Service
	pub    *publish.Service
	mirror *Mirror
	// unmirrored publishes as the bridge did before the mirror was set
	// up (fake environment only).
	unmirrored *publish.Service
	calls      *countingTransport
	stop       func() // stops the job runner and waits for it
}

type envOptions struct {
	bluesky func(b *config.Bluesky) // adjusts the account's mirror settings
	replies string
	store   storage.Store // nil: a new SQLite store
	account *pdstest.Account
	noRun   bool // do not start the worker
	cards   *http.Client
	// notifier is told of the notifications read from Bluesky.
	notifier Notifier
}

func newEnv(t testing.TB, pds *pdstest.Server, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{t: t, ctx: ctx, pds: pds, store: o.store}
	if o.account != nil {
		e.acct = *o.account
	} else {
		acct, err := pds.CreateAccount(ctx, newHandle("city"))
		if err != nil {
			t.Fatal(err)
		}
		e.acct = acct
	}
	if e.store == nil {
		e.store = storagetest.OpenSQLite(t)
	}
	bs := config.Bluesky{PDSURL: pds.URL, Identifier: e.acct.Handle, AppPassword: e.acct.AppPassword}
	if o.bluesky != nil {
		o.bluesky(&bs)
	}
	acc := config.Account{Username: "news", DisplayName: "Ville de Test", Replies: o.replies, Bluesky: bs}
	cfg := config.Default()
	cfg.Server.PublicURL = "http://127.0.0.1:9"
	cfg.Federation.AllowPrivateNetworks = true
	cfg.Federation.AccountDomain = "city.example"
	cfg.Accounts = []config.Account{acc}
	cfg.ApplyDefaults()
	acc = cfg.Accounts[0]

	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	base := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 30 * time.Second, MaxBodyBytes: 16 << 20})
	e.calls = &countingTransport{base: base.Transport}
	base.Transport = e.calls
	b := bridgetest.New(t, bridgetest.Options{
		Store: e.store, BaseURL: cfg.Server.BaseURL(), Federation: cfg.Federation, Accounts: cfg.Accounts, Log: log,
		// Longer than Mastodon's 500 characters, to test threads.
		Publish: publish.Settings{HandleDomain: cfg.HandleDomain(), MaxChars: 2000},
		Mirror: func(site links.Site) publish.Mirror {
			m, err := New(Settings{
				Accounts: []Account{{Username: acc.Username, DisplayName: acc.DisplayName, Replies: acc.Replies,
					Bluesky: acc.Bluesky, Handle: cfg.BlueskyHandle(acc)}},
				HandleDomain: cfg.HandleDomain(),
				HTTPClient:   base,
				CardClient:   o.cards,
				NoteURL:      site.NoteURL,
				Notifier:     o.notifier,
			}, e.store, log.With().Str("component", "bluesky").Logger())
			if err != nil {
				t.Fatal(err)
			}
			e.mirror = m
			return m
		},
	})
	e.fed, e.pub = b.Fed, b.Pub
	if !o.noRun {
		e.run()
	}
	t.Cleanup(e.halt)
	return e
}

// run starts the mirror's pool on a job runner, as cmd/bridge does.
func (e *env) run() {
	e.stop = bridgetest.RunJobs(e.t, e.store, 5*time.Second, e.mirror.Register)
}

// halt stops the worker, if running.
func (e *env) halt() {
	if e.stop != nil {
		e.stop()
		e.stop = nil
	}
}

// post publishes a public status.
func (e *env) post(d publish.Draft) storage.Status {
	e.t.Helper()
	st, err := e.pub.Create(e.ctx, "news", d)
	if err != nil {
		e.t.Fatal(err)
	}
	return st
}

// upload uploads image bytes with alt text.
func (e *env) upload(data []byte, alt string) storage.Media {
	e.t.Helper()
	m, err := e.pub.UploadMedia(e.ctx, "news", bytes.NewReader(data), alt, 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// waitState waits until the status's mirror reaches state.
func (e *env) waitState(id int64, state string, timeout time.Duration) *PostStatus {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	var last *PostStatus
	for time.Now().Before(deadline) {
		ps, err := StatusOf(e.ctx, e.store, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if ps != nil && ps.State == state {
			return ps
		}
		last = ps
		time.Sleep(20 * time.Millisecond)
	}
	e.t.Fatalf("status %d: mirror state %+v after %v, want %q", id, last, timeout, state)
	return nil
}

// records lists a collection of the account's repo on the PDS.
func (e *env) records(collection string) []pdstest.Record {
	e.t.Helper()
	rs, err := e.pds.ListRecords(e.ctx, e.acct.DID, collection)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// noisyJPEG encodes a w×h image of random noise: it compresses badly, so
// that a few megapixels make megabytes.
func noisyJPEG(t testing.TB, w, h, quality int, seed uint64) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, seed^0x5eed))
	for i := 0; i < len(img.Pix); i += 4 {
		v := r.Uint32()
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = uint8(v), uint8(v>>8), uint8(v>>16), 0xff
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// photoJPEG encodes a w×h smooth image with a little noise, which
// compresses like a photograph.
func photoJPEG(t testing.TB, w, h int, seed uint64) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(seed, 1))
	for y := range h {
		for x := range w {
			n := uint8(r.IntN(12))
			img.Set(x, y, color.RGBA{uint8(x*255/w) + n, uint8(y*255/h) + n, uint8((x+y)*127/(w+h)) + n, 0xff})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
