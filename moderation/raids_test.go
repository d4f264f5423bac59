package moderation_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/storage"
)

func TestRaidSpansAndRaidAt(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	w := func(i int) time.Time { return t0.Add(time.Duration(i) * moderation.RaidWindow) }
	b := func(i int, n int64) storage.NotificationBucket {
		return storage.NotificationBucket{Start: w(i), Notifications: n}
	}
	tests := []struct {
		name    string
		buckets []storage.NotificationBucket
		want    []moderation.RaidSpan // newest first
		at      time.Time
		atRaid  bool
	}{
		{"quiet", []storage.NotificationBucket{b(0, 3), b(1, 5), b(3, 19)}, nil, w(3), false},
		{"one window over the threshold", []storage.NotificationBucket{b(0, 3), b(2, 25)}, []moderation.RaidSpan{{w(2), w(3)}}, w(2).Add(time.Minute), true},
		{"a burst across a window's edge", []storage.NotificationBucket{b(0, 15), b(1, 15)}, []moderation.RaidSpan{{w(0), w(2)}}, w(1), true},
		{"after the raid's end", []storage.NotificationBucket{b(0, 200), b(1, 2), b(2, 2)}, []moderation.RaidSpan{{w(0), w(2)}}, w(2), false},
		{"two raids, the older one", []storage.NotificationBucket{b(0, 30), b(1, 30), b(5, 40)}, []moderation.RaidSpan{{w(5), w(6)}, {w(0), w(2)}}, w(0), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := moderation.RaidSpans(tc.buckets, moderation.RaidThreshold)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("RaidSpans = %v, want %v", got, tc.want)
			}
			if _, ok := moderation.RaidAt(got, tc.at); ok != tc.atRaid {
				t.Errorf("RaidAt(%v) = %v, want %v", tc.at, ok, tc.atRaid)
			}
		})
	}
}
