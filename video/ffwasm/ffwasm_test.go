package ffwasm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunReleaseAndReload runs ffmpeg, lets the compiled module go after
// its idle time, and runs it again (compiled anew from the cache
// directory); a bad argument is an ExitError. One Runner: the embedded
// module is freed once written to the cache directory.
func TestRunReleaseAndReload(t *testing.T) {
	if testing.Short() {
		t.Skip("runs ffmpeg (WebAssembly)")
	}
	r := New(filepath.Join(os.TempDir(), "passerelle-test-wazero-cache"))
	ctx := context.Background()
	t.Cleanup(func() { r.Close(ctx) })
	r.ReleaseAfter(100 * time.Millisecond)
	dir := t.TempDir()

	out, err := r.Run(ctx, "ffprobe", dir, "-version")
	if err != nil || !strings.HasPrefix(string(out), "ffprobe version") {
		t.Fatalf("ffprobe -version: %q, %v", out, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for r.Loaded() {
		if time.Now().After(deadline) {
			t.Fatal("the compiled module was not released after its idle time")
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, err = r.Run(ctx, "ffmpeg", dir, "-v", "error", "-i", "/w/missing.mp4")
	var ee *ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 || !strings.Contains(ee.Log, "missing.mp4") {
		t.Fatalf("after release, a missing input: %v, want an ExitError naming it", err)
	}
	if _, err := r.Run(ctx, "sh", dir); err == nil {
		t.Error("an unknown program ran")
	}
	if err := r.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(ctx, "ffmpeg", dir, "-version"); err == nil {
		t.Error("ran after Close")
	}
}
