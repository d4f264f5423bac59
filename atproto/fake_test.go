package atproto

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// fakePDS answers the few XRPC methods a text post needs, and lets a test
// script the answers of applyWrites.
type fakePDS struct {
	*httptest.Server
	mu     sync.Mutex
	calls  []fakeCall
	writes func(n int, w http.ResponseWriter) bool // n-th applyWrites; true: answered
}

type fakeCall struct {
	method string
	at     time.Time
}

func newFakePDS(t *testing.T) *fakePDS {
	f := &fakePDS{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		method := strings.TrimPrefix(r.URL.Path, "/xrpc/")
		f.mu.Lock()
		f.calls = append(f.calls, fakeCall{method, time.Now()})
		n := 0
		for _, c := range f.calls {
			if c.method == method {
				n++
			}
		}
		script := f.writes
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch method {
		case "com.atproto.server.createSession":
			fmt.Fprint(w, `{"did":"did:plc:fake","handle":"fake.test","accessJwt":"access","refreshJwt":"refresh","active":true}`)
		case "com.atproto.repo.applyWrites":
			if script != nil && script(n, w) {
				return
			}
			var in struct {
				Writes []struct {
					Collection string `json:"collection"`
					Rkey       string `json:"rkey"`
				} `json:"writes"`
			}
			_ = json.NewDecoder(r.Body).Decode(&in)
			var res []string
			for _, wr := range in.Writes {
				res = append(res, fmt.Sprintf(`{"$type":"com.atproto.repo.applyWrites#createResult","uri":"at://did:plc:fake/%s/%s","cid":"bafy%s"}`, wr.Collection, wr.Rkey, wr.Rkey))
			}
			fmt.Fprintf(w, `{"results":[%s]}`, strings.Join(res, ","))
		case "com.atproto.repo.getRecord":
			// Nothing the failed attempts could have created.
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"RecordNotFound","message":"Could not locate record"}`)
		default:
			w.WriteHeader(http.StatusNotImplemented)
			fmt.Fprint(w, `{"error":"MethodNotImplemented"}`)
		}
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePDS) times(method string) []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []time.Time
	for _, c := range f.calls {
		if c.method == method {
			out = append(out, c.at)
		}
	}
	return out
}

// newFakeEnv wires publish and the mirror against a fake PDS.
func newFakeEnv(t *testing.T, pds string) *env {
	t.Helper()
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	cfg := config.Default()
	cfg.Server.PublicURL = "http://127.0.0.1:9"
	cfg.Accounts = []config.Account{{Username: "news", Bluesky: config.Bluesky{PDSURL: pds, Identifier: "fake.test", AppPassword: "app-pass-word"}}}
	cfg.ApplyDefaults()
	log := zerolog.New(zerolog.NewTestWriter(t))
	e := &env{t: t, ctx: ctx, store: store}
	opts := bridgetest.Options{Store: store, BaseURL: cfg.Server.BaseURL(), Accounts: cfg.Accounts,
		Publish: publish.Settings{HandleDomain: cfg.HandleDomain()}}
	// The same bridge before the mirror was set up.
	e.unmirrored = bridgetest.New(t, opts).Pub
	a := cfg.Accounts[0]
	opts.Mirror = func(site links.Site) publish.Mirror {
		m, err := New(Settings{
			Accounts:   []Account{{Username: a.Username, Replies: a.Replies, Bluesky: a.Bluesky, Handle: "city.example"}},
			HTTPClient: safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second}), NoteURL: site.NoteURL,
		}, store, log)
		if err != nil {
			t.Fatal(err)
		}
		e.mirror = m
		return m
	}
	b := bridgetest.New(t, opts)
	e.fed, e.pub = b.Fed, b.Pub
	e.run()
	t.Cleanup(e.halt)
	return e
}

func TestRateLimitIsObeyed(t *testing.T) {
	pds := newFakePDS(t)
	reset := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	pds.writes = func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			w.Header().Set("RateLimit-Limit", "5000")
			w.Header().Set("RateLimit-Remaining", "0")
			w.Header().Set("RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":"RateLimitExceeded","message":"Rate Limit Exceeded"}`)
			return true
		}
		return false
	}
	e := newFakeEnv(t, pds.URL)
	first := e.post(publish.Draft{Text: "Premier"})
	second := e.post(publish.Draft{Text: "Second"})
	ps := e.waitState(first.ID, storage.BlueskyPending, 5*time.Second)
	deadline := time.Now().Add(2 * time.Second)
	for !strings.Contains(ps.Error, "429") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
		ps, _ = StatusOf(e.ctx, e.store, first.ID)
	}
	if ps.State != storage.BlueskyPending || !strings.Contains(ps.Error, "HTTP 429") {
		t.Errorf("status while limited: %+v", ps)
	}
	if as, _ := AccountStatusOf(e.ctx, e.store, "news"); as.State != StateRateLimited {
		t.Errorf("account while limited: %+v", as)
	}
	e.waitState(first.ID, storage.BlueskyMirrored, 10*time.Second)
	e.waitState(second.ID, storage.BlueskyMirrored, 10*time.Second)
	writes := pds.times("com.atproto.repo.applyWrites")
	if len(writes) != 3 {
		t.Fatalf("%d applyWrites, want 3 (the limited one, then the two posts)", len(writes))
	}
	if writes[1].Before(reset) {
		t.Errorf("a request was sent at %v, before the reset at %v", writes[1], reset)
	}
}

