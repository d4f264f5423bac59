package moderation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
)

// deliverJobKind is federation.JobDeliver (checked by a test; importing
// federation here only for it would tie the packages together).
const deliverJobKind = "deliver"

// ReasonBlocked is the last error of deliveries cancelled by a block.
const ReasonBlocked = "domain blocked"

// Timing of the background work.
const (
	// pollInterval is how often Run looks for blocks changed by another
	// process (the command line, another replica).
	pollInterval = 5 * time.Second
	// refreshCheck is how often Run looks for subscriptions due.
	refreshCheck = time.Minute
	// cancelPerDomainUpTo: a change blocking up to that many domains
	// cancels their pending deliveries one domain at a time; beyond, the
	// delivery workers refuse them when they come due.
	cancelPerDomainUpTo = 50
)

// Service is the moderation state of the bridge.
type Service struct {
	cfg    config.Moderation
	store  storage.Store
	client *http.Client
	log    zerolog.Logger
	now    func() time.Time

	cur     atomic.Pointer[Matcher]
	mu      sync.Mutex // serialises reloads
	version int64      // storage version cur was built from; -1 before the first load
	config  []*Entry   // blocks of the configuration file, normalised
	allows  []string
	subs    map[string]config.BlocklistSubscription // by source
}

// New builds the service and loads the blocks. client fetches the
// blocklist subscriptions: pass the SSRF-safe client (safehttp.NewClient).
func New(ctx context.Context, cfg config.Moderation, store storage.Store, client *http.Client, logger zerolog.Logger) (*Service, error) {
	s := &Service{cfg: cfg, store: store, client: client, log: logger, now: time.Now, version: -1,
		subs: map[string]config.BlocklistSubscription{}}
	seen := map[string]bool{}
	for _, d := range cfg.DomainBlocks {
		n, err := config.NormalizeDomain(d)
		if err != nil {
			return nil, fmt.Errorf("moderation: domain_blocks: %w", err)
		}
		if !seen[n] {
			seen[n] = true
			s.config = append(s.config, &Entry{Domain: n, Severity: storage.SeveritySuspend, Sources: []string{SourceConfig}})
		}
	}
	for _, d := range cfg.DomainAllows {
		n, err := config.NormalizeDomain(d)
		if err != nil {
			return nil, fmt.Errorf("moderation: domain_allows: %w", err)
		}
		s.allows = append(s.allows, n)
	}
	for _, sub := range cfg.Subscriptions {
		s.subs[storage.BlockSourceSubscription+sub.URL] = sub
	}
	if _, err := s.Reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Matcher returns the current snapshot.
func (s *Service) Matcher() *Matcher { return s.cur.Load() }

// Blocked reports whether federation with host is refused (see
// Matcher.Blocked). It is the hot-path check: lock-free.
func (s *Service) Blocked(host string) bool { return s.cur.Load().Blocked(host) }

// Silenced reports whether host's activities must not notify (see
// Matcher.Silenced).
func (s *Service) Silenced(host string) bool { return s.cur.Load().Silenced(host) }

// Reload rebuilds the matcher from the configuration and the stored
// blocks, and returns the domains that are newly blocked.
func (s *Service) Reload(ctx context.Context) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reloadLocked(ctx)
}

func (s *Service) reloadLocked(ctx context.Context) ([]string, error) {
	v, err := s.store.DomainBlocksVersion(ctx)
	if err != nil {
		return nil, fmt.Errorf("moderation: load blocks: %w", err)
	}
	rows, err := s.store.ListDomainBlocks(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("moderation: load blocks: %w", err)
	}
	accountBlocks, err := s.store.ListAccountDomainBlocks(ctx, "")
	if err != nil {
		return nil, fmt.Errorf("moderation: load blocks: %w", err)
	}
	entries := s.merge(rows)
	m := newMatcher(entries, s.allows, accountBlocks)
	old := s.cur.Swap(m)
	s.version = v
	var added []string
	for d := range m.blocked {
		if old == nil || old.blocked[d] == nil {
			added = append(added, d)
		}
	}
	slices.Sort(added)
	if old == nil || len(added) > 0 || old.Len() != m.Len() || old.accountBlocksLen() != m.accountBlocksLen() {
		s.log.Info().Int("blocked", len(m.blocked)).Int("silenced", len(m.silenced)).Bool("allow_list", m.allowed != nil).
			Int("newly_blocked", len(added)).Int("account_blocks", m.accountBlocksLen()).Msg("domain blocks loaded")
	}
	return added, nil
}

