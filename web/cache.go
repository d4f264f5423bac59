package web

// Pages under a link-preview storm: a widely shared post makes thousands
// of servers fetch its page, the profile and the card within a minute.
// Rendered pages are kept in memory, each with an ETag (a hash of its
// bytes) and a Last-Modified (when those bytes were first rendered), and
// answered 304 to conditional requests. A request reads the database only
// when the page is missing or older than the cache's TTL (one request
// per page rebuilds it; the others wait for it), and never writes to it.
// Publishing in this process invalidates an account's pages at once
// (Invalidate); the TTL bounds how stale a page can be after a change
// made by another process (the CLI, another replica).

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultCacheTTL is how long a rendered page is served without looking
// at the database again.
const DefaultCacheTTL = 10 * time.Second

// maxCached bounds the pages kept; past it the cache is emptied (a crude
// but safe bound: misses only cost a render).
const maxCached = 8192

// rendered is a page ready to be written.
type rendered struct {
	status      int
	body        []byte
	header      http.Header // Content-Type, Content-Language, Link, CSP...
	etag        string
	modified    time.Time
	built       time.Time
	generation  uint64
	noValidator bool // errors: no ETag, no 304
}

type pageCache struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]*rendered
	gens    map[string]uint64 // per account; "*" for pages of every account (tags, home)
	flight  singleflight.Group
}

func newPageCache(ttl time.Duration, now func() time.Time) *pageCache {
	if ttl <= 0 {
		ttl = DefaultCacheTTL
	}
	return &pageCache{ttl: ttl, now: now, entries: map[string]*rendered{}, gens: map[string]uint64{}}
}

// generation is an account's counter ("*": the counter of pages that
// span accounts, bumped by every change).
func (c *pageCache) generation(account string) uint64 {
	return c.gens[account]
}

// invalidate marks an account's pages, and the pages of every account
// (tags, home), as out of date.
func (c *pageCache) invalidate(account string) {
	c.mu.Lock()
	c.gens[strings.ToLower(account)]++
	c.gens["*"]++ // tag pages and feeds span accounts
	c.mu.Unlock()
}

// get returns the page under key, rebuilding it with build when missing,
// out of date or older than the TTL. account is the account whose
// changes invalidate it ("*" for pages of every account).
func (c *pageCache) get(key, account string, build func() (*rendered, error)) (*rendered, error) {
	now := c.now()
	c.mu.Lock()
	gen := c.generation(account)
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && e.generation == gen && now.Sub(e.built) < c.ttl {
		return e, nil
	}
	v, err, _ := c.flight.Do(key, func() (any, error) {
		c.mu.Lock()
		gen := c.generation(account)
		c.mu.Unlock()
		r, err := build()
		if err != nil {
			return nil, err
		}
		r.generation, r.built = gen, c.now()
		r.etag = etagOf(r.body)
		r.modified = r.built.Truncate(time.Second)
		if ok && e.etag == r.etag {
			r.modified = e.modified // same bytes: same Last-Modified
		}
		c.mu.Lock()
		if len(c.entries) >= maxCached {
			c.entries = map[string]*rendered{}
		}
		c.entries[key] = r
		c.mu.Unlock()
		return r, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*rendered), nil
}

func etagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

// write answers with a rendered page: 304 when the request's validators
// match, else the page (HEAD: the headers only).
func (r *rendered) write(w http.ResponseWriter, req *http.Request) {
	h := w.Header()
	for k, v := range r.header {
		h[k] = v
	}
	if r.status == http.StatusOK && !r.noValidator {
		h["Etag"] = []string{r.etag}
		h["Last-Modified"] = []string{r.modified.UTC().Format(http.TimeFormat)}
		if notModified(req, r.etag, r.modified) {
			delete(h, "Content-Type")
			delete(h, "Content-Length")
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(r.body)))
	w.WriteHeader(r.status)
	if req.Method != http.MethodHead {
		w.Write(r.body)
	}
}

// notModified applies RFC 9110's rules: If-None-Match wins over
// If-Modified-Since.
func notModified(r *http.Request, etag string, modified time.Time) bool {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" {
		t, err := http.ParseTime(ims)
		return err == nil && !modified.Truncate(time.Second).After(t)
	}
	return false
}

// page is a helper to build a rendered page from a template.
func (p *Pages) page(status int, name string, data any, header http.Header) (*rendered, error) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return nil, err
	}
	h := http.Header{}
	for k, v := range header {
		h[k] = v
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	if h.Get("Content-Security-Policy") == "" {
		h.Set("Content-Security-Policy", p.csp())
	}
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	return &rendered{status: status, body: buf.Bytes(), header: h, noValidator: status != http.StatusOK}, nil
}

func unixTime(s int64) time.Time { return time.Unix(s, 0).UTC() }
