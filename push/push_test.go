package push

import (
	"context"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// fixture is a push service on a real SQLite store, with a clock.
type fixture struct {
	s     *Service
	store storage.Store
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store := storagetest.OpenSQLite(t)
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second})
	s, err := New(context.Background(), Settings{BaseURL: "https://social.example", AllowPrivateNetworks: true,
		Languages: map[string]string{"news": "fr"}}, store, client, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{s: s, store: store, now: time.Date(2026, 12, 1, 9, 0, 30, 0, time.UTC)}
	s.SetClock(func() time.Time { return f.now })
	return f
}

// receiverKeys are a browser's subscription keys.
func receiverKeys(t *testing.T) (p256dh, auth string) {
	t.Helper()
	k, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	secret := make([]byte, 16)
	rand.Read(secret)
	return base64.RawURLEncoding.EncodeToString(k.PublicKey().Bytes()), base64.RawURLEncoding.EncodeToString(secret)
}

// subscribe makes a token of account and its subscription.
func (f *fixture) subscribe(t *testing.T, account, endpoint, policy string, alerts ...string) storage.PushSubscription {
	t.Helper()
	ctx := context.Background()
	tok, err := f.store.InsertToken(ctx, storage.Token{Hash: fmt.Sprint(time.Now().UnixNano(), endpoint), Account: account, Scopes: "push"})
	if err != nil {
		t.Fatal(err)
	}
	p, a := receiverKeys(t)
	sub, err := f.store.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: account,
		Endpoint: endpoint, P256dh: p, Auth: a, Alerts: alerts, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	return sub
}

