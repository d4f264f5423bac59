//go:build !linux

package jobs

// processStart cannot tell here: another runner registered with this
// process's pid is then taken for an earlier process restarted under the
// same pid, and its jobs are put back.
func processStart() string { return "" }
