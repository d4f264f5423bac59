package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/push"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/web"
)

// env is the client API on a real SQLite store, a real federation service
// and the real publishing service, served on loopback.
type env struct {
	store    storage.Store
	fed      *federation.Service
	pub      *publish.Service
	api      *api.Server
	url      string
	host     string
	mediaDir string
	push     *push.Service // nil unless envOptions.push
	// requests counts the requests of the federation's client.
	requests *atomic.Int64
}

type envOptions struct {
	maxBytes int64 // media size limit (default: media's 16 MiB)
	// moderation, when set, gives the API its domain blocks.
	moderation func(storage.Store) api.DomainModerator
	// push, when set, gives the API a Web Push service (store, base URL).
	push func(storage.Store, string) *push.Service
	// team, when set, is the console's team login on /oauth/authorize.
	team api.TeamLogin
	// bluesky, when set, acts on Bluesky accounts.
	bluesky api.BlueskyActions
	// strictNetwork refuses private networks (as in production) instead
	// of allowing loopback.
	strictNetwork bool
	// video enables videos with this processor (a fake, or package
	// video's); their jobs run only when the test runs them.
	video publish.VideoProcessor
}

// countingTransport counts the requests going through it.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	accounts := []config.Account{
		{Username: "news", DisplayName: "Ville de Test", Summary: "News from the city hall.", Type: "Organization",
			Fields: []config.Field{{Name: "Website", Value: "https://city.example"}}},
		{Username: "mayor", DisplayName: "The Mayor", Type: "Person"},
	}
	mediaDir := t.TempDir()
	b := bridgetest.New(t, bridgetest.Options{
		Accounts:   accounts,
		PublicOnly: opts.strictNetwork,
		Publish: publish.Settings{MediaLimits: media.Limits{MaxBytes: opts.maxBytes, MaxPixels: 10_000_000}, MediaDir: mediaDir,
			Video: publish.VideoSettings{Processor: opts.video, MaxBytes: 1 << 20}},
		// Tests choose the client address of a request with X-Test-Client
		// (the address rate limits are keyed by).
		Handler: func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if a := r.Header.Get("X-Test-Client"); a != "" {
					r.RemoteAddr = net.JoinHostPort(a, "40000")
				}
				next.ServeHTTP(w, r)
			})
		},
	})
	requests := &atomic.Int64{}
	b.Client.Transport = countingTransport{base: b.Client.Transport, n: requests}
	set := api.Settings{BaseURL: b.URL, Accounts: accounts, HandleDomain: b.Host, Version: "1.2.3"}
	if opts.moderation != nil {
		set.Moderation = opts.moderation(b.Store)
	}
	if opts.push != nil {
		set.Push = opts.push(b.Store, b.URL)
	}
	set.Team = opts.team
	set.Bluesky = opts.bluesky
	srv := api.New(set, b.Store, b.Pub, b.Fed, zerolog.New(zerolog.NewTestWriter(t)))
	// The same routes as the server: federation, web pages and the API.
	pages, err := web.New([]web.Profile{{Username: "news"}, {Username: "mayor"}}, b.Store, b.Fed, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	pages.Routes(b.Mux)
	srv.Routes(b.Mux)
	return &env{store: b.Store, fed: b.Fed, pub: b.Pub, api: srv, url: b.URL, host: b.Host, mediaDir: mediaDir, push: set.Push, requests: requests}
}