// notify creates a notification as federation does: with Notified in
// its transaction.
func (f *fixture) notify(t *testing.T, n storage.Notification) int64 {
	t.Helper()
	if n.CreatedAt.IsZero() {
		n.CreatedAt = f.now
	}
	if n.ActorDomain == "" {
		n.ActorDomain = strings.Split(strings.TrimPrefix(n.ActorID, "https://"), "/")[0]
	}
	var id int64
	err := f.store.InTx(context.Background(), func(q storage.Queries) error {
		var err error
		id, _, err = q.InsertNotification(context.Background(), n)
		if err != nil {
			return err
		}
		n.ID = id
		return f.s.Notified(context.Background(), q, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// runFanOuts runs every pending "push" job and returns the queued sends.
func (f *fixture) runFanOuts(t *testing.T) []queuedSend {
	t.Helper()
	ctx := context.Background()
	for {
		js, err := f.store.ClaimJobs(ctx, "test", []string{JobPush}, 50, time.Minute, time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(js) == 0 {
			break
		}
		for _, j := range js {
			if err := f.s.handle(ctx, &jobs.Job{Job: j}); err != nil {
				t.Fatalf("push job %d: %v", j.ID, err)
			}
			if err := f.store.CompleteJob(ctx, j.ID, "test"); err != nil {
				t.Fatal(err)
			}
		}
	}
	js, err := f.store.ClaimJobs(ctx, "test", []string{JobSend}, 1000, time.Minute, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var out []queuedSend
	for _, j := range js {
		var sp sendPayload
		if err := json.Unmarshal(j.Payload, &sp); err != nil {
			t.Fatal(err)
		}
		var p Payload
		if err := json.Unmarshal(sp.Payload, &p); err != nil {
			t.Fatal(err)
		}
		out = append(out, queuedSend{job: j, sub: sp.Subscription, payload: p, urgency: sp.Urgency})
	}
	return out
}

type queuedSend struct {
	job     storage.Job
	sub     int64
	payload Payload
	urgency string
}

func subsOf(sends []queuedSend) []int64 {
	var out []int64
	for _, s := range sends {
		out = append(out, s.sub)
	}
	slices.Sort(out)
	return out
}

const (
	alice = "https://remote.example/users/alice"
	bob   = "https://other.example/users/bob"
)

// TestFanOut: which subscriptions are pushed a notification, by alerts,
// policy, blocks and mutes, and what the payload says.
func TestFanOut(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	all := f.subscribe(t, "news", "https://push.example/all", "all", "mention", "favourite", "reblog", "follow")
	mentionsOnly := f.subscribe(t, "news", "https://push.example/mentions", "all", "mention")
	followers := f.subscribe(t, "news", "https://push.example/followers", "follower", "mention", "favourite")
	none := f.subscribe(t, "news", "https://push.example/none", "none", "mention", "favourite")
	followed := f.subscribe(t, "news", "https://push.example/followed", "followed", "mention")
	other := f.subscribe(t, "mayor", "https://push.example/mayor", "all", "mention")
	_ = none

	if _, err := f.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: bob, Inbox: bob + "/inbox",
		State: storage.FollowerAccepted, CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: alice, Acct: "alice@remote.example",
		Domain: "remote.example", DisplayName: "Alice", AvatarURL: "https://remote.example/alice.png", UpdatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
	stID, err := f.store.InsertStatus(ctx, storage.Status{Account: "news", Text: "The council meets tonight.",
		ContentHTML: "<p>The council meets tonight.</p>", Visibility: "public", CreatedAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	remote := func(id int64, actor, html string) int64 {
		rs, _, err := f.store.InsertRemoteStatus(ctx, storage.RemoteStatus{ID: id, NoteID: actor + "/statuses/" + fmt.Sprint(id),
			ActorID: actor, ContentHTML: html, Visibility: "public", CreatedAt: f.now})
		if err != nil {
			t.Fatal(err)
		}
		return rs.ID
	}

	tests := []struct {
		name      string
		n         storage.Notification
		setup     func(t *testing.T)
		wantSubs  []int64
		wantTitle string
		wantBody  string
		wantIcon  string
	}{
		{
			name:     "a mention: subscriptions with the alert whose policy lets the actor in",
			n:        storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: "m1", ActorID: alice, RemoteStatusID: remote(101, alice, "<p>@news When is the <b>meeting</b>?</p><script>x</script>")},
			wantSubs: []int64{all.ID, mentionsOnly.ID}, wantTitle: "You were mentioned by Alice",
			wantBody: "@news When is the meeting?", wantIcon: "https://social.example/static/avatar.png", // never the remote avatar
		},
		{
			name:     "a favourite from a follower: the follower policy lets it in",
			n:        storage.Notification{Account: "news", Type: storage.NotificationFavourite, ActivityID: "f1", ActorID: bob, StatusID: stID},
			wantSubs: []int64{all.ID, followers.ID}, wantTitle: "bob@other.example favorited your post",
			wantBody: "The council meets tonight.", wantIcon: "https://social.example/static/avatar.png",
		},
		{
			name:     "a follow: only the subscription with the follow alert",
			n:        storage.Notification{Account: "news", Type: "follow", ActivityID: "fo1", ActorID: alice},
			wantSubs: []int64{all.ID}, wantTitle: "Alice followed you",
		},
		{
			name:  "a muted actor is pushed nothing",
			n:     storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: "m2", ActorID: bob, RemoteStatusID: remote(102, bob, "<p>hi</p>")},
			setup: func(t *testing.T) { f.block(t, "news", bob, storage.BlockKindMute) },
		},
		{
			name:  "a blocked domain is pushed nothing",
			n:     storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: "m3", ActorID: alice, RemoteStatusID: remote(103, alice, "<p>hi</p>")},
			setup: func(t *testing.T) { f.blockDomain(t, "news", "remote.example") },
		},
		{
			name: "what the account's keyword filters hide from notifications is not pushed",
			n:    storage.Notification{Account: "mayor", Type: storage.NotificationMention, ActivityID: "k1", ActorID: bob, RemoteStatusID: remote(105, bob, "<p>Win the LOTTERY now</p>")},
			setup: func(t *testing.T) {
				f.filter(t, "mayor", []string{"notifications"}, "lottery", time.Time{})
				f.filter(t, "mayor", []string{"home"}, "meeting", time.Time{})
				f.filter(t, "mayor", []string{"notifications"}, "council", f.now.Add(-time.Minute))
			},
		},
		{
			name:     "filters of other contexts and expired filters hide nothing",
			n:        storage.Notification{Account: "mayor", Type: storage.NotificationMention, ActivityID: "k2", ActorID: bob, RemoteStatusID: remote(106, bob, "<p>The council meeting</p>")},
			wantSubs: []int64{other.ID}, wantTitle: "You were mentioned by bob@other.example",
		},
		{
			name:     "another account's subscriptions only get its own",
			n:        storage.Notification{Account: "mayor", Type: storage.NotificationMention, ActivityID: "m4", ActorID: bob, RemoteStatusID: remote(104, bob, "<p>hi mayor</p>")},
			wantSubs: []int64{other.ID}, wantTitle: "You were mentioned by bob@other.example",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				tc.setup(t)
			}
			id := f.notify(t, tc.n)
			sends := f.runFanOuts(t)
			if got := subsOf(sends); !slices.Equal(got, tc.wantSubs) {
				t.Fatalf("pushed to %v, want %v (followed policy %d: the accounts follow nobody)", got, tc.wantSubs, followed.ID)
			}
			for _, s := range sends {
				p := s.payload
				if p.NotificationID != id || p.NotificationType != tc.n.Type || p.Title != tc.wantTitle || p.PreferredLocale != localeOf(tc.n.Account) || s.urgency != "normal" {
					t.Errorf("payload = %+v (urgency %s), want notification %d of type %s titled %q", p, s.urgency, id, tc.n.Type, tc.wantTitle)
				}
				if tc.wantBody != "" && p.Body != tc.wantBody {
					t.Errorf("body = %q, want %q", p.Body, tc.wantBody)
				}
				if tc.wantIcon != "" && p.Icon != tc.wantIcon {
					t.Errorf("icon = %q, want %q", p.Icon, tc.wantIcon)
				}
			}
		})
	}
}

func localeOf(account string) string {
	if account == "news" {
		return "fr"
	}
	return "en"
}

func (f *fixture) block(t *testing.T, account, actor, kind string) {
	t.Helper()
	if _, err := f.store.PutAccountBlock(context.Background(), storage.AccountBlock{Account: account, ActorID: actor, Kind: kind, CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) filter(t *testing.T, account string, contexts []string, keyword string, expires time.Time) {
	t.Helper()
	if _, err := f.store.InsertFilter(context.Background(), storage.Filter{Account: account, Title: keyword, Context: contexts,
		Action: "hide", ExpiresAt: expires, CreatedAt: f.now, Keywords: []storage.FilterKeyword{{Keyword: keyword, WholeWord: true}}}); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) blockDomain(t *testing.T, account, domain string) {
	t.Helper()
	if _, err := f.store.PutAccountDomainBlock(context.Background(), storage.AccountDomainBlock{Account: account, Domain: domain, CreatedAt: f.now}); err != nil {
		t.Fatal(err)
	}
}

// TestNoSubscriptionNoJob: an account without subscriptions queues
// nothing (the inbox's path stays one indexed read).
func TestNoSubscriptionNoJob(t *testing.T) {
	f := newFixture(t)
	f.subscribe(t, "mayor", "https://push.example/mayor", "all", "mention")
	f.notify(t, storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: "m", ActorID: alice})
	st, err := f.store.JobStats(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 0 {
		t.Errorf("%d jobs queued for an account without subscriptions", st.Pending)
	}
}

// TestRaidCollapses: a raid of mentions is one push per subscription
// (urgent, saying how big it is); a favourite during it is still pushed;
// a raid after a quiet window is pushed again.
func TestRaidCollapses(t *testing.T) {
	f := newFixture(t)
	a := f.subscribe(t, "news", "https://push.example/a", "all", "mention", "favourite")
	b := f.subscribe(t, "news", "https://push.example/b", "all", "mention")
	start := f.now
	raid := func(prefix string, n int, at time.Time) {
		for i := range n {
			actor := fmt.Sprintf("https://raid%d.example/users/u%d", i%3, i)
			f.notify(t, storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: fmt.Sprintf("%s-%d", prefix, i),
				ActorID: actor, CreatedAt: at.Add(time.Duration(i) * time.Second)})
		}
	}

	raid("first", 300, start)
	f.now = start.Add(5 * time.Minute)
	sends := f.runFanOuts(t)
	if got := subsOf(sends); !slices.Equal(got, []int64{a.ID, b.ID}) {
		t.Fatalf("300 mentions pushed %d times to %v, want once to each subscription", len(sends), got)
	}
	p := sends[0].payload
	if !strings.HasPrefix(p.Title, "Raid: 300 mentions from 300 accounts on 3 servers") || sends[0].urgency != "high" || p.NotificationType != "mention" {
		t.Errorf("raid push = %+v, urgency %s", p, sends[0].urgency)
	}

	// The raid goes on into the next windows: nothing more.
	raid("more", 100, start.Add(12*time.Minute))
	f.now = start.Add(15 * time.Minute)
	if sends := f.runFanOuts(t); len(sends) != 0 {
		t.Fatalf("the raid going on pushed %d more", len(sends))
	}
	// A favourite during the raid is pushed.
	f.notify(t, storage.Notification{Account: "news", Type: storage.NotificationFavourite, ActivityID: "fav", ActorID: alice, CreatedAt: f.now})
	if got := subsOf(f.runFanOuts(t)); !slices.Equal(got, []int64{a.ID}) {
		t.Fatalf("a favourite during the raid pushed to %v, want %v", got, []int64{a.ID})
	}
	// Quiet, then a lone mention: pushed as a mention.
	f.now = start.Add(45 * time.Minute)
	f.notify(t, storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: "lone", ActorID: alice, CreatedAt: f.now})
	if sends := f.runFanOuts(t); len(sends) != 2 || strings.HasPrefix(sends[0].payload.Title, "Raid") {
		t.Fatalf("a lone mention after the raid: %+v, want one mention push each", sends)
	}
	// A second raid later: one more push each.
	raid("second", 50, start.Add(2*time.Hour))
	f.now = start.Add(2*time.Hour + time.Minute)
	sends = f.runFanOuts(t)
	if got := subsOf(sends); !slices.Equal(got, []int64{a.ID, b.ID}) || !strings.HasPrefix(sends[0].payload.Title, "Raid: ") {
		t.Fatalf("second raid pushed %v (%+v), want one raid push each", got, sends)
	}
}

// TestSend: one push reaches the push service encrypted (aes128gcm, one
// 4096-byte record) with VAPID, TTL and Urgency; the service's answers
// decide what becomes of the job and the subscription.
func TestSend(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		retryAfter string
		wantErr    string // "", "retry", "retry-after", "permanent"
		wantGone   bool
	}{
		{"created", http.StatusCreated, "", "", false},
		{"gone removes the subscription", http.StatusGone, "", "", true},
		{"not found removes the subscription", http.StatusNotFound, "", "", true},
		{"too many requests is retried after its delay", http.StatusTooManyRequests, "120", "retry-after", false},
		{"a server error is retried", http.StatusBadGateway, "", "retry", false},
		{"a refused request is not retried", http.StatusBadRequest, "", "permanent", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			var (
				mu  sync.Mutex
				got *http.Request
				bd  []byte
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				got = r
				bd, _ = io.ReadAll(r.Body)
				if tc.retryAfter != "" {
					w.Header().Set("Retry-After", tc.retryAfter)
				}
				w.WriteHeader(tc.status)
			}))
			defer srv.Close()
			sub := f.subscribe(t, "news", srv.URL+"/push/abc", "all", "mention")
			f.notify(t, storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: "m", ActorID: alice})
			sends := f.runFanOuts(t)
			if len(sends) != 1 {
				t.Fatalf("%d sends queued", len(sends))
			}
			f.now = f.now.Add(time.Hour) // an hour in the queue: the TTL says what is left
			sends[0].job.CreatedAt = f.now.Add(-time.Hour)
			err := f.s.handle(context.Background(), &jobs.Job{Job: sends[0].job})

			var pe *jobs.PermanentError
			var ra *jobs.RetryAfterError
			switch tc.wantErr {
			case "":
				if err != nil {
					t.Fatalf("send = %v", err)
				}
			case "permanent":
				if !errors.As(err, &pe) {
					t.Fatalf("send = %v, want a permanent failure", err)
				}
			case "retry-after":
				if !errors.As(err, &ra) || ra.After != 120*time.Second {
					t.Fatalf("send = %v, want a retry after 120 s", err)
				}
			case "retry":
				if err == nil || errors.As(err, &pe) {
					t.Fatalf("send = %v, want a retry", err)
				}
			}
			_, gerr := f.store.GetPushSubscriptionByID(context.Background(), sub.ID)
			if gone := errors.Is(gerr, storage.ErrNotFound); gone != tc.wantGone {
				t.Errorf("subscription gone = %v, want %v", gone, tc.wantGone)
			}

			mu.Lock()
			defer mu.Unlock()
			if got == nil {
				t.Fatal("nothing reached the push service")
			}
			h := got.Header
			if h.Get("Content-Encoding") != "aes128gcm" || h.Get("Urgency") != "normal" || h.Get("TTL") != fmt.Sprint(int((47*time.Hour).Seconds())) {
				t.Errorf("headers: Content-Encoding %q, Urgency %q, TTL %q", h.Get("Content-Encoding"), h.Get("Urgency"), h.Get("TTL"))
			}
			if len(bd) != 4096 {
				t.Errorf("body is %d bytes, want one 4096-byte record", len(bd))
			}
			checkVAPID(t, h.Get("Authorization"), f.s.ServerKey(), srv.URL, time.Now()) // webpush-go signs on the real clock
		})
	}
}

