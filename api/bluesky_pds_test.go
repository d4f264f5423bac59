package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

const (
	collPost   = "app.bsky.feed.post"
	collLike   = "app.bsky.feed.like"
	collRepost = "app.bsky.feed.repost"
	collBlock  = "app.bsky.graph.block"
)

type refJSON struct {
	URI string `json:"uri"`
	CID string `json:"cid"`
}

// feedPost is the part of an app.bsky.feed.post the test reads.
type feedPost struct {
	Text   string `json:"text"`
	Facets []struct {
		Features []struct {
			Type string `json:"$type"`
		} `json:"features"`
	} `json:"facets"`
	Reply *struct {
		Root   refJSON `json:"root"`
		Parent refJSON `json:"parent"`
	} `json:"reply"`
}

// xrpcCounter counts requests by XRPC method.
type xrpcCounter struct {
	base http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
}

func (c *xrpcCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[strings.TrimPrefix(r.URL.Path, "/xrpc/")]++
	c.mu.Unlock()
	return c.base.RoundTrip(r)
}

func (c *xrpcCounter) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

// bskyEnv is the bridge wired as cmd/bridge does, with an account
// mirrored to the PDS, and its client API.
type bskyEnv struct {
	t      *testing.T
	ctx    context.Context
	pds    *pdstest.Server
	acct   pdstest.Account
	store  storage.Store
	pub    *publish.Service
	mirror *atproto.Mirror
	calls  *xrpcCounter
	api    *httptest.Server
}

func newBskyEnv(t *testing.T, srv *pdstest.Server) *bskyEnv {
	t.Helper()
	ctx := context.Background()
	e := &bskyEnv{t: t, ctx: ctx, pds: srv, store: storagetest.OpenSQLite(t)}
	var err error
	if e.acct, err = srv.CreateAccount(ctx, fmt.Sprintf("city%d.test", time.Now().UnixMilli()%1000000)); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Server.PublicURL = "http://127.0.0.1:9"
	cfg.Federation.AllowPrivateNetworks = true
	cfg.Federation.AccountDomain = "city.example"
	cfg.Accounts = []config.Account{{Username: "news", DisplayName: "Ville de Test",
		Bluesky: config.Bluesky{PDSURL: srv.URL, Identifier: e.acct.Handle, AppPassword: e.acct.AppPassword}}}
	cfg.ApplyDefaults()
	acc := cfg.Accounts[0]
	log := zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 30 * time.Second, MaxBodyBytes: 16 << 20})
	e.calls = &xrpcCounter{base: client.Transport}
	client.Transport = e.calls
	b := bridgetest.New(t, bridgetest.Options{
		Store: e.store, BaseURL: cfg.Server.BaseURL(), Federation: cfg.Federation, Accounts: cfg.Accounts, Log: log,
		Publish: publish.Settings{HandleDomain: cfg.HandleDomain()},
		Mirror: func(site links.Site) publish.Mirror {
			m, err := atproto.New(atproto.Settings{
				Accounts:     []atproto.Account{{Username: acc.Username, DisplayName: acc.DisplayName, Bluesky: acc.Bluesky, Handle: cfg.BlueskyHandle(acc)}},
				HandleDomain: cfg.HandleDomain(), HTTPClient: client, NoteURL: site.NoteURL,
			}, e.store, log.With().Str("component", "bluesky").Logger())
			if err != nil {
				t.Fatal(err)
			}
			e.mirror = m
			return m
		},
	})
	e.pub = b.Pub
	bridgetest.RunJobs(t, e.store, 5*time.Second, e.mirror.Register)
	apiSrv := api.New(api.Settings{BaseURL: cfg.Server.BaseURL(), HandleDomain: cfg.HandleDomain(), Version: "test",
		Accounts: cfg.Accounts, Bluesky: e.mirror}, e.store, b.Pub, b.Fed, log.With().Str("component", "api").Logger())
	mux := http.NewServeMux()
	apiSrv.Routes(mux)
	e.api = httptest.NewServer(mux)
	t.Cleanup(e.api.Close)
	return e
}

