package e2e

// Measurement helpers of the benchmark programs under bench/: profiles
// fetched from the bridge's pprof listener (a bridge built with -tags
// pprof and started with BRIDGE_PPROF=ADDR, see cmd/bridge/pprof.go), the
// memory of a process from /proc, and latency percentiles.

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// MetricSum reads the bridge's metrics (the Prometheus text format at
// metricsURL, e.g. http://127.0.0.1:PORT/metrics) and returns the sum of
// every series of the metric name (all its label sets). ok is false when
// the metric is not there (a bridge that does not count it).
func MetricSum(metricsURL, name string) (sum float64, ok bool, err error) {
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get(metricsURL)
	if err != nil {
		return 0, false, fmt.Errorf("e2e: metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false, fmt.Errorf("e2e: metrics: GET %s: status %d", metricsURL, resp.StatusCode)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, false, fmt.Errorf("e2e: metrics: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		series, value := line[:i], line[i+1:]
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil {
			return 0, false, fmt.Errorf("e2e: metrics: bad line %q", line)
		}
		sum += v
		ok = true
	}
	return sum, ok, nil
}

// SigningRate measures signatures per second of the library the bridge
// signs with (Go's crypto/rsa, RSA-2048 PKCS#1 v1.5 over a SHA-256
// digest, as draft-cavage and RFC 9421 rsa-v1_5-sha256 sign; or
// crypto/ed25519 when ed is set) on GOMAXPROCS goroutines of this process
// for d, and the CPU time one signature takes (this process's CPU over
// the signatures made).
func SigningRate(d time.Duration, ed bool) (perSecond float64, cpuPerSig time.Duration) {
	var sign func(msg []byte)
	if ed {
		_, key, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			panic(err)
		}
		sign = func(msg []byte) { ed25519.Sign(key, msg) }
	} else {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		sign = func(msg []byte) {
			h := sha256.Sum256(msg)
			if _, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h[:]); err != nil {
				panic(err)
			}
		}
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	cpu0 := SelfCPU()
	start := time.Now()
	for g := range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			msg := []byte("(request-target): post /inbox\nhost: 127.1.0.1\ndate: " + strconv.Itoa(g))
			for i := 0; time.Since(start) < d; i++ {
				sign(append(msg, byte(i)))
				n.Add(1)
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), (SelfCPU() - cpu0) / time.Duration(n.Load())
}
