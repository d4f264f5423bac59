package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
	"github.com/rs/zerolog"
)

// fakeCrisis records the crisis switch's calls.
type fakeCrisis struct{ on map[string]int }

func (f *fakeCrisis) CrisisOn(ctx context.Context, account string, n int) (publish.CrisisResult, error) {
	if n < 1 || n > publish.CrisisMaxPosts {
		return publish.CrisisResult{}, &publish.ValidationError{Msg: "the number of recent posts must be between 1 and 200"}
	}
	f.on[account] = n
	return publish.CrisisResult{On: true, Changed: n}, nil
}

func (f *fakeCrisis) CrisisOff(ctx context.Context, account string) (publish.CrisisResult, error) {
	n := f.on[account]
	delete(f.on, account)
	return publish.CrisisResult{Changed: n}, nil
}

func (f *fakeCrisis) CrisisStatus(ctx context.Context, account string) (publish.CrisisResult, error) {
	n, on := f.on[account]
	return publish.CrisisResult{On: on, Posts: n}, nil
}

// fakeModerator keeps domain blocks in a map.
type fakeModerator struct {
	blocks   map[string][]string
	previews int
}

func (f *fakeModerator) DomainBlocksOf(account string) []string { return f.blocks[account] }

func (f *fakeModerator) BlockDomainsFor(ctx context.Context, account string, domains []string) (moderation.AccountBlockResult, error) {
	for _, d := range domains {
		if !strings.Contains(d, ".") {
			return moderation.AccountBlockResult{}, errors.New("not a domain name")
		}
	}
	f.blocks[account] = append(f.blocks[account], domains...)
	return moderation.AccountBlockResult{Domains: domains, FollowersRemoved: 2}, nil
}

func (f *fakeModerator) UnblockDomainFor(ctx context.Context, account, domain string) (bool, error) {
	i := slices.Index(f.blocks[account], domain)
	if i < 0 {
		return false, nil
	}
	f.blocks[account] = slices.Delete(f.blocks[account], i, i+1)
	return true, nil
}

func (f *fakeModerator) Preview(ctx context.Context) ([]moderation.Change, error) {
	f.previews++
	return []moderation.Change{{URL: "https://lists.example/blocklist.csv", Entries: 3, Add: []moderation.ListEntry{{Domain: "raid.example"}}}}, nil
}

