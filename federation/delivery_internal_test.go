package federation

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestBackoffSchedule checks the retry schedule: soon at first, doubling
// with ±20% jitter, capped at 12 hours, about two days in all.
func TestBackoffSchedule(t *testing.T) {
	policy := deliveryBackoff()
	maxAttempts, retryBase, retryMax := policy.MaxAttempts, policy.Base, policy.Max
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 200 * time.Millisecond, 300 * time.Millisecond},
		{2, 400 * time.Millisecond, 600 * time.Millisecond},
		{7, 12800 * time.Millisecond, 19200 * time.Millisecond},
		{18, 26214 * time.Second, 39322 * time.Second},
		{19, 9 * time.Hour, 15 * time.Hour}, // capped at 12h
		{maxAttempts, 9 * time.Hour, 15 * time.Hour},
		{100, 9 * time.Hour, 15 * time.Hour},
	}
	for _, tc := range tests {
		t.Run("attempt "+strconv.Itoa(tc.attempt), func(t *testing.T) {
			for range 200 {
				if d := policy.Delay(tc.attempt); d < tc.min || d > tc.max {
					t.Fatalf("Delay(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.min, tc.max)
				}
			}
		})
	}
	// The whole schedule, from the first attempt to the last.
	var lo, hi time.Duration
	for a := 1; a < maxAttempts; a++ {
		d := retryBase << (a - 1)
		if d > retryMax {
			d = retryMax
		}
		lo += d * 8 / 10
		hi += d * 12 / 10
	}
	if lo < 36*time.Hour || hi > 72*time.Hour {
		t.Errorf("retries span %v to %v, want about two days", lo, hi)
	}
	t.Logf("%d attempts over %v to %v", maxAttempts, lo.Round(time.Hour), hi.Round(time.Hour))
}

// TestParseRetryAfter: seconds or an HTTP date, capped at the longest
// retry delay; anything else is ignored.
func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	parse := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"120", 2 * time.Minute, true},
		{"0", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"-5", 0, false},
		{"soon", 0, false},
		{"", 0, false},
		{"99999999999", deliveryBackoff().Max, true},
	}
	for _, tc := range parse {
		t.Run("Retry-After "+strconv.Quote(tc.in), func(t *testing.T) {
			got, ok := parseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

// countingStore counts GetOutgoingActivity calls.
type countingStore struct {
	storage.Store
	gets atomic.Int32
}

func (c *countingStore) GetOutgoingActivity(ctx context.Context, id int64) ([]byte, error) {
	c.gets.Add(1)
	return c.Store.GetOutgoingActivity(ctx, id)
}

// TestActivityCache: the deliveries of one fan-out read its activity from
// the database once, even concurrently; an activity that is gone is an
// error that is not remembered.
func TestActivityCache(t *testing.T) {
	ctx := context.Background()
	st := &countingStore{Store: storagetest.OpenSQLite(t)}
	activity := []byte(`{"type":"Create","id":"https://example.org/a"}`)
	fan, err := st.InsertOutgoingActivity(ctx, "news", activity, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	other := fan + 1
	var c activityCache
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if b, err := c.get(ctx, st, fan); err != nil || string(b) != string(activity) {
				t.Errorf("get = %s, %v", b, err)
			}
		})
	}
	wg.Wait()
	if n := st.gets.Load(); n != 1 {
		t.Errorf("50 deliveries read the fan-out %d times, want 1", n)
	}
	for _, tc := range []struct {
		name string
		id   int64
		want error
	}{
		{"no such activity", other, storage.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := st.gets.Load()
			for range 2 {
				if _, err := c.get(ctx, st, tc.id); !errors.Is(err, tc.want) {
					t.Errorf("get = %v, want %v", err, tc.want)
				}
			}
			if n := st.gets.Load() - before; n != 2 {
				t.Errorf("a failed read was remembered: %d reads for 2 gets", n)
			}
		})
	}
	// Bounded: old entries go.
	for i := range int64(activityCacheSize + 5) {
		c.get(ctx, st, other+2000+i)
	}
	if len(c.entries) > activityCacheSize {
		t.Errorf("cache holds %d entries, want at most %d", len(c.entries), activityCacheSize)
	}
}
