package moderation_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

func newService(t *testing.T, store storage.Store, cfg config.Moderation) *moderation.Service {
	t.Helper()
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second})
	s, err := moderation.New(context.Background(), cfg, store, client, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestMatcher(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	ctx := context.Background()
	for _, b := range []storage.DomainBlock{
		{Domain: "silenced.example", Source: storage.BlockSourceManual, Severity: storage.SeveritySilence},
		{Domain: "xn--bcher-kva.example", Source: storage.BlockSourceImport, Severity: storage.SeveritySuspend},
	} {
		if _, err := store.UpsertDomainBlock(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	s := newService(t, store, config.Moderation{DomainBlocks: []string{"Spam.Example", "*.raid.example", "127.0.0.2", "[::2]:8080"}})
	tests := []struct {
		name             string
		host             string
		blocked, silence bool
	}{
		{"exact", "spam.example", true, false},
		{"upper case", "SPAM.example", true, false},
		{"with port", "spam.example:8443", true, false},
		{"trailing dot", "spam.example.", true, false},
		{"subdomain", "a.b.spam.example", true, false},
		{"wildcard entry covers the domain itself", "raid.example", true, false},
		{"wildcard entry covers subdomains", "x.raid.example", true, false},
		{"suffix without a dot is another domain", "notspam.example", false, false},
		{"parent of a blocked domain", "example", false, false},
		{"longer TLD", "spam.example.org", false, false},
		{"IDN in Unicode", "bücher.example", true, false},
		{"IDN in punycode", "www.xn--bcher-kva.example:443", true, false},
		{"IPv4 with port", "127.0.0.2:9000", true, false},
		{"other IPv4", "127.0.0.3:9000", false, false},
		{"IPv6 with port", "[::2]:443", true, false},
		{"IPv6 long form", "[0:0::0002]", true, false},
		{"IPv4-mapped IPv6 of a blocked IPv4", "[::ffff:127.0.0.2]:443", true, false},
		{"percent-encoded IDN (net/url decodes it before dialling)", "b%C3%BCcher.example", true, false},
		{"silenced", "silenced.example", false, true},
		{"silenced subdomain", "a.silenced.example:80", false, true},
		{"empty host", "", false, false},
		{"malformed IPv6", "[::2", false, false},
	}
	m := s.Matcher()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.Blocked(tc.host); got != tc.blocked {
				t.Errorf("Blocked(%q) = %v, want %v", tc.host, got, tc.blocked)
			}
			if got := m.Silenced(tc.host); got != tc.silence {
				t.Errorf("Silenced(%q) = %v, want %v", tc.host, got, tc.silence)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { s.Blocked("deep.sub.spam.example:443"); s.Blocked("mastodon.social") }); n != 0 {
		t.Errorf("Blocked allocates %v times per call", n)
	}
}

func TestAllowListMode(t *testing.T) {
	s := newService(t, storagetest.OpenSQLite(t), config.Moderation{
		DomainAllows: []string{"partner.example", "city.example"},
		DomainBlocks: []string{"bad.city.example"},
	})
	tests := []struct {
		host    string
		blocked bool
	}{
		{"partner.example", false},
		{"social.partner.example:443", false},
		{"city.example", false},
		{"bad.city.example", true},          // a block within an allowed domain
		{"mastodon.social", true},           // not allowed
		{"partner.example.evil.test", true}, // suffix tricks
		{"", true},                          // malformed: refused
	}
	for _, tc := range tests {
		if got := s.Blocked(tc.host); got != tc.blocked {
			t.Errorf("Blocked(%q) = %v, want %v", tc.host, got, tc.blocked)
		}
	}
}

func TestParseList(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		want        []string // domain|severity|reason
		wantSkipped int
	}{
		{"mastodon export", "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n" +
			"spam.example,suspend,false,false,Harassment raid,false\n" +
			"loud.example,silence,true,false,,false\n" +
			"quiet.example,noop,true,false,,false\n" +
			"\"quoted.example\",suspend,false,false,\"Spam, lots\",false\n",
			[]string{"spam.example|suspend|Harassment raid", "loud.example|silence|", "quoted.example|suspend|Spam, lots"}, 1},
		{"header without #, columns reordered", "severity,domain\nsilence,A.example\n",
			[]string{"a.example|silence|"}, 0},
		{"headerless CSV", "spam.example,suspend\nbad.example\n",
			[]string{"spam.example|suspend|", "bad.example|suspend|"}, 0},
		{"plain list with comments", "\ufeff# my list\nspam.example  # raid of May\n\n  *.bad.example\nhttps://evil.example/users/x\n",
			[]string{"spam.example|suspend|raid of May", "bad.example|suspend|", "evil.example|suspend|"}, 0},
		{"obfuscated and invalid entries skipped", "#domain,#severity\nex*mple.com,suspend\nnot a domain,suspend\nok.example,weird\nfine.example,suspend\n",
			[]string{"fine.example|suspend|"}, 3},
		{"duplicates keep the most severe", "a.example,silence\nA.example.,suspend\na.example,silence\n",
			[]string{"a.example|suspend|"}, 0},
		{"IDN", "bücher.example\n", []string{"xn--bcher-kva.example|suspend|"}, 0},
		{"plain line with spaces", "two words\n", nil, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, skipped, err := moderation.ParseList(strings.NewReader(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, e := range entries {
				got = append(got, e.Domain+"|"+e.Severity+"|"+e.Reason)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("entries = %q, want %q", got, tc.want)
			}
			if len(skipped) != tc.wantSkipped {
				t.Errorf("skipped = %v, want %d", skipped, tc.wantSkipped)
			}
		})
	}
	if _, _, err := moderation.ParseList(strings.NewReader(strings.Repeat("a", moderation.MaxListBytes+1))); err == nil {
		t.Error("oversized list accepted")
	}
}

func TestDeliverJobKind(t *testing.T) {
	// moderation cancels deliveries by kind without importing federation.
	store := storagetest.OpenSQLite(t)
	ctx := context.Background()
	id, err := store.EnqueueJob(ctx, storage.NewJob{Kind: federation.JobDeliver, Host: "spam.example"})
	if err != nil {
		t.Fatal(err)
	}
	s := newService(t, store, config.Moderation{})
	if _, err := s.BlockDomains(ctx, []string{"spam.example"}, ""); err != nil {
		t.Fatal(err)
	}
	if j, _ := store.GetJob(ctx, id); j.Status != storage.JobFailed {
		t.Errorf("delivery job %s, want failed", j.Status)
	}
}

func addFollower(t *testing.T, store storage.Store, actor string) {
	t.Helper()
	_, err := store.UpsertFollower(context.Background(), storage.Follower{
		Account: "news", ActorID: actor, Inbox: actor + "/inbox", FollowActivityID: actor + "#f",
		State: storage.FollowerAccepted, CreatedAt: time.Now(), AcceptedAt: time.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestBlockDomainsAndUnblock(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	for _, a := range []string{"https://raid.example/users/a", "https://x.raid.example:8443/users/b", "https://friend.example/users/c"} {
		addFollower(t, store, a)
	}
	var pending []int64
	for _, h := range []string{"raid.example", "x.raid.example:8443", "friend.example"} {
		id, err := store.EnqueueJob(ctx, storage.NewJob{Kind: "deliver", Host: h})
		if err != nil {
			t.Fatal(err)
		}
		pending = append(pending, id)
	}
	s := newService(t, store, config.Moderation{DomainBlocks: []string{"config.example"}})
	other := newService(t, store, config.Moderation{DomainBlocks: []string{"config.example"}}) // another process

	if _, err := s.BlockDomains(ctx, []string{"not a domain"}, ""); err == nil {
		t.Error("invalid domain accepted")
	}
	res, err := s.BlockDomains(ctx, []string{"RAID.example", "raid.example", "https://spam.example/@x"}, "raid of May")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Domains, []string{"raid.example", "spam.example"}) || res.FollowersRemoved != 2 || res.DeliveriesCancelled != 2 {
		t.Errorf("BlockDomains = %+v", res)
	}
	if !s.Blocked("sub.raid.example") {
		t.Error("not blocked in this process right after BlockDomains")
	}
	for i, id := range pending {
		j, _ := store.GetJob(ctx, id)
		if want := i < 2; (j.Status == storage.JobFailed) != want || (want && j.LastError != moderation.ReasonBlocked) {
			t.Errorf("job to %s: %s %q", j.Host, j.Status, j.LastError)
		}
	}
	if n, _ := store.CountFollowers(ctx, "news", ""); n != 1 {
		t.Errorf("%d followers left, want 1", n)
	}
	// The other process notices through the version.
	if other.Blocked("raid.example") {
		t.Fatal("other process blocked before reloading")
	}
	if _, err := other.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	if !other.Blocked("raid.example") {
		t.Error("other process not blocking after reload")
	}
	entries, _ := s.List()
	var got []string
	for _, e := range entries {
		got = append(got, e.Domain+" "+strings.Join(e.Sources, ",")+" "+e.Reason)
	}
	if want := []string{"config.example config ", "raid.example manual raid of May", "spam.example manual raid of May"}; !slices.Equal(got, want) {
		t.Errorf("List = %q, want %q", got, want)
	}

	tests := []struct {
		name        string
		domain      string
		wantRemoved bool
		wantStill   []string
		wantBlocked bool
	}{
		{"manual block", "raid.example", true, nil, false},
		{"configuration block stays", "config.example", false, []string{"config"}, true},
		{"subdomain of a blocked domain", "a.spam.example", false, []string{"manual (block of spam.example)"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := s.Unblock(ctx, tc.domain)
			if err != nil {
				t.Fatal(err)
			}
			if r.Removed != tc.wantRemoved || !slices.Equal(r.StillBlockedBy, tc.wantStill) {
				t.Errorf("Unblock = %+v, want removed %v, still %q", r, tc.wantRemoved, tc.wantStill)
			}
			if got := s.Blocked(tc.domain); got != tc.wantBlocked {
				t.Errorf("Blocked after unblock = %v", got)
			}
		})
	}
}

func TestImportAndSweep(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	addFollower(t, store, "https://a.example/users/1")
	addFollower(t, store, "https://b.example/users/2")
	addFollower(t, store, "https://keep.example/users/3")
	s := newService(t, store, config.Moderation{})
	entries, _, err := moderation.ParseList(strings.NewReader("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\na.example,suspend,,,,\nb.example,silence,,,,\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Import(ctx, entries, "imported")
	if err != nil {
		t.Fatal(err)
	}
	if res.Added != 2 || res.FollowersRemoved != 1 {
		t.Errorf("Import = %+v, want 2 added, 1 follower removed (silence keeps followers)", res)
	}
	if !s.Blocked("a.example") || s.Blocked("b.example") || !s.Silenced("b.example") {
		t.Error("imported severities not applied")
	}
	again, err := s.Import(ctx, entries, "imported")
	if err != nil || again.Added+again.Updated != 0 {
		t.Errorf("re-import = %+v, %v; want no change", again, err)
	}

	// Allow-list mode sweeps everything else.
	allow := newService(t, store, config.Moderation{DomainAllows: []string{"keep.example"}})
	if n, err := allow.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1 (b.example is not allowed)", n, err)
	}
}

// blocklistServer serves a blocklist whose content the test changes.
type blocklistServer struct {
	mu       sync.Mutex
	body     string
	etag     string
	requests int
	cond     int // conditional requests answered 304
}

func (b *blocklistServer) set(body, etag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.body, b.etag = body, etag
}

func (b *blocklistServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.requests++
	if b.etag != "" && r.Header.Get("If-None-Match") == b.etag {
		b.cond++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/csv")
	w.Header().Set("ETag", b.etag)
	w.Write([]byte(b.body))
}

func csvList(domains ...string) string {
	var sb strings.Builder
	sb.WriteString("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n")
	for _, d := range domains {
		sb.WriteString(d + ",suspend,false,false,from the list,false\n")
	}
	return sb.String()
}

func TestSubscriptions(t *testing.T) {
	ctx := context.Background()
	list := &blocklistServer{}
	srv := httptest.NewServer(list)
	t.Cleanup(srv.Close)
	store := storagetest.OpenSQLite(t)
	addFollower(t, store, "https://listed.example/users/1")
	sub := config.BlocklistSubscription{URL: srv.URL + "/blocks.csv", Refresh: config.Duration(time.Hour)}
	s := newService(t, store, config.Moderation{Subscriptions: []config.BlocklistSubscription{sub}})
	now := time.Now()
	s.SetClock(func() time.Time { return now })

	var many []string
	for i := range 30 {
		many = append(many, "d"+strings.Repeat("x", i)+".example")
	}
	list.set(csvList(append([]string{"listed.example"}, many...)...), `"v1"`)

	preview, err := s.Preview(ctx)
	if err != nil || len(preview) != 1 || len(preview[0].Add) != 31 || preview[0].Err != nil {
		t.Fatalf("Preview = %+v, %v", preview, err)
	}
	if s.Blocked("listed.example") {
		t.Fatal("Preview applied the list")
	}

	steps := []struct {
		name        string
		advance     time.Duration
		body, etag  string
		force       bool
		wantAdd     int
		wantRemove  int
		wantNotDue  bool
		wantRefused bool
		wantBlocked map[string]bool
	}{
		{name: "first refresh", wantAdd: 31, wantBlocked: map[string]bool{"listed.example": true, "sub.dxx.example": true}},
		{name: "not due yet", advance: time.Minute, wantNotDue: true},
		{name: "due, not modified (304)", advance: time.Hour},
		{name: "one removed", advance: time.Hour, body: csvList(many...), etag: `"v2"`, wantRemove: 1,
			wantBlocked: map[string]bool{"listed.example": false, "dx.example": true}},
		{name: "mass removal refused", advance: time.Hour, body: csvList(many[:5]...), etag: `"v3"`, wantRemove: 25, wantRefused: true,
			wantBlocked: map[string]bool{"dxxxxxxxxxx.example": true}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			now = now.Add(st.advance)
			if st.body != "" {
				list.set(st.body, st.etag)
			}
			changes, err := s.Refresh(ctx, st.force)
			if err != nil || len(changes) != 1 {
				t.Fatalf("Refresh = %+v, %v", changes, err)
			}
			ch := changes[0]
			if ch.Err != nil || len(ch.Add) != st.wantAdd || len(ch.Remove) != st.wantRemove || ch.NotDue != st.wantNotDue || (ch.Refused != "") != st.wantRefused {
				t.Errorf("change = add %d remove %d notDue %v refused %q err %v", len(ch.Add), len(ch.Remove), ch.NotDue, ch.Refused, ch.Err)
			}
			for host, want := range st.wantBlocked {
				if got := s.Blocked(host); got != want {
					t.Errorf("Blocked(%q) = %v, want %v", host, got, want)
				}
			}
		})
	}
	if list.cond != 1 {
		t.Errorf("%d conditional (304) answers, want 1", list.cond)
	}
	if n, _ := store.CountFollowers(ctx, "news", ""); n != 0 {
		t.Errorf("follower on a listed domain kept (%d)", n)
	}
	st, err := store.GetBlocklistState(ctx, sub.URL)
	if err != nil || !strings.Contains(st.LastError, "not applied") || st.Domains != 30 {
		t.Errorf("state = %+v, %v", st, err)
	}
	if _, err := s.RefreshForce(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Blocked("dxxxxxxxxxx.example") || !s.Blocked("dx.example") {
		t.Error("forced refresh not applied")
	}

	// Unsubscribing leaves the list's blocks out at once, and forgets them.
	unsub := newService(t, store, config.Moderation{})
	if unsub.Blocked("dx.example") {
		t.Error("block of an unsubscribed list still applies")
	}
}
