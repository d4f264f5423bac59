package moderation

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Raids: when mentions and quotes pile up ("347 mentions from 52 accounts
// on 3 servers in 10 minutes"), the comms team sees them as one group in
// its app (the client API's raids) and is pushed one notification for all
// of them (package push). A raid is a run of consecutive 10-minute windows
// of the last day each holding at least RaidThreshold mentions and quotes,
// alone or with the window next to it (a burst across a window's edge is
// one raid, and the window a raid is still going on in belongs to it).
const (
	RaidWindow    = 10 * time.Minute
	RaidLookback  = 24 * time.Hour
	RaidThreshold = 20
)

// RaidTypes are the notification types a raid is made of.
var RaidTypes = []string{storage.NotificationMention, storage.NotificationQuote}

// RaidSpan is a raid's time span, [From, To).
type RaidSpan struct{ From, To time.Time }

// RaidSpans groups notification buckets of width RaidWindow (oldest
// first, empty ones left out: storage.NotificationBuckets) into raids,
// newest first.
func RaidSpans(buckets []storage.NotificationBucket, threshold int64) []RaidSpan {
	hot := make([]bool, len(buckets))
	for i, b := range buckets {
		if b.Notifications >= threshold {
			hot[i] = true
		}
		if i > 0 && buckets[i-1].Start.Add(RaidWindow).Equal(b.Start) && buckets[i-1].Notifications+b.Notifications >= threshold {
			hot[i-1], hot[i] = true, true
		}
	}
	var spans []RaidSpan
	for i, b := range buckets {
		if !hot[i] {
			continue
		}
		end := b.Start.Add(RaidWindow)
		if n := len(spans); n > 0 && spans[n-1].To.Equal(b.Start) {
			spans[n-1].To = end
			continue
		}
		spans = append(spans, RaidSpan{b.Start, end})
	}
	slices.Reverse(spans)
	return spans
}

// RaidAt returns the raid going on at t, if any, among spans.
func RaidAt(spans []RaidSpan, t time.Time) (RaidSpan, bool) {
	for _, sp := range spans {
		if !t.Before(sp.From) && t.Before(sp.To) {
			return sp, true
		}
	}
	return RaidSpan{}, false
}

// RaidStore is what describing raids reads (storage.Queries has it).
type RaidStore interface {
	NotificationBuckets(ctx context.Context, account string, types []string, since time.Time, width time.Duration) ([]storage.NotificationBucket, error)
	NotificationDomains(ctx context.Context, account string, types []string, from, to time.Time) ([]storage.DomainCount, error)
}

// Raid is one raid described: its span, whether it is still going on,
// and its origins (the mentions and quotes it is made of, how many
// accounts they came from, from which servers and from Bluesky).
type Raid struct {
	RaidSpan
	Ongoing bool
	RaidOrigins
}

// RecentRaidSpans finds the account's raids of the last RaidLookback at
// now, newest first.
func RecentRaidSpans(ctx context.Context, q RaidStore, account string, now time.Time, threshold int64) ([]RaidSpan, error) {
	buckets, err := q.NotificationBuckets(ctx, account, RaidTypes, now.Add(-RaidLookback), RaidWindow)
	if err != nil {
		return nil, fmt.Errorf("moderation: raids of %s: %w", account, err)
	}
	return RaidSpans(buckets, threshold), nil
}

// DescribeRaid counts what a raid of the account is made of, at now.
func DescribeRaid(ctx context.Context, q RaidStore, account string, span RaidSpan, now time.Time) (Raid, error) {
	domains, err := q.NotificationDomains(ctx, account, RaidTypes, span.From, span.To)
	if err != nil {
		return Raid{}, fmt.Errorf("moderation: raid of %s: %w", account, err)
	}
	return Raid{RaidSpan: span, Ongoing: now.Before(span.To.Add(RaidWindow)), RaidOrigins: Origins(domains)}, nil
}

// RecentRaids finds and describes the account's raids of the last
// RaidLookback at now, newest first.
func RecentRaids(ctx context.Context, q RaidStore, account string, now time.Time, threshold int64) ([]Raid, error) {
	spans, err := RecentRaidSpans(ctx, q, account, now, threshold)
	if err != nil {
		return nil, err
	}
	var out []Raid
	for _, sp := range spans {
		rd, err := DescribeRaid(ctx, q, account, sp, now)
		if err != nil {
			return nil, err
		}
		out = append(out, rd)
	}
	return out, nil
}

// RaidOrigins is where a raid's mentions and quotes came from
// (storage.NotificationDomains of its span): fediverse servers, and
// Bluesky, counted as one origin (its accounts' handles name no server
// that could be blocked; they are blocked one by one, on Bluesky).
type RaidOrigins struct {
	Mentions int64
	Accounts int64
	Servers  []storage.DomainCount // the fediverse's, most first
	Bluesky  storage.DomainCount   // zero when none came from Bluesky
}

// Origins sums a raid's counts by origin.
func Origins(domains []storage.DomainCount) RaidOrigins {
	var o RaidOrigins
	for _, d := range domains {
		o.Mentions += d.Notifications
		o.Accounts += d.Actors
		if d.Bluesky {
			o.Bluesky.Bluesky = true
			o.Bluesky.Notifications += d.Notifications
			o.Bluesky.Actors += d.Actors
			continue
		}
		o.Servers = append(o.Servers, d)
	}
	return o
}

// Where says where the raid came from: "on 3 servers", "on Bluesky",
// "on 3 servers and Bluesky".
func (o RaidOrigins) Where() string {
	servers := plural(int64(len(o.Servers)), "server")
	switch {
	case o.Bluesky.Notifications == 0:
		return "on " + servers
	case len(o.Servers) == 0:
		return "on Bluesky"
	}
	return "on " + servers + " and Bluesky"
}

// Summary is "347 mentions from 52 accounts on 3 servers and Bluesky".
func (o RaidOrigins) Summary() string {
	return plural(o.Mentions, "mention") + " from " + plural(o.Accounts, "account") + " " + o.Where()
}

func plural(n int64, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.FormatInt(n, 10) + " " + word + "s"
}
