//go:build !unix

package e2e

import "time"

// SelfCPU is the CPU time used by this process so far; 0 where getrusage
// is not available.
func SelfCPU() time.Duration { return 0 }
