package federation_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// startGuarded is startBridge with federation settings and a moderation
// service (blocks from mod).
func startGuarded(t *testing.T, fed config.Federation, mod config.Moderation) (*bridge, *moderation.Service) {
	t.Helper()
	return startGuardedWith(t, fed, mod, []config.Account{{Username: "news", DisplayName: "Ville de Test", Summary: "Official.", Type: "Organization"}})
}

// startGuardedWith is startGuarded with the given accounts; the bridge's
// actor is the first one's.
func startGuardedWith(t *testing.T, fed config.Federation, mod config.Moderation, accounts []config.Account) (*bridge, *moderation.Service) {
	t.Helper()
	store := storagetest.OpenSQLite(t)
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second})
	m, err := moderation.New(context.Background(), mod, store, client, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b := bridgetest.New(t, bridgetest.Options{Store: store, Federation: fed, Accounts: accounts, Moderation: m})
	return &bridge{svc: b.Fed, store: store, url: b.URL, actor: b.URL + "/users/" + accounts[0].Username}, m
}

// raidMention is a Create of a Note by actor i of remote mentioning target.
func raidMention(remote *fedtest.Server, i int, target string, n int) map[string]any {
	actor := remote.ActorID(i)
	note := actor + "/statuses/" + strconv.Itoa(n)
	return map[string]any{
		"id":   note + "/activity",
		"type": "Create",
		"to":   []string{target},
		"object": map[string]any{
			"id": note, "type": "Note", "attributedTo": actor, "to": []string{target},
			"content": "<p>@news hello</p>",
			"tag":     []any{map[string]any{"type": "Mention", "href": target, "name": "@news"}},
		},
	}
}

func signedAct(t *testing.T, remote *fedtest.Server, i int, inbox string, act map[string]any) *http.Request {
	t.Helper()
	r, err := remote.SignedActivity(i, inbox, act, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sendNoRedirect(t *testing.T, r *http.Request) (*http.Response, string) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

// TestBlockedDomainRefusedBeforeKeyFetch: requests signed by, or acting
// for, a blocked domain are refused before any key is fetched, so the
// blocked server's key URL sees no request at all.
func TestBlockedDomainRefusedBeforeKeyFetch(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 2)
	blocked := fedtest.StartWith(t, "127.0.0.3:0", 2, fedtest.Options{Keys: keys})
	allowed := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: keys})
	other := fedtest.StartWith(t, "127.0.0.4:0", 1, fedtest.Options{Keys: keys})
	// "127.0.0.3" blocks the server whatever its port.
	b, _ := startGuarded(t, config.Federation{}, config.Moderation{DomainBlocks: []string{"127.0.0.3"}})

	tests := []struct {
		name   string
		req    func() *http.Request
		code   int
		reason string
	}{
		{"Follow signed by a blocked server", func() *http.Request {
			return signedAct(t, blocked, 0, b.url+"/inbox", blocked.FollowActivity(0, b.actor))
		}, 403, "domain blocked"},
		{"Follow to the personal inbox", func() *http.Request {
			return signedAct(t, blocked, 1, b.actor+"/inbox", blocked.FollowActivity(1, b.actor))
		}, 403, "domain blocked"},
		{"mention from a blocked server", func() *http.Request {
			return signedAct(t, blocked, 0, b.url+"/inbox", raidMention(blocked, 0, b.actor, 1))
		}, 403, "domain blocked"},
		{"actor on a blocked domain, key elsewhere", func() *http.Request {
			f := allowed.FollowActivity(0, b.actor)
			f["actor"] = blocked.ActorID(0)
			return signedAct(t, allowed, 0, b.url+"/inbox", f)
		}, 403, "domain blocked"},
		{"forged actor: on another host than its key", func() *http.Request {
			f := allowed.FollowActivity(0, b.actor)
			f["actor"] = other.ActorID(0)
			return signedAct(t, allowed, 0, b.url+"/inbox", f)
		}, 401, "signer is not the activity's actor"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := send(t, tc.req())
			if code != tc.code || !strings.Contains(body, tc.reason) {
				t.Errorf("status %d %s, want %d %q", code, body, tc.code, tc.reason)
			}
		})
	}
	for _, s := range []*fedtest.Server{blocked, allowed, other} {
		if n := len(s.Fetches()); n != 0 {
			t.Errorf("%s saw %d key fetches, want none", s.Host(), n)
		}
	}
	if n := b.followers(t); n != 0 {
		t.Errorf("%d followers stored", n)
	}
	if st, _ := b.store.JobStats(context.Background(), time.Now()); st.Pending != 0 {
		t.Errorf("%d jobs queued (an Accept?)", st.Pending)
	}
	// The allowed server still follows.
	if code, body := send(t, signedAct(t, allowed, 0, b.url+"/inbox", allowed.FollowActivity(0, b.actor))); code != 202 {
		t.Errorf("allowed Follow: %d %s", code, body)
	}
}

