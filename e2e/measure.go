package e2e

// Measurement helpers of the benchmark programs under bench/: profiles
// fetched from the bridge's pprof listener (a bridge built with -tags
// pprof and started with BRIDGE_PPROF=ADDR, see cmd/bridge/pprof.go), the
// memory of a process from /proc, and latency percentiles.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// CPUProfile fetches a CPU profile of seconds from the bridge's pprof
// listener at addr into path. It returns when the profile is written, or
// fails if it has not arrived 10 s after the profiling period.
func CPUProfile(addr, path string, seconds int) error {
	return fetchProfile(addr, "profile?seconds="+strconv.Itoa(seconds), path, time.Duration(seconds+10)*time.Second)
}

// FetchProfile fetches /debug/pprof/NAME (e.g. "heap", "goroutine?debug=1")
// from the bridge's pprof listener at addr into path, giving up after 10
// minutes.
func FetchProfile(addr, name, path string) error {
	return fetchProfile(addr, name, path, 10*time.Minute)
}

func fetchProfile(addr, name, path string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{Proxy: nil}}
	resp, err := c.Get("http://" + addr + "/debug/pprof/" + name)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// ProcStatusKB reads one field given in kB, such as "VmRSS:" or "VmHWM:"
// (the colon included), of /proc/PID/status (Linux).
func ProcStatusKB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			var kb int64
			_, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb)
			return kb, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

// Percentile returns the p-quantile (0 <= p <= 1; 1 is the maximum) of
// sorted, which must be in increasing order: the element at index
// p×len(sorted), capped at the last one. It returns 0 for an empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}