// TestModerationPage: an account's admin turns its crisis mode on (with a
// number of posts, bounded) and off from the moderation page, blocks and
// unblocks a server for it and reads the reports about it; an editor sees
// no moderation page and cannot switch; an admin of another account can
// do none of it for this one; only an admin of every account previews the
// blocklist subscriptions; switches and refusals are audited.
func TestModerationPage(t *testing.T) {
	ctx := context.Background()
	store, err := storage.Open(ctx, storage.Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "b.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	crisis := &fakeCrisis{on: map[string]int{}}
	mod := &fakeModerator{blocks: map[string][]string{}}
	var blocked []string
	raidBlock := func(ctx context.Context, account string, from, to time.Time) (string, error) {
		blocked = append(blocked, account+" "+from.Format(time.RFC3339)+" "+to.Format(time.RFC3339))
		return "1 server(s) blocked (news-raid.example).", nil
	}
	c := New(Settings{BaseURL: "http://console.test", Accounts: []string{"news", "events"}, Crisis: crisis, Moderation: mod, RaidBlock: raidBlock}, store, zerolog.Nop())
	// A raid on news a few minutes ago: 24 mentions from one server.
	for i := range 24 {
		if _, _, err := store.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention,
			ActivityID: fmt.Sprintf("https://news-raid.example/m/%d", i), ActorID: fmt.Sprintf("https://news-raid.example/u/%d", i%4),
			ActorDomain: "news-raid.example", GroupKey: fmt.Sprintf("m%d", i), CreatedAt: time.Now().Add(-3 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	c.Routes(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	h := &harness{t: t, store: store, c: c, srv: srv}
	admin, editor, other := h.browser(), h.browser(), h.browser()
	h.join(admin, h.invite("admin@x.example", "news", "admin"))
	h.join(editor, h.invite("editor@x.example", "news", "editor"))
	h.join(other, h.invite("other@x.example", "events", "admin"))
	_, page := h.do(admin, "GET", "/admin/moderation", nil)
	csrf := match(t, csrfRE, page)
	if !strings.Contains(page, "Turn crisis mode on for @news") || strings.Contains(page, "@events") {
		t.Fatalf("moderation page:\n%s", page)
	}
	resp, epage := h.do(editor, "GET", "/admin/moderation", nil)
	if resp.StatusCode != http.StatusForbidden || strings.Contains(epage, `href="/admin/moderation"`) {
		t.Errorf("editor: %d, link shown %v", resp.StatusCode, strings.Contains(epage, `href="/admin/moderation"`))
	}
	_, opage := h.do(other, "GET", "/admin/moderation", nil)
	ocsrf := match(t, csrfRE, opage)
	_, epage = h.do(editor, "GET", "/admin", nil)
	ecsrf := match(t, csrfRE, epage)
	for _, tt := range []struct {
		name string
		b    *http.Client
		form url.Values
		want int
	}{
		{"editor", editor, url.Values{"csrf": {ecsrf}, "account": {"news"}, "mode": {"on"}, "posts": {"20"}}, 403},
		{"another account's admin", other, url.Values{"csrf": {ocsrf}, "account": {"news"}, "mode": {"on"}, "posts": {"20"}}, 403},
		{"without CSRF token", admin, url.Values{"account": {"news"}, "mode": {"on"}, "posts": {"20"}}, 403},
		{"too many posts", admin, url.Values{"csrf": {csrf}, "account": {"news"}, "mode": {"on"}, "posts": {"5000"}}, 422},
		{"neither on nor off", admin, url.Values{"csrf": {csrf}, "account": {"news"}, "mode": {"maybe"}}, 422},
	} {
		if resp, page := h.do(tt.b, "POST", "/admin/moderation/crisis", tt.form); resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.want, page)
		}
	}
	if len(crisis.on) != 0 {
		t.Fatalf("crisis switched by a refused call: %v", crisis.on)
	}
	resp, page = h.do(admin, "POST", "/admin/moderation/crisis", url.Values{"csrf": {csrf}, "account": {"news"}, "mode": {"on"}, "posts": {"30"}})
	if resp.StatusCode != 200 || crisis.on["news"] != 30 || !strings.Contains(page, "Turn crisis mode off for @news") {
		t.Fatalf("on: %d %v\n%s", resp.StatusCode, crisis.on, page)
	}
	resp, page = h.do(admin, "POST", "/admin/moderation/crisis", url.Values{"csrf": {csrf}, "account": {"news"}, "mode": {"off"}})
	if resp.StatusCode != 200 || len(crisis.on) != 0 || !strings.Contains(page, "30 post(s) reopened") {
		t.Fatalf("off: %d %v\n%s", resp.StatusCode, crisis.on, page)
	}
	entries, _ := store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}, Limit: 50})
	count := map[string]int{}
	for _, e := range entries {
		count[e.Action]++
	}
	if count["crisis.set"] != 2 || count["crisis.set.refused"] != 2 {
		t.Errorf("audit %v", count)
	}

	// Domain blocks: added (and shown), refused when not a domain or for
	// another account, removed.
	if _, _, err := store.InsertReport(ctx, storage.Report{ActivityID: "https://bad.example/flag/1", Account: "news", ReporterID: "https://bad.example/actor",
		Targets: []string{"https://console.test/users/news"}, Comment: "spam?", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		b    *http.Client
		path string
		form url.Values
		want int
	}{
		{"block", admin, "/admin/moderation/block", url.Values{"csrf": {csrf}, "account": {"news"}, "domain": {"raid.example"}}, 200},
		{"block what is not a domain", admin, "/admin/moderation/block", url.Values{"csrf": {csrf}, "account": {"news"}, "domain": {"nope"}}, 422},
		{"another account's admin blocks", other, "/admin/moderation/block", url.Values{"csrf": {ocsrf}, "account": {"news"}, "domain": {"x.example"}}, 403},
		{"another account's admin unblocks", other, "/admin/moderation/unblock", url.Values{"csrf": {ocsrf}, "account": {"news"}, "domain": {"raid.example"}}, 403},
		{"a subscriptions preview by an admin of one account", admin, "/admin/moderation/subscriptions/preview", url.Values{"csrf": {csrf}}, 403},
	} {
		if resp, page := h.do(tt.b, "POST", tt.path, tt.form); resp.StatusCode != tt.want {
			t.Errorf("%s: %d, want %d\n%s", tt.name, resp.StatusCode, tt.want, page)
		}
	}
	if !slices.Equal(mod.blocks["news"], []string{"raid.example"}) || mod.previews != 0 {
		t.Fatalf("blocks %v, previews %d", mod.blocks, mod.previews)
	}
	_, page = h.do(admin, "GET", "/admin/moderation", nil)
	if !strings.Contains(page, "Unblock raid.example for @news") || !strings.Contains(page, "spam?") || strings.Contains(page, "Blocklist subscriptions") {
		t.Errorf("moderation page after the block:\n%s", page)
	}
	if resp, page := h.do(admin, "POST", "/admin/moderation/unblock", url.Values{"csrf": {csrf}, "account": {"news"}, "domain": {"raid.example"}}); resp.StatusCode != 200 || len(mod.blocks["news"]) != 0 {
		t.Errorf("unblock: %d %v\n%s", resp.StatusCode, mod.blocks, page)
	}
	// The raid is listed and blocked in one click, by its admin only.
	from := match(t, regexp.MustCompile(`name="from" value="(\d+)"`), page)
	to := match(t, regexp.MustCompile(`name="to" value="(\d+)"`), page)
	if !strings.Contains(page, "24 mentions from 4 accounts on 1 server") {
		t.Errorf("the raid is not listed:\n%s", page)
	}
	raid := url.Values{"csrf": {ocsrf}, "account": {"news"}, "from": {from}, "to": {to}}
	if resp, _ := h.do(other, "POST", "/admin/moderation/raid", raid); resp.StatusCode != 403 || len(blocked) != 0 {
		t.Errorf("another account's admin blocks the raid: %d, %v", resp.StatusCode, blocked)
	}
	raid.Set("csrf", csrf)
	if resp, page := h.do(admin, "POST", "/admin/moderation/raid", raid); resp.StatusCode != 200 || len(blocked) != 1 ||
		!strings.HasPrefix(blocked[0], "news ") || !strings.Contains(page, "news-raid.example") {
		t.Errorf("raid block: %d, %v\n%s", resp.StatusCode, blocked, page)
	}
	// An admin of every account previews the subscriptions.
	om, _ := store.GetTeamMemberByEmail(ctx, "other@x.example")
	if err := store.SetTeamRole(ctx, om.ID, "news", storage.RoleAdmin); err != nil {
		t.Fatal(err)
	}
	_, opage = h.do(other, "GET", "/admin/moderation", nil)
	ocsrf = match(t, csrfRE, opage)
	if resp, page := h.do(other, "POST", "/admin/moderation/subscriptions/preview", url.Values{"csrf": {ocsrf}}); resp.StatusCode != 200 ||
		mod.previews != 1 || !strings.Contains(page, "would add 1") || !strings.Contains(page, "raid.example") {
		t.Errorf("subscriptions preview: %d, %d previews\n%s", resp.StatusCode, mod.previews, page)
	}
}