func (e *bskyEnv) records(collection string) []pdstest.Record {
	e.t.Helper()
	rs, err := e.pds.ListRecords(e.ctx, e.acct.DID, collection)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

// waitState waits for a status's mirror state.
func (e *bskyEnv) waitState(id int64, state string, timeout time.Duration) *atproto.PostStatus {
	e.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ps, err := atproto.StatusOf(e.ctx, e.store, id)
		if err != nil {
			e.t.Fatal(err)
		}
		if ps != nil && ps.State == state {
			return ps
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("status %d: mirror state %+v, want %s", id, ps, state)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestAppViewAnswer: against the reference PDS and AppView, through the
// client API: a Bluesky user's reply to our mirrored post comes in, with
// the author's profile read by getProfiles (bio escaped); the team answers
// it from the API, which writes an app.bsky.feed.post whose reply root is
// our post (the parent's root) and whose parent is the reply, with its
// facets, never delivered to the fediverse, and the AppView shows it in
// the thread; like, repost and their undos write and delete the records;
// a boost of our own mirrored post is a repost of its record; a block is a
// block record (relationships say so), a mute is the AppView's, and their
// undos remove them; a report answers 502 with the PDS's reason (no
// moderation service in the harness).
func TestAppViewAnswer(t *testing.T) {
	srv := pdstest.StartT(t, pdstest.Options{AppView: true})
	e := newBskyEnv(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 12*time.Minute)
	defer cancel()

	st, err := e.pub.Create(ctx, "news", publish.Draft{Text: "Travaux rue principale cette semaine"})
	if err != nil {
		t.Fatal(err)
	}
	e.waitState(st.ID, storage.BlueskyMirrored, 60*time.Second)
	ours := e.records(collPost)[0]
	ref := map[string]string{"uri": ours.URI, "cid": ours.CID}

	alice, err := srv.CreateAccount(ctx, fmt.Sprintf("alice%d.test", time.Now().UnixMilli()%1000000))
	if err != nil {
		t.Fatal(err)
	}
	profile := map[string]any{"$type": "app.bsky.actor.profile", "displayName": "Alice Martin",
		"description": "Riveraine <b>engagée</b> & curieuse"}
	if err := srv.XRPC(ctx, http.MethodPost, "com.atproto.repo.putRecord", alice.AccessJWT, nil,
		map[string]any{"repo": alice.DID, "collection": "app.bsky.actor.profile", "rkey": "self", "record": profile}, nil); err != nil {
		t.Fatal(err)
	}
	reply, err := srv.CreateRecord(ctx, alice, collPost, map[string]any{"$type": collPost, "createdAt": pdstest.Now(),
		"text": "Combien de temps ?", "reply": map[string]any{"root": ref, "parent": ref}})
	if err != nil {
		t.Fatal(err)
	}
	var rs storage.RemoteStatus
	for deadline := time.Now().Add(5 * time.Minute); ; { // a loaded machine indexes slowly
		if _, err := e.mirror.PollInbox(ctx, "news"); err != nil {
			t.Logf("poll: %v", err)
		}
		if rs, err = e.store.GetRemoteStatusByNoteID(ctx, reply.URI); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice's reply not read: %v", err)
		}
		time.Sleep(time.Second)
	}
	if n := e.calls.count("app.bsky.actor.getProfiles"); n == 0 {
		t.Error("no app.bsky.actor.getProfiles call")
	}
	if p, err := e.store.GetRemoteProfile(ctx, alice.DID); err != nil || p.DisplayName != "Alice Martin" ||
		!strings.Contains(p.Summary, "Riveraine &lt;b&gt;engagée&lt;/b&gt; &amp; curieuse") {
		t.Errorf("alice's profile: %+v, %v", p, err)
	}

	tok, _, err := api.CreateToken(ctx, e.store, "news", 0, "test", "read write", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hs := e.api
	call := func(method, path string, form url.Values, wantCode int) map[string]any {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, method, hs.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantCode {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, body, wantCode)
		}
		var out map[string]any
		if len(body) > 0 && body[0] == '{' {
			if err := json.Unmarshal(body, &out); err != nil {
				t.Fatal(err)
			}
		}
		return out
	}

	// The answer.
	text := "Trois semaines. Détails : https://ville.example/travaux #travaux"
	ans := call("POST", "/api/v1/statuses", url.Values{"status": {text}, "in_reply_to_id": {fmt.Sprint(rs.ID)}}, 200)
	if ans["visibility"] != "public" || ans["in_reply_to_id"] != fmt.Sprint(rs.ID) {
		t.Errorf("answer: visibility %v, in_reply_to_id %v", ans["visibility"], ans["in_reply_to_id"])
	}
	var ansID int64
	fmt.Sscan(ans["id"].(string), &ansID)
	ps := e.waitState(ansID, storage.BlueskyMirrored, 90*time.Second)
	if len(ps.URIs) != 1 {
		t.Fatalf("answer's records: %+v", ps)
	}
	if got, err := e.store.GetStatus(ctx, ansID); err != nil || got.Visibility != storage.VisibilityBluesky {
		t.Errorf("answer stored as %+v, %v", got, err)
	}
	if _, queued, err := e.pub.DeliveryStats(ctx, ansID); err != nil || queued {
		t.Errorf("the answer was queued for the fediverse: %v, %v", queued, err)
	}
	if n, err := e.store.CountStatuses(ctx, "news", []string{storage.VisibilityPublic, storage.VisibilityUnlisted}); err != nil || n != 1 {
		t.Errorf("%d public statuses, want 1 (the answer is not one): %v", n, err)
	}
	rkey := ps.URIs[0][strings.LastIndexByte(ps.URIs[0], '/')+1:]
	rec, err := srv.GetRecord(ctx, e.acct.DID, collPost, rkey)
	if err != nil {
		t.Fatal(err)
	}
	var post feedPost
	if err := json.Unmarshal(rec.Value, &post); err != nil {
		t.Fatal(err)
	}
	if post.Reply == nil || post.Reply.Parent != (refJSON{reply.URI, reply.CID}) || post.Reply.Root != (refJSON{ours.URI, ours.CID}) {
		t.Errorf("answer's reply refs %+v; want parent %s and root %s", post.Reply, reply.URI, ours.URI)
	}
	kinds := map[string]bool{}
	for _, f := range post.Facets {
		for _, ft := range f.Features {
			kinds[ft.Type] = true
		}
	}
	if !kinds["app.bsky.richtext.facet#link"] || !kinds["app.bsky.richtext.facet#tag"] {
		t.Errorf("answer's facets %+v", post.Facets)
	}
	// The AppView shows it under alice's reply.
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var thread struct {
			Thread struct {
				Replies []struct {
					Post struct {
						URI string `json:"uri"`
					} `json:"post"`
				} `json:"replies"`
			} `json:"thread"`
		}
		err := srv.XRPC(ctx, http.MethodGet, "app.bsky.feed.getPostThread", alice.AccessJWT, url.Values{"uri": {reply.URI}}, nil, &thread)
		if err == nil && slices.ContainsFunc(thread.Thread.Replies, func(r struct {
			Post struct {
				URI string `json:"uri"`
			} `json:"post"`
		}) bool {
			return r.Post.URI == ps.URIs[0]
		}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the AppView's thread of alice's reply lacks the answer: %+v, %v", thread, err)
		}
		time.Sleep(time.Second)
	}

	// Like, repost, and their undos.
	waitRecords := func(coll, subject string, want int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			n := 0
			for _, r := range e.records(coll) {
				var v struct {
					Subject any `json:"subject"`
				}
				_ = json.Unmarshal(r.Value, &v)
				if s, ok := v.Subject.(map[string]any); ok && s["uri"] == subject || v.Subject == subject {
					n++
				}
			}
			if n == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d %s records of %s, want %d", n, coll, subject, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	path := fmt.Sprintf("/api/v1/statuses/%d", rs.ID)
	if s := call("POST", path+"/favourite", nil, 200); s["favourited"] != true {
		t.Errorf("favourited %v", s["favourited"])
	}
	waitRecords(collLike, reply.URI, 1)
	if s := call("POST", path+"/reblog", nil, 200); s["reblogged"] != true {
		t.Errorf("reblogged %v", s["reblogged"])
	}
	waitRecords(collRepost, reply.URI, 1)
	if s := call("GET", path, nil, 200); s["favourited"] != true || s["reblogged"] != true {
		t.Errorf("after like and repost: favourited %v, reblogged %v", s["favourited"], s["reblogged"])
	}
	call("POST", path+"/unfavourite", nil, 200)
	call("POST", path+"/unreblog", nil, 200)
	waitRecords(collLike, reply.URI, 0)
	waitRecords(collRepost, reply.URI, 0)
	if s := call("GET", path, nil, 200); s["favourited"] != false || s["reblogged"] != false {
		t.Errorf("after the undos: favourited %v, reblogged %v", s["favourited"], s["reblogged"])
	}
	// A boost of our own mirrored post.
	own := fmt.Sprintf("/api/v1/statuses/%d", st.ID)
	call("POST", own+"/reblog", nil, 200)
	waitRecords(collRepost, ours.URI, 1)
	call("POST", own+"/unreblog", nil, 200)
	waitRecords(collRepost, ours.URI, 0)

	// Block, mute, and their undos.
	acc := "/api/v1/accounts/" + alice.Handle
	if rel := call("POST", acc+"/block", nil, 200); rel["blocking"] != true {
		t.Errorf("block: %v", rel)
	}
	waitRecords(collBlock, alice.DID, 1)
	call("POST", acc+"/block", nil, 200) // twice: one record
	waitRecords(collBlock, alice.DID, 1)
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/api/v1/accounts/relationships?id[]="+alice.Handle, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		var rels []map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&rels)
		resp.Body.Close()
		if len(rels) != 1 || rels[0]["blocking"] != true {
			t.Errorf("relationships: %v", rels)
		}
	}
	if rel := call("POST", acc+"/unblock", nil, 200); rel["blocking"] != false {
		t.Errorf("unblock: %v", rel)
	}
	waitRecords(collBlock, alice.DID, 0)
	mutes := func() []string {
		var out struct {
			Mutes []struct {
				DID string `json:"did"`
			} `json:"mutes"`
		}
		if err := srv.XRPC(ctx, http.MethodGet, "app.bsky.graph.getMutes", e.acct.AccessJWT, nil, nil, &out); err != nil {
			t.Fatal(err)
		}
		var dids []string
		for _, m := range out.Mutes {
			dids = append(dids, m.DID)
		}
		return dids
	}
	if rel := call("POST", acc+"/mute", nil, 200); rel["muting"] != true {
		t.Errorf("mute: %v", rel)
	}
	if m := mutes(); !slices.Contains(m, alice.DID) {
		t.Errorf("the AppView's mutes %v lack alice", m)
	}
	call("POST", acc+"/unmute", nil, 200)
	if m := mutes(); slices.Contains(m, alice.DID) {
		t.Errorf("the AppView's mutes %v still have alice", m)
	}

	// A report: the harness's PDS has no moderation service to send it to.
	rep := call("POST", "/api/v1/reports", url.Values{"account_id": {alice.Handle}, "category": {"spam"},
		"status_ids[]": {fmt.Sprint(rs.ID)}, "comment": {"pourriel"}}, http.StatusBadGateway)
	if msg, _ := rep["error"].(string); !strings.Contains(msg, "Bluesky refused the report") {
		t.Errorf("report: %v", rep)
	}
	t.Logf("report answered 502: %v", rep["error"])
}