// checkVAPID verifies an RFC 8292 Authorization header with the standard
// library alone: "vapid t=JWT, k=KEY", an ES256 JWT signed by KEY, for
// the push service's origin, expiring within 24 hours, with a contact.
func checkVAPID(t *testing.T, header, serverKey, origin string, now time.Time) {
	t.Helper()
	rest, ok := strings.CutPrefix(header, "vapid ")
	if !ok {
		t.Fatalf("Authorization = %q, want vapid", header)
	}
	var jwt, k string
	for _, part := range strings.Split(rest, ",") {
		kv := strings.SplitN(strings.TrimSpace(part), "=", 2)
		if len(kv) == 2 && kv[0] == "t" {
			jwt = kv[1]
		} else if len(kv) == 2 && kv[0] == "k" {
			k = kv[1]
		}
	}
	if k != serverKey {
		t.Fatalf("k = %q, want the server key %q", k, serverKey)
	}
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q", jwt)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(k)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), raw)
	if err != nil {
		t.Fatalf("k: %v", err)
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(pub, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("the VAPID JWT's signature does not verify with the server key")
	}
	var claims struct {
		Aud string `json:"aud"`
		Exp int64  `json:"exp"`
		Sub string `json:"sub"`
	}
	body, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(body, &claims); err != nil {
		t.Fatal(err)
	}
	if exp := time.Unix(claims.Exp, 0); claims.Aud != origin || !exp.After(now) || exp.After(now.Add(24*time.Hour)) || claims.Sub != "https://social.example" {
		t.Errorf("claims = %+v, want aud %s, exp within 24 h of %v, sub the server's URL", claims, origin, now)
	}
}

// TestSendDropsExpired: a push older than its TTL is not sent.
func TestSendDropsExpired(t *testing.T) {
	f := newFixture(t)
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++; w.WriteHeader(201) }))
	defer srv.Close()
	f.subscribe(t, "news", srv.URL, "all", "mention")
	f.notify(t, storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: "m", ActorID: alice})
	sends := f.runFanOuts(t)
	f.now = sends[0].job.CreatedAt.Add(DefaultTTL + time.Minute)
	if err := f.s.handle(context.Background(), &jobs.Job{Job: sends[0].job}); err != nil || hits != 0 {
		t.Fatalf("expired push: err %v, %d requests", err, hits)
	}
}