// TestBlockedDomainReceivesNothing: blocking removes the server's
// followers and cancels its pending deliveries; posts fan out to the
// others only; a delivery job to it that slips through is failed unsent.
func TestBlockedDomainReceivesNothing(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	blocked := fedtest.StartWith(t, "127.0.0.3:0", 2, fedtest.Options{Keys: keys})
	allowed := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	b, mod := startGuarded(t, config.Federation{}, config.Moderation{})
	ctx := context.Background()
	follow(t, b, blocked, allowed)
	accept, err := b.store.EnqueueJob(ctx, storage.NewJob{Kind: federation.JobDeliver, Host: blocked.Host(), Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}

	res, err := mod.BlockDomains(ctx, []string{"127.0.0.3"}, "raid")
	if err != nil {
		t.Fatal(err)
	}
	if res.FollowersRemoved != 2 || res.DeliveriesCancelled != 1 {
		t.Errorf("BlockDomains = %+v, want 2 followers removed, 1 delivery cancelled", res)
	}
	if j, _ := b.store.GetJob(ctx, accept); j.Status != storage.JobFailed {
		t.Errorf("pending delivery %s, want failed", j.Status)
	}

	// A follower that slipped in (another process), a mention of a
	// blocked actor and a raw delivery job: none is sent.
	follow(t, b, blocked)
	err = b.svc.Enqueue(ctx, b.store, federation.Outgoing{
		Account: "news", Activity: createActivity(t, b, 1), Followers: true,
		Inboxes: []string{blocked.InboxURL(0)}, Ref: "status:1",
	})
	if err != nil {
		t.Fatal(err)
	}
	payload := mustJSON(t, map[string]any{"signer": "news", "inbox": blocked.SharedInboxURL(), "activity": json.RawMessage(createActivity(t, b, 2))})
	raw, err := b.store.EnqueueJob(ctx, storage.NewJob{Kind: federation.JobDeliver, Host: blocked.Host(), Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	runDeliverer(t, b.svc, 4)
	if !allowed.WaitFor(1, 10*time.Second) {
		t.Fatal("the allowed follower got nothing")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		j, _ := b.store.GetJob(ctx, raw)
		if j.Status == storage.JobFailed {
			if j.LastError != "domain blocked" {
				t.Errorf("raw delivery failed with %q", j.LastError)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("raw delivery to the blocked server is %s", j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
	st, _, err := b.svc.DeliveryStats(ctx, "status:1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Done+st.Pending != 1 || st.Failed != 0 {
		t.Errorf("deliveries of the post: %+v, want one (to the allowed server)", st)
	}
	if n := blocked.Count(); n != 0 {
		t.Errorf("the blocked server received %d requests", n)
	}
}

func TestSignedGetsFromBlockedDomain(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	blocked := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: keys})
	allowed := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	b, _ := startGuarded(t, config.Federation{}, config.Moderation{DomainBlocks: []string{"127.0.0.3"}})
	get := func(s *fedtest.Server, url string) *http.Request {
		r, err := s.SignedGet(0, url, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	unsigned, _ := http.NewRequest(http.MethodGet, b.actor, nil)
	unsigned.Header.Set("Accept", "application/activity+json")
	tests := []struct {
		name string
		req  *http.Request
		code int
	}{
		{"actor, signed by a blocked server", get(blocked, b.actor), 403},
		{"followers, signed by a blocked server", get(blocked, b.actor+"/followers"), 403},
		{"actor, signed by another server", get(allowed, b.actor), 200},
		{"actor, unsigned", unsigned, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, body := send(t, tc.req); code != tc.code {
				t.Errorf("status %d %s, want %d", code, body, tc.code)
			}
		})
	}
	if n := len(blocked.Fetches()); n != 0 {
		t.Errorf("the blocked server saw %d key fetches", n)
	}
}

func TestAuthorizedFetch(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	blocked := fedtest.StartWith(t, "127.0.0.3:0", 1, fedtest.Options{Keys: keys})
	allowed := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: keys})
	b, _ := startGuarded(t, config.Federation{AuthorizedFetch: true}, config.Moderation{DomainBlocks: []string{"127.0.0.3"}})
	now := time.Now()
	as2 := "application/activity+json"
	unsigned := func(path, accept string) func() *http.Request {
		return func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, b.url+path, nil)
			if accept != "" {
				r.Header.Set("Accept", accept)
			}
			return r
		}
	}
	signed := func(s *fedtest.Server, i int, path string, at time.Time) func() *http.Request {
		return func() *http.Request {
			r, err := s.SignedGet(i, b.url+path, at)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
	}
	tests := []struct {
		name     string
		req      func() *http.Request
		code     int
		contains string // in the body
		lacks    string // not in the body
		private  bool   // Cache-Control private
	}{
		{"unsigned actor: minimal document with the key", unsigned("/users/news", as2), 200, "publicKeyPem", "Official.", true},
		{"unsigned actor in HTML: redirect to the profile", unsigned("/users/news", "text/html"), 302, "", "", false},
		{"unsigned followers", unsigned("/users/news/followers", as2), 401, "not signed", "", false},
		{"unsigned outbox", unsigned("/users/news/outbox", ""), 401, "not signed", "", false},
		{"unsigned featured", unsigned("/users/news/collections/featured", as2), 401, "not signed", "", false},
		{"unsigned note activity without Accept", unsigned("/users/news/statuses/1/activity", ""), 401, "not signed", "", false},
		{"unsigned instance actor stays public", unsigned("/actor", as2), 200, "publicKeyPem", "", false},
		{"unsigned WebFinger stays public", unsigned("/.well-known/webfinger?resource=acct:news@"+strings.TrimPrefix(b.url, "http://"), ""), 200, "self", "", false},
		{"signed actor: full document", signed(allowed, 0, "/users/news", now), 200, "Official.", "", true},
		{"signed followers", signed(allowed, 1, "/users/news/followers", now), 200, "totalItems", "", true},
		{"signed by a blocked server", signed(blocked, 0, "/users/news", now), 403, "domain blocked", "", false},
		{"signature too old", signed(allowed, 0, "/users/news/outbox", now.Add(-3*time.Hour)), 401, "date", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := sendNoRedirect(t, tc.req())
			if resp.StatusCode != tc.code {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, tc.code)
			}
			if tc.contains != "" && !strings.Contains(body, tc.contains) {
				t.Errorf("body lacks %q: %s", tc.contains, body)
			}
			if tc.lacks != "" && strings.Contains(body, tc.lacks) {
				t.Errorf("body has %q: %s", tc.lacks, body)
			}
			if cc := resp.Header.Get("Cache-Control"); tc.private != strings.Contains(cc, "private") {
				t.Errorf("Cache-Control %q", cc)
			}
		})
	}
	if n := len(blocked.Fetches()); n != 0 {
		t.Errorf("the blocked server saw %d key fetches", n)
	}
}

func TestInboxRateLimits(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 3, fedtest.Options{Keys: keys})
	b, _ := startGuarded(t, config.Federation{InboxLimits: config.InboxLimits{PerDomain: "5/min", PerActor: "3/min"}}, config.Moderation{})
	n := 0
	steps := []struct {
		name   string
		actor  int
		forged bool // signature broken: refused, not counted
		code   int
		reason string
	}{
		{"actor 0, 1st", 0, false, 202, ""},
		{"actor 0, forged", 0, true, 401, "signature"},
		{"actor 0, forged again", 0, true, 401, "signature"},
		{"actor 0, 2nd", 0, false, 202, ""},
		{"actor 0, 3rd", 0, false, 202, ""},
		{"actor 0, over its rate", 0, false, 429, "actor"},
		{"actor 1, 1st", 1, false, 202, ""},
		{"actor 1, 2nd: the domain's 5th", 1, false, 202, ""},
		{"actor 2: over the domain's rate", 2, false, 429, "domain"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			n++
			r := signedAct(t, remote, st.actor, b.url+"/inbox", raidMention(remote, st.actor, b.actor, n))
			if st.forged {
				sig := r.Header.Get("Signature")
				i := strings.Index(sig, `signature="`) + len(`signature="`)
				r.Header.Set("Signature", sig[:i]+"AAAA"+sig[i+4:])
			}
			resp, body := sendNoRedirect(t, r)
			if resp.StatusCode != st.code || !strings.Contains(body, st.reason) {
				t.Fatalf("status %d %s, want %d %q", resp.StatusCode, body, st.code, st.reason)
			}
			if st.code == 429 {
				secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
				if err != nil || secs < 1 || secs > 60 {
					t.Errorf("Retry-After %q", resp.Header.Get("Retry-After"))
				}
			}
		})
	}
}

