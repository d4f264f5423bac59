package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Raids: when mentions and quotes pile up ("347 mentions from 52 accounts
// on 3 servers in 10 minutes"), the comms team sees them as one group and
// can block the servers involved in one call. What a raid is belongs to
// package moderation (RaidSpans), which the push notifications share.

const (
	raidWindow    = moderation.RaidWindow
	raidLookback  = moderation.RaidLookback
	raidThreshold = moderation.RaidThreshold
)

// RaidServer is one server a raid came from.
type RaidServer struct {
	Domain   string `json:"domain"`
	Mentions int64  `json:"mentions"`
	Accounts int64  `json:"accounts"`
}

// RaidBluesky is what of a raid came from Bluesky: one origin (its
// accounts are blocked one by one, on Bluesky; no server of theirs can
// be).
type RaidBluesky struct {
	Mentions int64 `json:"mentions"`
	Accounts int64 `json:"accounts"`
}

// Raid is a group of notifications from a raid (a Passerelle entity).
// Mentions and Accounts count both networks; Servers are the fediverse's,
// Bluesky what came from Bluesky.
type Raid struct {
	ID        string       `json:"id"`
	StartedAt string       `json:"started_at"`
	EndedAt   string       `json:"ended_at"`
	Ongoing   bool         `json:"ongoing"`
	Mentions  int64        `json:"mentions"`
	Accounts  int64        `json:"accounts"`
	Servers   []RaidServer `json:"servers"`
	Bluesky   RaidBluesky  `json:"bluesky"`
	Summary   string       `json:"summary"`
}

// raidSpan is a raid's time span, [from, to).
type raidSpan struct{ from, to time.Time }

func (r raidSpan) id() string {
	w := raidWindow.Microseconds()
	return strconv.FormatInt(r.from.UnixMicro()/w, 10) + "-" + strconv.FormatInt(r.to.UnixMicro()/w, 10)
}

func parseRaidID(id string) (raidSpan, bool) {
	a, b, ok := strings.Cut(id, "-")
	from, err1 := strconv.ParseInt(a, 10, 64)
	to, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || from <= 0 || to <= from || to-from > int64(raidLookback/raidWindow)+1 {
		return raidSpan{}, false
	}
	w := raidWindow.Microseconds()
	return raidSpan{time.UnixMicro(from * w).UTC(), time.UnixMicro(to * w).UTC()}, true
}

// raids finds the account's raids of the last day, newest first.
func (s *Server) raids(ctx context.Context, account string, threshold int64) ([]raidSpan, error) {
	found, err := moderation.RecentRaidSpans(ctx, s.store, account, s.now(), threshold)
	if err != nil {
		return nil, err
	}
	var spans []raidSpan
	for _, sp := range found {
		spans = append(spans, raidSpan{sp.From, sp.To})
	}
	return spans, nil
}

// raidSpans groups buckets (oldest first, empty ones left out) into raids,
// newest first (moderation.RaidSpans: the push notifications use the same).
func raidSpans(buckets []storage.NotificationBucket, threshold int64) []raidSpan {
	var spans []raidSpan
	for _, sp := range moderation.RaidSpans(buckets, threshold) {
		spans = append(spans, raidSpan{sp.From, sp.To})
	}
	return spans
}

// raid describes one raid.
func (s *Server) raid(ctx context.Context, account string, span raidSpan) (Raid, error) {
	rd, err := moderation.DescribeRaid(ctx, s.store, account, moderation.RaidSpan{From: span.from, To: span.to}, s.now())
	if err != nil {
		return Raid{}, err
	}
	out := Raid{ID: span.id(), StartedAt: timeString(span.from), EndedAt: timeString(span.to),
		Ongoing: rd.Ongoing, Servers: []RaidServer{}, Mentions: rd.Mentions, Accounts: rd.Accounts,
		Bluesky: RaidBluesky{Mentions: rd.Bluesky.Notifications, Accounts: rd.Bluesky.Actors}}
	for _, d := range rd.Servers {
		out.Servers = append(out.Servers, RaidServer{Domain: d.Domain, Mentions: d.Notifications, Accounts: d.Actors})
	}
	out.Summary = rd.Summary() + " in " + duration(span.to.Sub(span.from))
	return out, nil
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}

func duration(d time.Duration) string {
	if d >= 2*time.Hour && d%time.Hour == 0 {
		return plural(int64(d/time.Hour), "hour")
	}
	return plural(int64(d/time.Minute), "minute")
}

func (s *Server) listRaids(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	threshold := int64(raidThreshold)
	if n, err := strconv.ParseInt(r.URL.Query().Get("threshold"), 10, 64); err == nil && n >= 5 {
		threshold = n
	}
	spans, err := s.raids(ctx, c.name, threshold)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := []Raid{}
	for _, sp := range spans {
		rd, err := s.raid(ctx, c.name, sp)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, rd)
	}
	writeJSON(w, http.StatusOK, out)
}

