//go:build linux

package jobs

import (
	"os"
	"strings"
)

// processStart says when this process started, in clock ticks since boot
// (field 22 of /proc/self/stat): with the pid, it tells this process from
// an earlier one that had the same pid. Empty when it cannot be read.
func processStart() string {
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return ""
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:]) // from field 3 on
	if len(f) < 20 {
		return ""
	}
	return f[19]
}
