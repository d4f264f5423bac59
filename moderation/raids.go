package moderation

import (
	"slices"
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