// RaidBlock is what blocking a raid did: the fediverse servers blocked,
// and, for what came from Bluesky, what the shield did there.
type RaidBlock struct {
	Blocked          []string              `json:"blocked"`
	FollowersRemoved int64                 `json:"followers_removed"`
	Dismissed        int64                 `json:"notifications_dismissed"`
	Bluesky          *atproto.ShieldResult `json:"bluesky,omitempty"`
}

// raidBlueskyOrigin names Bluesky among a raid block's domains[].
const raidBlueskyOrigin = "bsky"

// blockRaid blocks, for the calling account (its own domain blocks, as
// POST /api/v1/domain_blocks), the fediverse servers a raid on it came
// from (all of them, or those named in domains[]; never our own), and
// dismisses their notifications; and shields it on Bluesky against what
// came from there (unless domains[] is given without "bsky"): the
// threads' threadgates tightened with the raid's replies hidden, its
// quotes detached, its accounts blocked (atproto.Mirror.ShieldRaid,
// written by the mirror's jobs).
func (s *Server) blockRaid(w http.ResponseWriter, r *http.Request, c *caller) {
	span, ok := parseRaidID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	only, _ := p.list("domains")
	out, err := s.BlockRaid(r.Context(), c.name, span.from, span.to, only)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// BlockRaid blocks, for account, the raid of [from, to) (its bounds as
// the raid's id has them): the fediverse servers it came from (all, or
// those named in only; never our own) become the account's domain blocks
// and their notifications are dismissed, and, when Bluesky is among its
// origins (and in only, as "bsky", when only names any) and the account
// is mirrored, the account is shielded on Bluesky (ShieldRaid). The
// console's moderation page calls it too.
func (s *Server) BlockRaid(ctx context.Context, account string, from, to time.Time, only []string) (RaidBlock, error) {
	span := raidSpan{from, to}
	if _, ok := parseRaidID(span.id()); !ok {
		return RaidBlock{}, errNotFound
	}
	rd, err := s.raid(ctx, account, span)
	if err != nil {
		return RaidBlock{}, err
	}
	if rd.Mentions == 0 {
		return RaidBlock{}, errNotFound
	}
	picked := func(d string) bool {
		return len(only) == 0 || slices.ContainsFunc(only, func(o string) bool { return strings.EqualFold(o, d) })
	}
	var domains []string
	for _, sv := range rd.Servers {
		if sv.Domain == "" || s.ownDomain(sv.Domain) || !picked(sv.Domain) {
			continue
		}
		domains = append(domains, sv.Domain)
	}
	b := s.set.Bluesky
	shield := rd.Bluesky.Mentions > 0 && picked(raidBlueskyOrigin) && b != nil && b.Mirrors(account)
	if len(domains) == 0 && !shield {
		return RaidBlock{}, unprocessable("Validation failed: no server of this raid to block")
	}
	if len(domains) > 0 && s.mod == nil {
		return RaidBlock{}, errNoModeration
	}
	out := RaidBlock{Blocked: []string{}}
	if len(domains) > 0 {
		res, err := s.mod.BlockDomainsFor(ctx, account, domains)
		if err != nil {
			return RaidBlock{}, blockError(err)
		}
		dismissed, err := s.store.DismissNotificationsFromDomains(ctx, account, res.Domains, s.now())
		if err != nil {
			return RaidBlock{}, err
		}
		out.Blocked, out.FollowersRemoved, out.Dismissed = res.Domains, res.FollowersRemoved, dismissed
	}
	log := reqlog.Logger(ctx, s.log)
	if shield {
		res, err := b.ShieldRaid(ctx, account, span.from, span.to)
		if err != nil {
			return out, err
		}
		out.Bluesky = &res
		log.Warn().Str("account", account).Str("raid", rd.ID).Int("threads", res.Threads).Int("hidden", res.HiddenReplies).
			Int("detached", res.DetachedQuotes).Int("blocked", res.Blocked).Msg("raid shielded on Bluesky by the account")
	}
	if len(domains) > 0 {
		log.Warn().Str("account", account).Str("raid", rd.ID).Str("summary", rd.Summary).Strs("domains", out.Blocked).
			Msg("raid servers blocked by the account")
	}
	return out, nil
}