// TestCheckSubscription: what a client may subscribe with.
func TestCheckSubscription(t *testing.T) {
	p256dh, auth := receiverKeys(t)
	strict := &Service{set: Settings{}}
	loose := &Service{set: Settings{AllowPrivateNetworks: true}}
	tests := []struct {
		name           string
		s              *Service
		endpoint, p, a string
		wantErr        string
	}{
		{"https on a public name", strict, "https://push.example/abc", p256dh, auth, ""},
		{"padded standard base64 keys", strict, "https://push.example/abc", toStd(p256dh), toStd(auth), ""},
		{"http", strict, "http://push.example/abc", p256dh, auth, "https"},
		{"a private address", strict, "https://10.1.2.3/abc", p256dh, auth, "private"},
		{"loopback", strict, "https://127.0.0.1:8443/abc", p256dh, auth, "private"},
		{"localhost", strict, "https://localhost/abc", p256dh, auth, "private"},
		{"a private address, even in tests", loose, "https://10.1.2.3/abc", p256dh, auth, "private"},
		{"http on loopback in tests", loose, "http://127.0.0.1:8443/abc", p256dh, auth, ""},
		{"no endpoint", strict, "", p256dh, auth, "blank"},
		{"not a URL", strict, "push.example/abc", p256dh, auth, "valid URL"},
		{"a short key", strict, "https://push.example/abc", auth, auth, "p256dh"},
		{"not a point", strict, "https://push.example/abc", base64.RawURLEncoding.EncodeToString(append([]byte{4}, make([]byte, 64)...)), auth, "p256dh"},
		{"a long secret", strict, "https://push.example/abc", p256dh, p256dh, "auth"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.s.CheckSubscription(tc.endpoint, tc.p, tc.a)
			var ie *InvalidError
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && (!errors.As(err, &ie) || !strings.Contains(ie.Msg, tc.wantErr)):
				t.Errorf("err = %v, want one saying %q", err, tc.wantErr)
			}
		})
	}
}