func TestKeyFetchBudget(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 3, fedtest.Options{Keys: keys})
	b, _ := startGuarded(t, config.Federation{InboxLimits: config.InboxLimits{KeyFetches: "2/min"}}, config.Moderation{})
	inbox := b.url + "/inbox"
	steps := []struct {
		name        string
		req         func() *http.Request
		code        int
		wantFetches int
	}{
		{"unknown actor 0", func() *http.Request { return signedAct(t, remote, 0, inbox, raidMention(remote, 0, b.actor, 1)) }, 202, 1},
		{"unknown actor 1", func() *http.Request { return signedAct(t, remote, 1, inbox, raidMention(remote, 1, b.actor, 2)) }, 202, 2},
		{"unknown actor 2: over the budget", func() *http.Request { return signedAct(t, remote, 2, inbox, raidMention(remote, 2, b.actor, 3)) }, 429, 2},
		{"known actor 0: no fetch needed", func() *http.Request { return signedAct(t, remote, 0, inbox, raidMention(remote, 0, b.actor, 4)) }, 202, 2},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			resp, body := sendNoRedirect(t, st.req())
			if resp.StatusCode != st.code {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, body, st.code)
			}
			if st.code == 429 && resp.Header.Get("Retry-After") == "" {
				t.Error("429 without Retry-After")
			}
			if n := len(remote.Fetches()); n != st.wantFetches {
				t.Errorf("%d key fetches, want %d", n, st.wantFetches)
			}
		})
	}
}

