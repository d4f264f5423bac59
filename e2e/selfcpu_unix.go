//go:build unix

package e2e

import (
	"syscall"
	"time"
)

// SelfCPU is the CPU time (user and system) used by this process so far:
// in a benchmark, what the simulated remote side and the load generator
// cost, next to Process.CPUTime for the bridge.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