func toStd(s string) string {
	b, _ := base64.RawURLEncoding.DecodeString(s)
	return base64.StdEncoding.EncodeToString(b)
}

// TestPayloadEncode: a payload that would not fit one record is trimmed
// (body first, then title), stays valid JSON and marks its cuts.
func TestPayloadEncode(t *testing.T) {
	tests := []struct {
		name      string
		p         Payload
		wantBody  string // prefix
		wantTitle string // prefix
	}{
		{"short: as is", Payload{Title: "You were mentioned by Alice", Body: "Hello"}, "Hello", "You were mentioned"},
		{"a long body is cut", Payload{Title: "t", Body: strings.Repeat("é", 3000)}, "éé", "t"},
		{"escapes count as what they take", Payload{Title: "t", Body: strings.Repeat("<\"\u2028", 1500)}, "<", "t"},
		{"a long title is cut after the body", Payload{Title: strings.Repeat("名", 2000), Body: "b"}, "", "名名"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.p.Encode(MaxPayload)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxPayload {
				t.Fatalf("%d bytes, want at most %d", len(b), MaxPayload)
			}
			var back Payload
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if !strings.HasPrefix(back.Body, tc.wantBody) || !strings.HasPrefix(back.Title, tc.wantTitle) {
				t.Errorf("got title %.20q body %.20q", back.Title, back.Body)
			}
			trimmed := len(b) < len(mustJSON(t, tc.p))
			if trimmed && !strings.HasSuffix(back.Body, "…") && !strings.HasSuffix(back.Title, "…") {
				t.Error("a cut is not marked with …")
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestVAPIDKeyKept: the key pair is made once and read back after.
func TestVAPIDKeyKept(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	a, err := New(context.Background(), Settings{}, store, http.DefaultClient, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b, err := New(context.Background(), Settings{}, store, http.DefaultClient, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(a.ServerKey())
	if err != nil || len(raw) != 65 || raw[0] != 4 {
		t.Fatalf("server key %q is not an uncompressed P-256 point", a.ServerKey())
	}
	if a.ServerKey() != b.ServerKey() || a.privateKey != b.privateKey {
		t.Error("a second start made another key pair")
	}
}

// TestMentionsGather: a mention's push is prepared RaidGather after it
// came (a burst is then seen as a raid); a favourite's at once.
func TestMentionsGather(t *testing.T) {
	f := newFixture(t)
	f.subscribe(t, "news", "https://push.example/a", "all", "mention", "favourite")
	tests := []struct {
		name, typ string
		wantDelay time.Duration
	}{
		{"a mention waits", storage.NotificationMention, RaidGather},
		{"a quote waits", storage.NotificationQuote, RaidGather},
		{"a favourite goes at once", storage.NotificationFavourite, 0},
		// Read late (a Bluesky poll's backlog): it waits from now too,
		// for the rest of the backlog.
		{"a mention read three minutes late waits", storage.NotificationMention, RaidGather},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			at := f.now
			if strings.Contains(tc.name, "late") {
				at = f.now.Add(-3 * time.Minute)
			}
			id := f.notify(t, storage.Notification{Account: "news", Type: tc.typ, ActivityID: tc.name, ActorID: alice, CreatedAt: at})
			js, err := f.store.ClaimJobs(context.Background(), "test", []string{JobPush}, 10, time.Minute, time.Now().Add(time.Hour))
			if err != nil || len(js) != 1 {
				t.Fatalf("%d jobs (%v)", len(js), err)
			}
			if !strings.Contains(string(js[0].Payload), fmt.Sprint(id)) {
				t.Fatalf("job %s is not notification %d's", js[0].Payload, id)
			}
			if tc.wantDelay > 0 && !js[0].RunAt.Equal(f.now.Add(tc.wantDelay)) {
				t.Errorf("due at %v, want %v", js[0].RunAt, f.now.Add(tc.wantDelay))
			}
			if tc.wantDelay == 0 && js[0].RunAt.After(time.Now()) {
				t.Errorf("due at %v, want now", js[0].RunAt)
			}
			if err := f.store.CompleteJob(context.Background(), js[0].ID, "test"); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// racingStore is a replica's view when another one stores the VAPID key
// between its read and its insert.
type racingStore struct {
	storage.Store
	reads int
}

func (r *racingStore) GetKeyPair(ctx context.Context, owner string) (storage.KeyPair, error) {
	r.reads++
	if r.reads == 1 {
		return storage.KeyPair{}, storage.ErrNotFound
	}
	return r.Store.GetKeyPair(ctx, owner)
}

// TestVAPIDKeyRace: a replica that lost the race to store the key pair
// uses the one stored by the other.
func TestVAPIDKeyRace(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	first, err := New(context.Background(), Settings{}, store, http.DefaultClient, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	second, err := New(context.Background(), Settings{}, &racingStore{Store: store}, http.DefaultClient, zerolog.Nop())
	if err != nil {
		t.Fatalf("the replica that lost the race: %v", err)
	}
	if first.ServerKey() != second.ServerKey() {
		t.Error("the replica that lost the race uses another key")
	}
}

// TestDraftSubmitted: a contributor's draft is pushed, in its
// transaction, to the subscriptions of the account's editors and admins
// only (not to the contributor, another account's editor or a token of no
// member), with the draft's text.
func TestDraftSubmitted(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	member := func(email, account, role string) int64 {
		t.Helper()
		id, err := f.store.InsertTeamMember(ctx, storage.TeamMember{Email: email})
		if err == nil {
			err = f.store.SetTeamRole(ctx, id, account, role)
		}
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	sub := func(member int64, account, endpoint string) int64 {
		t.Helper()
		tok, err := f.store.InsertToken(ctx, storage.Token{Hash: endpoint, Account: account, Scopes: "push", MemberID: member})
		if err != nil {
			t.Fatal(err)
		}
		p, a := receiverKeys(t)
		s, err := f.store.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: account,
			Endpoint: endpoint, P256dh: p, Auth: a, Alerts: []string{"mention"}, Policy: storage.PushPolicyAll})
		if err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	editor := sub(member("editor@x.example", "news", storage.RoleEditor), "news", "https://push.example/editor")
	admin := sub(member("admin@x.example", "news", storage.RoleAdmin), "news", "https://push.example/admin")
	writer := member("writer@x.example", "news", storage.RoleContributor)
	sub(writer, "news", "https://push.example/writer")
	sub(member("other@x.example", "mayor", storage.RoleEditor), "mayor", "https://push.example/other")
	sub(0, "news", "https://push.example/cli")

	var draftID int64
	err := f.store.InTx(ctx, func(q storage.Queries) error {
		td := storage.TeamDraft{Account: "news", MemberID: writer, Payload: "{}", Text: "The pool   reopens\non Monday.",
			State: storage.DraftPending, CreatedAt: f.now}
		var err error
		if td.ID, err = q.InsertTeamDraft(ctx, td); err != nil {
			return err
		}
		draftID = td.ID
		return f.s.DraftSubmitted(ctx, q, td)
	})
	if err != nil {
		t.Fatal(err)
	}
	sends := f.runFanOuts(t)
	if got := subsOf(sends); !slices.Equal(got, []int64{editor, admin}) {
		t.Fatalf("pushed to %v, want the editor's %d and the admin's %d", got, editor, admin)
	}
	for _, s := range sends {
		p := s.payload
		if p.NotificationType != NotificationDraft || p.NotificationID != draftID || p.Title != "Un brouillon pour @news attend votre approbation" ||
			p.Body != "The pool reopens on Monday." || p.PreferredLocale != "fr" {
			t.Errorf("payload = %+v", p)
		}
	}
}

// TestRaidBothNetworks: a raid whose mentions come from the fediverse and
// from Bluesky (as the notification reader stores them: DIDs, handles as
// domains) is one raid and one push per subscription, which counts the
// Bluesky accounts as one origin.
func TestRaidBothNetworks(t *testing.T) {
	f := newFixture(t)
	a := f.subscribe(t, "news", "https://push.example/a", "all", "mention", "quote")
	start := f.now
	for i := range 40 {
		n := storage.Notification{Account: "news", Type: storage.NotificationMention, ActivityID: fmt.Sprintf("m-%d", i),
			CreatedAt: start.Add(time.Duration(i) * time.Second)}
		switch {
		case i%2 == 0:
			n.ActorID = fmt.Sprintf("https://raid%d.example/users/u%d", i%4, i)
		case i%4 == 1:
			n.ActorID, n.ActorDomain, n.Type = fmt.Sprintf("did:plc:r%d", i%10), fmt.Sprintf("r%d.bsky.social", i%10), storage.NotificationQuote
		default:
			n.ActorID, n.ActorDomain = fmt.Sprintf("did:plc:r%d", i%10), fmt.Sprintf("r%d.example.com", i%10)
		}
		f.notify(t, n)
	}
	f.now = start.Add(5 * time.Minute)
	sends := f.runFanOuts(t)
	if got := subsOf(sends); !slices.Equal(got, []int64{a.ID}) {
		t.Fatalf("a mixed raid pushed %d times (%v), want once", len(sends), got)
	}
	// 20 fediverse actors on 2 servers; Bluesky: r1, r3, r5, r7, r9.
	if want := "Raid: 40 mentions from 25 accounts on 2 servers and Bluesky"; sends[0].payload.Title != want {
		t.Errorf("raid push title %q, want %q", sends[0].payload.Title, want)
	}
}
