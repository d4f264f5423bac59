package jobs

import (
	"os/exec"
	"strconv"
	"testing"
	"time"
)

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
		{"fresh, same host, this pid, an earlier start (restarted in a container)", "here-" + strconv.Itoa(me) + "-7", now, true},
		{"fresh, same host, this pid, start unknown", "here-" + strconv.Itoa(me) + "-7", now, true},
		{"fresh, same host, this very process (another runner)", "here-" + strconv.Itoa(me) + "-7", now, false},
		{"stale, same host, this very process", "here-" + strconv.Itoa(me) + "-7", now.Add(-2 * staleAfter), true},
		{"fresh, same host, live process", "here-1-7", now, false},
		{"fresh, unparsable", "here", now, false},
		{"fresh, hostname with dashes", "my-host-name-" + strconv.Itoa(gone) + "-1", now, false},
	}
	// When the process of each worker started (this one: "1234").
	starts := map[string]string{
		"fresh, same host, this pid, an earlier start (restarted in a container)": "1000",
		"fresh, same host, this very process (another runner)":                    "1234",
		"stale, same host, this very process":                                     "1234",
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			started := starts[tc.name]
			if got := ownerDead(tc.owner, tc.heartbeat, now, "here", me, started, "1234"); got != tc.want {
				t.Errorf("ownerDead(%q) = %v, want %v", tc.owner, got, tc.want)
			}
		})
	}
	if h, pid, ok := parseOwner("my-host-name-123-456"); !ok || h != "my-host-name" || pid != 123 {
		t.Errorf("parseOwner = %q %d %v", h, pid, ok)
	}
}

// TestProcessStart: the start of this process can be read (on Linux), and
// does not change.
func TestProcessStart(t *testing.T) {
	a, b := processStart(), processStart()
	if a != b {
		t.Errorf("processStart changed: %q then %q", a, b)
	}
	if a == "" {
		t.Skip("the start of a process cannot be read on this system")
	}
	if _, err := strconv.ParseUint(a, 10, 64); err != nil {
		t.Errorf("processStart = %q, not clock ticks", a)
	}
}