func TestPDSRejectionFailsOnlyThatPost(t *testing.T) {
	pds := newFakePDS(t)
	pds.writes = func(n int, w http.ResponseWriter) bool {
		if n == 1 {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"error":"InvalidRequest","message":"Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"}`)
			return true
		}
		return false
	}
	e := newFakeEnv(t, pds.URL)
	bad := e.post(publish.Draft{Text: "Refusé"})
	good := e.post(publish.Draft{Text: "Accepté"})
	ps := e.waitState(bad.ID, storage.BlueskyFailed, 10*time.Second)
	if !strings.Contains(ps.Error, "InvalidRequest: Invalid app.bsky.feed.post record") {
		t.Errorf("error = %q, want the PDS's message", ps.Error)
	}
	e.waitState(good.ID, storage.BlueskyMirrored, 10*time.Second)
	if n := len(pds.times("com.atproto.repo.applyWrites")); n != 2 {
		t.Errorf("%d applyWrites: the rejected post was retried", n)
	}
	j, err := e.store.ClaimJobs(e.ctx, "test", []string{JobKind}, 10, time.Minute, time.Now().Add(time.Hour))
	if err != nil || len(j) != 0 {
		t.Errorf("jobs left to retry: %d %v", len(j), err)
	}
}

func TestTransientErrorsAreRetried(t *testing.T) {
	pds := newFakePDS(t)
	pds.writes = func(n int, w http.ResponseWriter) bool {
		if n <= 2 {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, `{"error":"UpstreamFailure"}`)
			return true
		}
		return false
	}
	e := newFakeEnv(t, pds.URL)
	st := e.post(publish.Draft{Text: "Patience"})
	e.waitState(st.ID, storage.BlueskyMirrored, 20*time.Second)
	if n := len(pds.times("com.atproto.repo.applyWrites")); n != 3 {
		t.Errorf("%d applyWrites, want 3", n)
	}
}

// TestOlderStatusesStayOffBluesky: editing or deleting a status published
// before the mirror was set up does not bring it to Bluesky.
func TestOlderStatusesStayOffBluesky(t *testing.T) {
	pds := newFakePDS(t)
	e := newFakeEnv(t, pds.URL)
	mirrored := e.pub
	e.pub = e.unmirrored
	old := e.post(publish.Draft{Text: "Avant le miroir"})
	e.pub = mirrored
	if _, err := e.pub.Edit(e.ctx, "news", old.ID, publish.Draft{Text: "Modifié"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pub.Delete(e.ctx, "news", old.ID); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if ps, err := StatusOf(e.ctx, e.store, old.ID); ps != nil || err != nil {
		t.Errorf("mirror state %+v, %v", ps, err)
	}
	if n := len(pds.times("com.atproto.repo.applyWrites")); n != 0 {
		t.Errorf("%d applyWrites", n)
	}
}
