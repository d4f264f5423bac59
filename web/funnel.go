package web

// The X exit notice page's funnel (issue "The comms team's console",
// reach at a glance): visits of /x/NAME by source (?src=, e.g. "qr" on a
// printed poster), remote-follow forms sent on to the visitor's server,
// and the Follows from that server within 30 minutes. Counted without
// cookies or personal data: visits are counters, a follow start keeps
// the server's host name for at most FunnelWindow before it becomes a
// count. Visits are counted in memory and written every FunnelFlush (and
// when the bridge stops); a crash loses at most that much of them.

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/storage"
)

const (
	// FunnelWindow: a Follow from the server a visitor was sent to counts
	// as that visit's follow within this time.
	FunnelWindow = 30 * time.Minute
	// FunnelFlush: how often the visit counters are written and the
	// follow starts rolled up.
	FunnelFlush = time.Minute
	// maxSources bounds the sources counted per account and day (any
	// visitor can invent a ?src=); the rest count as "other".
	maxSources = 16
	maxSource  = 24
)

type visitKey struct{ account, day, source string }

// funnel counts the notice pages' visits between flushes.
type funnel struct {
	mu      sync.Mutex
	visits  map[visitKey]int64
	sources map[visitKey]bool // sources seen per account and day (source "")
	seen    map[visitKey]int  // their number
}

func newFunnel() *funnel {
	return &funnel{visits: map[visitKey]int64{}, sources: map[visitKey]bool{}, seen: map[visitKey]int{}}
}

// visitSource is the source a visit counts under: "direct" without
// ?src=, the value when it is a short word of lower-case letters,
// digits, "-" or "_", "other" otherwise.
func visitSource(q url.Values) string {
	src := strings.ToLower(q.Get("src"))
	if src == "" {
		return "direct"
	}
	if len(src) > maxSource {
		return "other"
	}
	for _, r := range src {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return "other"
		}
	}
	return src
}

// prefetch reports whether a browser fetches the page ahead of a visit
// that may never happen.
func prefetch(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Sec-Purpose"), "prefetch") || r.Header.Get("Purpose") == "prefetch"
}

// visit counts one visit of account's notice page at now.
func (f *funnel) visit(account, source string, now time.Time) {
	day := storage.FunnelDay(now)
	f.mu.Lock()
	defer f.mu.Unlock()
	set := visitKey{account, day, ""}
	if source != "other" && !f.sources[visitKey{account, day, source}] {
		if f.seen[set] >= maxSources {
			source = "other"
		} else {
			f.sources[visitKey{account, day, source}] = true
			f.seen[set]++
		}
	}
	f.visits[visitKey{account, day, source}]++
}

// take returns the counts since the last take and starts new ones.
func (f *funnel) take() map[visitKey]int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := f.visits
	f.visits = map[visitKey]int64{}
	return v
}

// flushFunnel writes the visit counters and rolls up the follow starts
// older than FunnelWindow. Counters it could not write are kept for the
// next flush.
func (p *Pages) flushFunnel(ctx context.Context) error {
	var firstErr error
	for k, n := range p.funnel.take() {
		if err := p.store.AddNoticeVisits(ctx, k.account, k.day, k.source, n); err != nil {
			p.funnel.mu.Lock()
			p.funnel.visits[k] += n
			p.funnel.mu.Unlock()
			if firstErr == nil {
				firstErr = err
			}
		}
	}
	if _, err := p.store.RollUpNoticeFollowStarts(ctx, p.now().Add(-FunnelWindow), FunnelWindow); err != nil && firstErr == nil {
		firstErr = err
	}
	return firstErr
}

// RunFunnel writes the notice pages' funnel every FunnelFlush until ctx
// is cancelled, then once more. Errors are logged; it returns nil.
func (p *Pages) RunFunnel(ctx context.Context) error {
	t := time.NewTicker(FunnelFlush)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := p.flushFunnel(final); err != nil {
				p.log.Error().Err(err).Msg("notice funnel: last write")
			}
			return nil
		case <-t.C:
			if err := p.flushFunnel(ctx); err != nil && ctx.Err() == nil {
				p.log.Warn().Err(err).Msg("notice funnel: write (kept for the next)")
			}
		}
	}
}

// followStart records that a visitor of account's notice page was sent to
// the follow page at target on their server.
func (p *Pages) followStart(ctx context.Context, account, target string) error {
	u, err := url.Parse(target)
	if err != nil || u.Hostname() == "" {
		return nil // not a server a Follow can come from
	}
	return p.store.AddNoticeFollowStart(ctx, account, u.Host, p.now())
}
