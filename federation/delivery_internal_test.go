package federation

import (
	"encoding/json"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// TestBackoffSchedule checks the retry schedule: soon at first, doubling
// with ±20% jitter, capped at 12 hours, about two days in all.
func TestBackoffSchedule(t *testing.T) {
	tests := []struct {
		attempt  int
		min, max time.Duration
	}{
		{1, 800 * time.Millisecond, 1200 * time.Millisecond},
		{2, 1600 * time.Millisecond, 2400 * time.Millisecond},
		{5, 12800 * time.Millisecond, 19200 * time.Millisecond},
		{16, 26214 * time.Second, 39322 * time.Second},
		{17, 9 * time.Hour, 15 * time.Hour}, // capped at 12h
		{maxAttempts, 9 * time.Hour, 15 * time.Hour},
		{100, 9 * time.Hour, 15 * time.Hour},
	}
	for _, tc := range tests {
		t.Run("attempt "+strconv.Itoa(tc.attempt), func(t *testing.T) {
			for range 200 {
				if d := backoff(tc.attempt); d < tc.min || d > tc.max {
					t.Fatalf("backoff(%d) = %v, want within [%v, %v]", tc.attempt, d, tc.min, tc.max)
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

func TestOwnerDead(t *testing.T) {
	// A pid that existed and is gone.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("cannot run true:", err)
	}
	gone := cmd.Process.Pid
	now := time.Now()
	const me = 4242
	tests := []struct {
		name      string
		owner     string
		heartbeat time.Time
		want      bool
	}{
		{"fresh, other host", "other-host-1234-99", now, false},
		{"stale, other host", "other-host-1234-99", now.Add(-2 * staleAfter), true},
		{"fresh, same host, process gone", "here-" + strconv.Itoa(gone) + "-7", now, true},
		{"fresh, same host, this pid (restarted in a container)", "here-" + strconv.Itoa(me) + "-7", now, true},
		{"fresh, same host, live process", "here-1-7", now, false},
		{"fresh, unparsable", "here", now, false},
		{"fresh, hostname with dashes", "my-host-name-" + strconv.Itoa(gone) + "-1", now, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ownerDead(tc.owner, tc.heartbeat, now, "here", me); got != tc.want {
				t.Errorf("ownerDead(%q) = %v, want %v", tc.owner, got, tc.want)
			}
		})
	}
	if h, pid, ok := parseOwner("my-host-name-123-456"); !ok || h != "my-host-name" || pid != 123 {
		t.Errorf("parseOwner = %q %d %v", h, pid, ok)
	}
}

func TestEncodeDeliverPayload(t *testing.T) {
	activity := []byte(`{"type":"Create","content":"<p>a \"quoted\" & é</p>"}`)
	b, err := encodeDeliverPayload("news", "https://example.org/inbox?x=\"1\"", activity)
	if err != nil {
		t.Fatal(err)
	}
	var p deliverPayload
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if p.Signer != "news" || p.Inbox != `https://example.org/inbox?x="1"` || string(p.Activity) != string(activity) {
		t.Errorf("decoded %+v from %s", p, b)
	}
}