// merge combines the configuration's blocks with the stored ones (those
// of subscriptions no longer configured are left out), one entry per
// domain, suspend winning over silence.
func (s *Service) merge(rows []storage.DomainBlock) []*Entry {
	byDomain := map[string]*Entry{}
	var out []*Entry
	for _, e := range s.config {
		c := *e
		byDomain[c.Domain] = &c
		out = append(out, &c)
	}
	for _, r := range rows {
		if strings.HasPrefix(r.Source, storage.BlockSourceSubscription) && s.subs[r.Source].URL == "" {
			continue
		}
		e := byDomain[r.Domain]
		if e == nil {
			e = &Entry{Domain: r.Domain, Severity: r.Severity}
			byDomain[r.Domain] = e
			out = append(out, e)
		}
		if r.Severity == storage.SeveritySuspend {
			e.Severity = storage.SeveritySuspend
		}
		if e.Reason == "" {
			e.Reason = r.Reason
		}
		e.Sources = append(e.Sources, r.Source)
	}
	return out
}

// List returns the merged blocks (configuration, stored, subscriptions),
// ordered by domain, and the allowed domains in allow-list mode.
func (s *Service) List() (entries []Entry, allows []string) {
	m := s.cur.Load()
	for _, set := range []map[string]*Entry{m.blocked, m.silenced} {
		for _, e := range set {
			entries = append(entries, *e)
		}
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Domain, b.Domain) })
	return entries, slices.Clone(s.allows)
}

// BlockResult is what a block did.
type BlockResult struct {
	Domains             []string // canonical forms, as stored
	FollowersRemoved    int64
	DeliveriesCancelled int64
}

