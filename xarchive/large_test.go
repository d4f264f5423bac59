package xarchive_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/passerelle/passerelle/xarchive"
	"github.com/passerelle/passerelle/xarchive/xarchivetest"
)

// peakHeap samples the live heap every 10 ms until stop is called, and
// returns its peak.
func peakHeap() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// vmHWM returns the process's peak resident memory (Linux), after
// resetting it when reset is set; 0 elsewhere.
func vmHWM(reset bool) uint64 {
	if reset {
		_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
		return 0
	}
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestImport10k imports a generated archive of 10,000 tweets with photos
// (the performance goal: under 60 s, memory flat), then again
// (nothing imported twice). Skipped with -short.
func TestImport10k(t *testing.T) {
	if testing.Short() {
		t.Skip("the 10,000-tweet import is skipped with -short")
	}
	path := filepath.Join(t.TempDir(), "archive.zip")
	st, err := xarchivetest.WriteFile(path, xarchivetest.Options{Tweets: 10_000, Parts: 2, Seed: 10})
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	e := newEnv(t)
	runtime.GC()
	vmHWM(true)
	stop := peakHeap()
	start := time.Now()
	sum, err := e.run(t, path, xarchive.Options{})
	elapsed := time.Since(start)
	peak := stop()
	hwm := vmHWM(false)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d tweets (%d photos, %d thread replies) of %d from a %.1f MB archive in %s (%.0f tweets/s); peak live heap %.1f MB, peak RSS (VmHWM) %.1f MB",
		sum.Imported, sum.Photos, sum.Threads, sum.Tweets, float64(fi.Size())/1e6, elapsed.Round(time.Millisecond),
		float64(sum.Imported)/elapsed.Seconds(), float64(peak)/(1<<20), float64(hwm)/(1<<20))
	if sum.Imported != st.Importable || sum.Photos != st.Photos || sum.Threads != st.SelfReplies {
		t.Errorf("summary %+v, want %d imported, %d photos, %d threads", sum, st.Importable, st.Photos, st.SelfReplies)
	}
	if peak > 64<<20 {
		t.Errorf("peak live heap %d MB: the import must stream", peak>>20)
	}

	start = time.Now()
	again, err := e.run(t, path, xarchive.Options{})
	if err != nil || again.Imported != 0 || again.AlreadyImported != st.Importable {
		t.Errorf("second run: %+v, %v", again, err)
	}
	t.Logf("second run (nothing to import): %s", time.Since(start).Round(time.Millisecond))
	if n, _ := e.store.CountStatuses(context.Background(), "news", nil); n != int64(st.Importable) {
		t.Errorf("%d statuses, want %d", n, st.Importable)
	}
}

// BenchmarkImport1k imports a generated archive of 1,000 tweets into a new
// database per iteration: go test ./xarchive/ -run '^$' -bench Import.
func BenchmarkImport1k(b *testing.B) {
	path := filepath.Join(b.TempDir(), "archive.zip")
	st, err := xarchivetest.WriteFile(path, xarchivetest.Options{Tweets: 1000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var peak uint64
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b)
		stop := peakHeap()
		b.StartTimer()
		sum, err := e.run(b, path, xarchive.Options{})
		b.StopTimer()
		peak = max(peak, stop())
		if err != nil || sum.Imported != st.Importable {
			b.Fatalf("%+v, %v", sum, err)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(st.Importable*b.N)/b.Elapsed().Seconds(), "tweets/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