// TestKeyFailureRemembered: a key that cannot be fetched is not fetched
// again for every request naming it.
func TestKeyFailureRemembered(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	var gets atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.5:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		http.NotFound(w, r)
	}))
	gone.Listener.Close()
	gone.Listener = ln
	gone.Start()
	t.Cleanup(gone.Close)
	b, _ := startGuarded(t, config.Federation{}, config.Moderation{})
	ghost := gone.URL + "/users/ghost"
	for i := range 3 {
		act := raidMention(remote, 0, b.actor, i)
		act["actor"] = ghost
		act["id"] = ghost + "/mentions/" + strconv.Itoa(i)
		r := signedAct(t, remote, 0, b.url+"/inbox", act)
		r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), remote.KeyID(0), ghost+"#main-key", 1))
		if code, body := send(t, r); code != 401 || !strings.Contains(body, "key") {
			t.Fatalf("request %d: status %d %s, want 401 about the key", i, code, body)
		}
	}
	if n := gets.Load(); n != 1 {
		t.Errorf("%d fetches of the missing key, want 1", n)
	}
}

func TestDecodeActorDocNames(t *testing.T) {
	doc := func(username, name string) []byte {
		b, _ := json.Marshal(map[string]any{
			"@context": []string{"https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"},
			"id":       "https://remote.example/users/a", "type": "Person",
			"preferredUsername": username, "name": name,
			"inbox":     "https://remote.example/users/a/inbox",
			"publicKey": map[string]any{"id": "https://remote.example/users/a#main-key", "owner": "https://remote.example/users/a", "publicKeyPem": "PEM"},
		})
		return b
	}
	zalgo := "e" + strings.Repeat("\u0301", 10_000)
	tests := []struct {
		name, username, display string
		wantErr                 string // in the DecodeError; "" when accepted
		wantNameBytes           int    // length of Name as kept
	}{
		{"plain", "alice", "Alice", "", 5},
		{"accented username, decomposed", "jose\u0301", "José", "", len("José")},
		{"RTL override in the name: kept for sanitize", "bob", "Bob \u202Egnp.exe", "", len("Bob \u202Egnp.exe")},
		{"10,000 combining marks in the name: capped", "dave", zalgo, "", federation.MaxRemoteNameBytes - 1},
		{"username with 10,000 combining marks", zalgo, "x", "longer than", 0},
		{"username stacking combining marks", "e" + strings.Repeat("\u0301", 6), "x", "combining marks", 0},
		{"username with an RTL override", "adm\u202Enim", "x", "invisible", 0},
		{"username with a zero-width space", "ad\u200Bmin", "x", "invisible", 0},
		{"username with a space", "ad min", "x", "invisible", 0},
		{"username too long", strings.Repeat("a", 65), "x", "longer than", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := federation.DecodeActorDoc(context.Background(), doc(tc.username, tc.display))
			if tc.wantErr != "" {
				if err == nil || !federation.IsDecodeError(err) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want a decode error about %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(d.Name) != tc.wantNameBytes || !utf8.ValidString(d.Name) {
				t.Errorf("Name is %d bytes (valid UTF-8: %v), want %d", len(d.Name), utf8.ValidString(d.Name), tc.wantNameBytes)
			}
			// Where it is shown, the name is cleaned up.
			if shown := sanitize.Name(d.Name, 0); strings.ContainsAny(shown, "\u202E\u200B") || strings.Count(shown, "\u0301") > 8 {
				t.Errorf("shown as %q", shown)
			}
		})
	}
}