// BlockDomains blocks domains (and their subdomains) for good: the blocks
// are stored (source "manual", severity suspend, with reason), the
// followers on those domains removed, the deliveries pending to them
// cancelled (failed with "domain blocked"), and the matcher reloaded, so
// that from its return nothing is accepted from, delivered or served to
// them by this process (other processes reload within seconds). It is the
// one call behind `bridge blocks add` (the client API's domain blocks
// are the account's own: BlockDomainsFor).
func (s *Service) BlockDomains(ctx context.Context, domains []string, reason string) (BlockResult, error) {
	var res BlockResult
	for _, d := range domains {
		n, err := config.NormalizeDomain(d)
		if err != nil {
			return BlockResult{}, fmt.Errorf("moderation: block: %w", err)
		}
		if !slices.Contains(res.Domains, n) {
			res.Domains = append(res.Domains, n)
		}
	}
	if len(res.Domains) == 0 {
		return BlockResult{}, errors.New("moderation: block: no domain given")
	}
	reason = truncateRunes(strings.TrimSpace(reason), maxReason)
	now := s.now()
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		for _, d := range res.Domains {
			b := storage.DomainBlock{Domain: d, Source: storage.BlockSourceManual, Severity: storage.SeveritySuspend, Reason: reason, CreatedAt: now}
			if _, err := q.UpsertDomainBlock(ctx, b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return BlockResult{}, fmt.Errorf("moderation: block: %w", err)
	}
	// Reload first: from here on the delivery workers and the inboxes of
	// this process refuse the domains, whatever the clean-up below finds.
	if _, err := s.Reload(ctx); err != nil {
		return res, err
	}
	for _, d := range res.Domains {
		f, c, err := s.cleanUp(ctx, d)
		res.FollowersRemoved += f
		res.DeliveriesCancelled += c
		if err != nil {
			return res, err
		}
	}
	s.log.Warn().Strs("domains", res.Domains).Str("reason", reason).Int64("followers_removed", res.FollowersRemoved).
		Int64("deliveries_cancelled", res.DeliveriesCancelled).Msg("domains blocked")
	return res, nil
}

// cleanUp removes the followers on domain and cancels the deliveries
// pending to it.
func (s *Service) cleanUp(ctx context.Context, domain string) (followers, deliveries int64, err error) {
	followers, err = s.store.DeleteFollowersByDomain(ctx, domain)
	if err != nil {
		return 0, 0, fmt.Errorf("moderation: remove followers on %s: %w", domain, err)
	}
	deliveries, err = s.store.CancelPendingJobsByDomain(ctx, deliverJobKind, domain, ReasonBlocked, s.now())
	if err != nil {
		return followers, 0, fmt.Errorf("moderation: cancel deliveries to %s: %w", domain, err)
	}
	return followers, deliveries, nil
}

// UnblockResult is what an unblock did.
type UnblockResult struct {
	Domain  string
	Removed bool // a manual or imported block was removed
	// StillBlockedBy lists what still blocks or silences the domain: the
	// configuration file, a subscription, a block of a parent domain.
	StillBlockedBy []string
}

// Unblock removes the manual and imported blocks of domain. Blocks
// written in the configuration or received from a subscription stay (the
// result says so): edit the file or the list.
func (s *Service) Unblock(ctx context.Context, domain string) (UnblockResult, error) {
	d, err := config.NormalizeDomain(domain)
	if err != nil {
		return UnblockResult{}, fmt.Errorf("moderation: unblock: %w", err)
	}
	res := UnblockResult{Domain: d}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		for _, src := range []string{storage.BlockSourceManual, storage.BlockSourceImport} {
			ok, err := q.DeleteDomainBlock(ctx, d, src)
			if err != nil {
				return err
			}
			res.Removed = res.Removed || ok
		}
		return nil
	})
	if err != nil {
		return UnblockResult{}, fmt.Errorf("moderation: unblock: %w", err)
	}
	if _, err := s.Reload(ctx); err != nil {
		return res, err
	}
	if e, ok := s.cur.Load().Lookup(d); ok {
		for _, src := range e.Sources {
			if e.Domain != d {
				src += " (block of " + e.Domain + ")"
			}
			res.StillBlockedBy = append(res.StillBlockedBy, src)
		}
	}
	if res.Removed {
		s.log.Warn().Str("domain", d).Strs("still_blocked_by", res.StillBlockedBy).Msg("domain unblocked")
	}
	return res, nil
}

// ImportResult is what an import did.
type ImportResult struct {
	Added, Updated      int // stored blocks
	Skipped             []Skipped
	FollowersRemoved    int64
	DeliveriesCancelled int64
}

// Import stores the entries of a blocklist (see ParseList) with source
// "import"; reason is used for entries without a public comment. Then,
// as for BlockDomains, followers on the newly blocked domains are
// removed and their pending deliveries cancelled.
func (s *Service) Import(ctx context.Context, entries []ListEntry, reason string) (ImportResult, error) {
	var res ImportResult
	existing, err := s.store.ListDomainBlocks(ctx, storage.BlockSourceImport)
	if err != nil {
		return res, fmt.Errorf("moderation: import: %w", err)
	}
	old := map[string]storage.DomainBlock{}
	for _, b := range existing {
		old[b.Domain] = b
	}
	now := s.now()
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		for _, e := range entries {
			r := e.Reason
			if r == "" {
				r = reason
			}
			if b, ok := old[e.Domain]; ok && b.Severity == e.Severity && b.Reason == r {
				continue
			}
			created, err := q.UpsertDomainBlock(ctx, storage.DomainBlock{Domain: e.Domain, Source: storage.BlockSourceImport, Severity: e.Severity, Reason: r, CreatedAt: now})
			if err != nil {
				return err
			}
			if created {
				res.Added++
			} else {
				res.Updated++
			}
		}
		return nil
	})
	if err != nil {
		return ImportResult{}, fmt.Errorf("moderation: import: %w", err)
	}
	added, err := s.Reload(ctx)
	if err != nil {
		return res, err
	}
	res.FollowersRemoved, res.DeliveriesCancelled, err = s.enforce(ctx, added)
	s.log.Warn().Int("added", res.Added).Int("updated", res.Updated).Int64("followers_removed", res.FollowersRemoved).
		Msg("blocklist imported")
	return res, err
}

