//go:build unix

package jobs

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with this pid exists on this
// host (it may belong to another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
