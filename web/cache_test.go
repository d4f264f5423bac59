package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// countingStore counts the reads the pages make.
type countingStore struct {
	storage.Store
	reads atomic.Int64
}

func (c *countingStore) GetStatus(ctx context.Context, id int64) (storage.Status, error) {
	c.reads.Add(1)
	return c.Store.GetStatus(ctx, id)
}

func (c *countingStore) ListStatuses(ctx context.Context, p storage.StatusPage) ([]storage.Status, error) {
	c.reads.Add(1)
	return c.Store.ListStatuses(ctx, p)
}

func (c *countingStore) ListPinned(ctx context.Context, account string) ([]storage.Status, error) {
	c.reads.Add(1)
	return c.Store.ListPinned(ctx, account)
}

func (c *countingStore) ListStatusMedia(ctx context.Context, id int64) ([]storage.Media, error) {
	c.reads.Add(1)
	return c.Store.ListStatusMedia(ctx, id)
}

func (c *countingStore) CountStatuses(ctx context.Context, account string, v []string) (int64, error) {
	c.reads.Add(1)
	return c.Store.CountStatuses(ctx, account, v)
}

func (c *countingStore) CountFollowers(ctx context.Context, account, state string) (int64, error) {
	c.reads.Add(1)
	return c.Store.CountFollowers(ctx, account, state)
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestPagesServedFromMemory: under a link-preview storm the notice page,
// its card, the profile, a post and the feeds are answered from memory
// (no database access at all), with validators answered 304; a change
// published in this process shows at once, one made elsewhere after the
// TTL, and an unchanged page keeps its validators.
func TestPagesServedFromMemory(t *testing.T) {
	var cs *countingStore
	clk := &clock{now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	s := newSite(t, siteOptions{posts: 3, now: clk.Now, wrap: func(st storage.Store) storage.Store {
		cs = &countingStore{Store: st}
		return cs
	}})
	r := addRich(t, s)
	paths := []string{"/x/news", "/x/news/card.png", "/@news", "/@news/card.png", "/@news/" + id(r.media), "/@news.rss", "/@news.atom", "/tags/exit", "/@news/" + id(r.media) + "/embed",
		"/api/oembed?url=" + url.QueryEscape(s.url+"/@news/"+id(r.media))}
	etags := map[string]string{}
	for _, p := range paths { // warm
		resp, _ := get(t, s.url+p)
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" || resp.Header.Get("Last-Modified") == "" {
			t.Fatalf("GET %s: %d ETag %q Last-Modified %q", p, resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get("Last-Modified"))
		}
		etags[p] = resp.Header.Get("ETag")
	}
	cs.reads.Store(0)
	for range 20 {
		for _, p := range paths {
			if resp, _ := get(t, s.url+p); resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != etags[p] {
				t.Fatalf("GET %s: %d %q", p, resp.StatusCode, resp.Header.Get("ETag"))
			}
		}
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("%d database reads for %d cached requests, want none", n, 20*len(paths))
	}
	for _, p := range paths {
		resp, body := get(t, s.url+p, "If-None-Match: "+etags[p])
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET %s If-None-Match: %d (%d bytes), want 304 and no body", p, resp.StatusCode, len(body))
		}
		lm := mustGet(t, s.url+p).Header.Get("Last-Modified")
		if resp, _ := get(t, s.url+p, "If-Modified-Since: "+lm); resp.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s If-Modified-Since: %d, want 304", p, resp.StatusCode)
		}
		if resp, _ := get(t, s.url+p, `If-None-Match: "other"`); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with another ETag: %d, want 200", p, resp.StatusCode)
		}
	}
	if n := cs.reads.Load(); n != 0 {
		t.Errorf("%d database reads for conditional requests, want none", n)
	}

	// A change made elsewhere (no Invalidate): shown after the TTL.
	ctx := context.Background()
	if _, err := s.store.InsertStatus(ctx, storage.Status{Account: "news", Text: "Fresh news", ContentHTML: "<p>Fresh news</p>", Visibility: storage.VisibilityPublic}); err != nil {
		t.Fatal(err)
	}
	if _, body := get(t, s.url+"/@news"); strings.Contains(body, "Fresh news") {
		t.Error("a change made by another process shows before the TTL: the page was not cached")
	}
	before := mustGet(t, s.url+"/@news/"+id(r.media))
	clk.advance(11 * time.Second)
	if _, body := get(t, s.url+"/@news"); !strings.Contains(body, "Fresh news") {
		t.Error("a change made by another process does not show after the TTL")
	}
	if _, body := get(t, s.url+"/@news.rss"); !strings.Contains(body, "Fresh news") {
		t.Error("the feed does not show the new post after the TTL")
	}
	// The post page, rebuilt, has the same bytes: same validators.
	after := mustGet(t, s.url+"/@news/"+id(r.media))
	if after.Header.Get("ETag") != before.Header.Get("ETag") || after.Header.Get("Last-Modified") != before.Header.Get("Last-Modified") {
		t.Errorf("unchanged page changed validators: %q %q → %q %q", before.Header.Get("ETag"), before.Header.Get("Last-Modified"),
			after.Header.Get("ETag"), after.Header.Get("Last-Modified"))
	}

	// A change published here: at once.
	if _, err := s.store.InsertStatus(ctx, storage.Status{Account: "news", Text: "Breaking", ContentHTML: "<p>Breaking</p>", Visibility: storage.VisibilityPublic}); err != nil {
		t.Fatal(err)
	}
	s.pages.Invalidate("news")
	for _, p := range []string{"/@news", "/@news.rss", "/@news.atom", "/x/news"} {
		if _, body := get(t, s.url+p); !strings.Contains(body, "Breaking") {
			t.Errorf("%s does not show a post published here at once", p)
		}
	}
}

// TestPublishingInvalidatesPages: through the real publishing path (as
// cmd/bridge wires it), a post shows at once on the cached profile and
// feed, and once deleted its page answers 410 at once.
func TestPublishingInvalidatesPages(t *testing.T) {
	s := newSite(t, siteOptions{posts: 1})
	pub := publish.New(publish.Settings{MediaDir: t.TempDir(), HandleDomain: s.host, OnChange: s.pages.Invalidate}, s.store, s.fed, zerolog.Nop())
	ctx := context.Background()
	for _, p := range []string{"/@news", "/@news.rss", "/x/news"} {
		get(t, s.url+p) // cached
	}
	st, err := pub.Create(ctx, "news", publish.Draft{Text: "Council meeting tonight"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/@news", "/@news.rss", "/x/news"} {
		if _, body := get(t, s.url+p); !strings.Contains(body, "Council meeting tonight") {
			t.Errorf("%s does not show the new post", p)
		}
	}
	post := s.url + "/@news/" + id(st.ID)
	if resp, _ := get(t, post); resp.StatusCode != http.StatusOK {
		t.Fatalf("new post: %d", resp.StatusCode)
	}
	if _, err := pub.Delete(ctx, "news", st.ID); err != nil {
		t.Fatal(err)
	}
	resp, body := get(t, post)
	if resp.StatusCode != http.StatusGone || !strings.Contains(body, "This post was deleted on") {
		t.Errorf("deleted post: %d", resp.StatusCode)
	}
	if _, body := get(t, s.url+"/@news"); strings.Contains(body, "Council meeting tonight") {
		t.Error("the profile still shows the deleted post")
	}
}