// enforce cleans up after domains became blocked: for a few, their
// followers and pending deliveries one domain at a time; for many, one
// pass over all followers (pending deliveries are then refused by the
// delivery workers when they come due).
func (s *Service) enforce(ctx context.Context, added []string) (followers, deliveries int64, err error) {
	if len(added) == 0 {
		return 0, 0, nil
	}
	if len(added) <= cancelPerDomainUpTo {
		for _, d := range added {
			f, c, err := s.cleanUp(ctx, d)
			followers += f
			deliveries += c
			if err != nil {
				return followers, deliveries, err
			}
		}
		return followers, deliveries, nil
	}
	followers, err = s.Sweep(ctx)
	return followers, 0, err
}

// Sweep removes every follower whose actor, inbox or shared inbox is
// refused by the current matcher (in allow-list mode: not allowed), in one
// pass over the followers of every account, and returns how many went.
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	m := s.cur.Load()
	if m.Len() == 0 && !m.AllowListMode() && m.accountBlocksLen() == 0 {
		return 0, nil
	}
	var removed int64
	acc, actor := "", ""
	for {
		page, err := s.store.ListAllFollowers(ctx, acc, actor, 500)
		if err != nil {
			return removed, fmt.Errorf("moderation: sweep followers: %w", err)
		}
		for _, f := range page {
			if !m.BlockedFor(f.Account, urlHost(f.ActorID)) && !m.BlockedFor(f.Account, urlHost(f.Inbox)) &&
				(f.SharedInbox == "" || !m.BlockedFor(f.Account, urlHost(f.SharedInbox))) {
				continue
			}
			ok, err := s.store.DeleteFollower(ctx, f.Account, f.ActorID)
			if err != nil {
				return removed, fmt.Errorf("moderation: sweep followers: %w", err)
			}
			if ok {
				removed++
			}
		}
		if len(page) < 500 {
			break
		}
		acc, actor = page[len(page)-1].Account, page[len(page)-1].ActorID
	}
	if removed > 0 {
		s.log.Warn().Int64("followers_removed", removed).Msg("followers on blocked domains removed")
	}
	return removed, nil
}

func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

// Run keeps the matcher current until ctx is cancelled: it reloads when
// another process changed the stored blocks, removes the followers of
// newly blocked domains, and refreshes the blocklist subscriptions when
// due. It starts with one sweep of the followers (blocks of the
// configuration file may have changed since the last run).
func (s *Service) Run(ctx context.Context) error {
	if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
		s.log.Error().Err(err).Msg("sweep followers of blocked domains")
	}
	if err := s.pruneSubscriptions(ctx); err != nil && ctx.Err() == nil {
		s.log.Error().Err(err).Msg("forget unsubscribed blocklists")
	}
	poll := time.NewTicker(pollInterval)
	defer poll.Stop()
	nextRefresh := time.Now()
	for {
		if len(s.cfg.Subscriptions) > 0 && !time.Now().Before(nextRefresh) {
			if _, err := s.Refresh(ctx, false); err != nil && ctx.Err() == nil {
				s.log.Error().Err(err).Msg("refresh blocklist subscriptions")
			}
			nextRefresh = time.Now().Add(refreshCheck)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
		}
		if err := s.poll(ctx); err != nil && ctx.Err() == nil {
			s.log.Error().Err(err).Msg("reload domain blocks")
		}
	}
}

// poll reloads the blocks if another process changed them, and enforces
// the new ones.
func (s *Service) poll(ctx context.Context) error {
	v, err := s.store.DomainBlocksVersion(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	same := v == s.version
	s.mu.Unlock()
	if same {
		return nil
	}
	added, err := s.Reload(ctx)
	if err != nil {
		return err
	}
	_, _, err = s.enforce(ctx, added)
	return err
}