// token makes a CLI token of account with scopes.
func (e *env) token(t testing.TB, account, scopes string) string {
	t.Helper()
	tok, _, err := api.CreateToken(context.Background(), e.store, account, 0, "test", scopes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// tokenRow makes a CLI token and returns its row too.
func (e *env) tokenRow(t testing.TB, account, scopes string) (string, storage.Token) {
	t.Helper()
	tok, row, err := api.CreateToken(context.Background(), e.store, account, 0, "test", scopes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return tok, row
}

// response is a recorded answer.
type response struct {
	code   int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

func (r response) list(t *testing.T) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("answer is not a JSON array: %v: %s", err, r.body)
	}
	return l
}

// errorText is the "error" of a Mastodon error answer.
func (r response) errorText(t *testing.T) string {
	t.Helper()
	var m map[string]any
	if json.Unmarshal(r.body, &m) != nil {
		return ""
	}
	s, _ := m["error"].(string)
	return s
}

// request is one API call.
type request struct {
	method, path, token string
	contentType         string
	body                []byte
	header              map[string]string
}

func (e *env) do(t *testing.T, rq request) response {
	t.Helper()
	u := rq.path
	if !strings.HasPrefix(u, "http") {
		u = e.url + u
	}
	req, err := http.NewRequest(rq.method, u, bytes.NewReader(rq.body))
	if err != nil {
		t.Fatal(err)
	}
	if rq.body == nil {
		req.Body = http.NoBody
	}
	if rq.token != "" {
		req.Header.Set("Authorization", "Bearer "+rq.token)
	}
	if rq.contentType != "" {
		req.Header.Set("Content-Type", rq.contentType)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{code: resp.StatusCode, header: resp.Header, body: body}
}

func (e *env) get(t *testing.T, path, token string) response {
	t.Helper()
	return e.do(t, request{method: http.MethodGet, path: path, token: token})
}

// form sends an URL-encoded body.
func (e *env) form(t *testing.T, method, path, token string, v url.Values) response {
	t.Helper()
	return e.do(t, request{method: method, path: path, token: token,
		contentType: "application/x-www-form-urlencoded", body: []byte(v.Encode())})
}

// jsonBody sends a JSON body.
func (e *env) jsonBody(t *testing.T, method, path, token string, v any) response {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return e.do(t, request{method: method, path: path, token: token, contentType: "application/json", body: b})
}

// multipartBody builds a multipart body of fields and optional file.
func multipartBody(t *testing.T, fields [][2]string, fileName string, file []byte) ([]byte, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if fileName != "" {
		fw, err := mw.CreateFormFile("file", fileName)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(file)
	}
	for _, f := range fields {
		mw.WriteField(f[0], f[1])
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

// upload sends an image to POST /api/v2/media.
func (e *env) upload(t *testing.T, token string, file []byte, fields ...[2]string) response {
	t.Helper()
	body, ct := multipartBody(t, fields, "image.png", file)
	return e.do(t, request{method: http.MethodPost, path: "/api/v2/media", token: token, contentType: ct, body: body})
}

// post publishes a status through the API and returns its id.
func (e *env) post(t *testing.T, token string, v url.Values) string {
	t.Helper()
	r := e.form(t, http.MethodPost, "/api/v1/statuses", token, v)
	if r.code != http.StatusOK {
		t.Fatalf("POST /api/v1/statuses: %d %s", r.code, r.body)
	}
	return r.json(t)["id"].(string)
}

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 13), uint8(x ^ y), 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// fixture reads a JSON fixture of testdata.
func fixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// sameKeys checks that got has exactly the keys of want, recursively
// through objects and the first element of non-empty arrays.
func sameKeys(t *testing.T, where string, got, want map[string]any) {
	t.Helper()
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 || len(extra) > 0 {
		t.Errorf("%s: missing keys %v, unexpected keys %v", where, missing, extra)
	}
	for k, wv := range want {
		gv := got[k]
		switch w := wv.(type) {
		case map[string]any:
			if g, ok := gv.(map[string]any); ok {
				sameKeys(t, where+"."+k, g, w)
			}
		case []any:
			g, ok := gv.([]any)
			if ok && len(g) > 0 && len(w) > 0 {
				gm, ok1 := g[0].(map[string]any)
				wm, ok2 := w[0].(map[string]any)
				if ok1 && ok2 {
					sameKeys(t, where+"."+k+"[0]", gm, wm)
				}
			}
		}
	}
}

// checkNothingWritten checks that no status was stored and no job queued.
func (e *env) checkNothingWritten(t *testing.T, name string, pendingBefore int64) {
	t.Helper()
	ctx := context.Background()
	for _, acc := range []string{"news", "mayor"} {
		if n, err := e.store.CountStatuses(ctx, acc, nil); err != nil || n != 0 {
			t.Errorf("%s: %s has %d statuses (%v), want 0", name, acc, n, err)
		}
	}
	if st := e.jobStats(t); st.Pending != pendingBefore {
		t.Errorf("%s: %d pending jobs, want %d", name, st.Pending, pendingBefore)
	}
}

func (e *env) jobStats(t *testing.T) storage.JobStats {
	t.Helper()
	st, err := e.store.JobStats(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return st
}