// TestInboxBodyBudgetReleased: an admitted request's body budget is given back
// (many sequential requests in a row never hit "busy").
func TestInboxBodyBudgetReleased(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	b, _ := startGuarded(t, config.Federation{InboxLimits: config.InboxLimits{PerDomain: config.RateOff, PerActor: config.RateOff}}, config.Moderation{})
	big := bytes.Repeat([]byte("a"), 900<<10)
	for i := range 60 { // 60 × 900 KiB > the 32 MiB bound
		act := raidMention(remote, 0, b.actor, i)
		act["pad"] = string(big)
		if code, body := send(t, signedAct(t, remote, 0, b.url+"/inbox", act)); code != 202 {
			t.Fatalf("request %d: %d %s", i, code, body)
		}
	}
}

// TestAccountDomainBlocks: a domain one account blocked (client API) is
// refused for that account only: its Follow and its deliveries, not the
// other account's.
func TestAccountDomainBlocks(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	remote := fedtest.StartWith(t, "127.0.0.3:0", 2, fedtest.Options{Keys: keys})
	b, mod := startGuardedWith(t, config.Federation{}, config.Moderation{}, []config.Account{
		{Username: "news", Type: "Organization"}, {Username: "events", Type: "Organization"}})
	events := strings.TrimSuffix(b.actor, "/news") + "/events"
	ctx := context.Background()
	if _, err := mod.BlockDomainsFor(ctx, "news", []string{"127.0.0.3"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		target string
		want   int
	}{{b.actor, http.StatusForbidden}, {events, http.StatusAccepted}} {
		r, _, err := remote.SignedFollow(0, b.url+"/inbox", tc.target, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if code, body := send(t, r); code != tc.want {
			t.Errorf("follow of %s: %d %s, want %d", tc.target, code, body, tc.want)
		}
	}
	// Both accounts post to that server's inbox: only events' arrives,
	// and news' delivery fails unsent.
	for i, acc := range []string{"news", "events"} {
		activity := mustJSON(t, map[string]any{"@context": "https://www.w3.org/ns/activitystreams",
			"id": b.url + "/users/" + acc + "#test/" + strconv.Itoa(i), "type": "Update", "actor": b.url + "/users/" + acc, "object": b.url + "/users/" + acc})
		if err := b.svc.Enqueue(ctx, b.store, federation.Outgoing{Account: acc, Activity: activity, Inboxes: []string{remote.InboxURL(1)}, Ref: "test:" + acc}); err != nil {
			t.Fatal(err)
		}
	}
	runDeliverer(t, b.svc, 2)
	if !remote.WaitFor(2, 10*time.Second) { // the Accept of events' follower, and events' Update
		t.Fatalf("received %d, want 2", remote.Count())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, fanningOut, err := b.svc.DeliveryStats(ctx, "test:news")
		if err != nil {
			t.Fatal(err)
		}
		if !fanningOut {
			if st != (storage.RefStats{}) {
				t.Errorf("news' deliveries to a domain it blocked: %+v, want none", st)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("news' fan-out not done in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, d := range remote.Received() {
		if actor, _ := d.Activity["actor"].(string); strings.HasSuffix(actor, "/news") {
			t.Errorf("news delivered %v to a domain it blocked", d.Activity["type"])
		}
	}
	if n := remote.Count(); n != 2 {
		t.Errorf("received %d requests, want 2", n)
	}
}

// TestSlowKeyServers: servers that never answer their key fetches hold a
// slot of their domain (4 each by default) until the fetch times out; 20
// of them leave room for a new follower from another domain, and when
// every slot is taken the answer is 503 "busy", not a 429 blaming the
// sender's domain.
func TestSlowKeyServers(t *testing.T) {
	keys := fedtest.GenerateKeys(t, 1)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keys})
	b, _ := startGuarded(t, config.Federation{InboxLimits: config.InboxLimits{PerDomain: "off", PerActor: "off", KeyFetches: "off"}}, config.Moderation{})
	var arrived atomic.Int32
	release := make(chan struct{})
	var slow []string
	for i := range 33 {
		ln, err := net.Listen("tcp", "127.0.1."+strconv.Itoa(10+i)+":0")
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			arrived.Add(1)
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		srv.Listener.Close()
		srv.Listener = ln
		srv.Start()
		t.Cleanup(srv.Close)
		slow = append(slow, srv.URL)
	}
	t.Cleanup(func() { close(release) })
	// A Follow signed with remote's key but naming a key on a slow host:
	// its fetch hangs.
	follow := func(host string, n int) *http.Request {
		actor := host + "/users/s" + strconv.Itoa(n)
		r := signedAct(t, remote, 0, b.url+"/inbox", map[string]any{"id": actor + "/follows/1", "type": "Follow", "actor": actor, "object": b.actor})
		r.Header.Set("Signature", strings.Replace(r.Header.Get("Signature"), remote.KeyID(0), actor+"#main-key", 1))
		return r
	}
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 200)
	fire := func(hosts []string) {
		for _, h := range hosts {
			for n := range 4 {
				r := follow(h, n)
				go func() {
					resp, err := http.DefaultClient.Do(r)
					if err != nil {
						answers <- answer{0, err.Error()}
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					answers <- answer{resp.StatusCode, string(body)}
				}()
			}
		}
	}
	waitArrived := func(n int32) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for arrived.Load() < n {
			if time.Now().After(deadline) {
				t.Fatalf("%d key fetches arrived, want %d", arrived.Load(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	fire(slow[:20])
	waitArrived(80)
	r, _, err := remote.SignedFollow(0, b.url+"/inbox", b.actor, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Errorf("a new follower while 20 slow servers wait: %d %s, want 202", code, body)
	}
	// 13 more slow servers: 132 fetches for 128 slots.
	fire(slow[20:])
	waitArrived(128)
	busy := 0
	for range 4 {
		select {
		case a := <-answers:
			if a.code != http.StatusServiceUnavailable || !strings.Contains(a.body, "busy fetching keys") {
				t.Errorf("over the slots: %d %s, want 503 busy", a.code, a.body)
			}
			busy++
		case <-time.After(10 * time.Second):
			t.Fatalf("%d answers over the slots, want 4", busy)
		}
	}
}
