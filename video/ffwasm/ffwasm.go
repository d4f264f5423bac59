// Package ffwasm runs ffmpeg and ffprobe compiled to WebAssembly, in
// process, with wazero: the binary stays static (no cgo) and needs no
// ffmpeg installed. It is package video's Runner.
//
// Importing it embeds the module (7.5 MB compressed), which go-ffmpreg
// decompresses at init (20 MB): only the bridge's main package and the
// tests that run ffmpeg import it. With a cache directory, New writes the
// module there and frees it from memory at once, so that a bridge that
// never processes a video does not keep those 20 MB resident.
//
// Imports: no other package of this project.
package ffwasm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	// ffmpeg 5.1 compiled to WebAssembly (with libx264, libwebp and
	// ffmpeg's own AAC encoder), the way GoToSocial processes video while
	// staying a static binary. GPLv3, as the ffmpeg build it embeds.
	"codeberg.org/gruf/go-ffmpreg/embed"
	"codeberg.org/gruf/go-ffmpreg/wasm"
	// The WebAssembly runtime go-ffmpreg is written for: pure Go, no
	// dependencies; it compiles the module to machine code and can cache
	// the compiled code on disk.
	"github.com/tetratelabs/wazero"
)

// Runner runs ffmpeg. The module is compiled on its first use, once per
// process (about 10 s of CPU and 400 MB at peak); with a cache directory
// the compiled code is kept on disk and the next processes load it in
// about a second. It runs one program at a time: each run is
// single-threaded and memory-hungry, and the machine must keep serving.
type Runner struct {
	cacheDir string
	// module is the WebAssembly file written by New ("": use the embedded
	// copy), sum its SHA-256.
	module, sum string

	mu    sync.Mutex // held while compiling and while a program runs
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	err   error
	idle  time.Duration // release the compiled module after this long unused
	timer *time.Timer
}

// DefaultReleaseAfter is how long a compiled module stays in memory
// without a run (ReleaseAfter).
const DefaultReleaseAfter = 10 * time.Minute

// New returns a Runner caching the compiled module in cacheDir ("" keeps
// it in memory only). Nothing is compiled until the first Run. With a
// cache directory, the module is written there (once: a file named after
// its hash) and dropped from memory; if that fails it stays in memory.
// Only one Runner per process may use the embedded module.
func New(cacheDir string) *Runner {
	r := &Runner{cacheDir: cacheDir, idle: DefaultReleaseAfter}
	if cacheDir != "" {
		r.spill()
	}
	return r
}

// ReleaseAfter sets how long the compiled module (about 100 MB resident)
// stays in memory without a run; the next run compiles it again from the
// cache directory (about a second). 0 keeps it. Without a cache directory
// it is always kept: the embedded module is freed once compiled.
func (r *Runner) ReleaseAfter(d time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.idle = d
}

// release drops an unused compiled module (see ReleaseAfter).
func (r *Runner) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rt == nil || r.err != nil {
		return
	}
	r.rt.Close(context.Background())
	r.rt, r.cm = nil, nil
	debug.FreeOSMemory()
}

// armRelease (re)starts the release timer after a run; r.mu is held.
func (r *Runner) armRelease() {
	if r.idle <= 0 || r.module == "" {
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(r.idle, r.release)
		return
	}
	r.timer.Reset(r.idle)
}

// Loaded reports whether the compiled module is in memory.
func (r *Runner) Loaded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cm != nil
}

// spill writes the embedded module to the cache directory and frees it.
func (r *Runner) spill() {
	defer func() { _ = recover() }() // the module was already freed: keep none
	b := embed.B()
	h := sha256.Sum256(b)
	sum := hex.EncodeToString(h[:])
	path := filepath.Join(r.cacheDir, "ffmpreg-"+sum[:16]+".wasm")
	if fi, err := os.Stat(path); err != nil || fi.Size() != int64(len(b)) {
		if err := os.MkdirAll(r.cacheDir, 0o750); err != nil {
			return
		}
		tmp, err := os.CreateTemp(r.cacheDir, ".ffmpreg-*")
		if err != nil {
			return
		}
		_, err = tmp.Write(b)
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Rename(tmp.Name(), path)
		}
		if err != nil {
			os.Remove(tmp.Name())
			return
		}
	}
	r.module, r.sum = path, sum
	embed.Free()
	debug.FreeOSMemory() // give the 20 MB (and go-ffmpreg's decompression garbage) back
}

// wasm returns the module's bytes: from the file New wrote (checked
// against its hash), else the embedded copy.
func (r *Runner) wasm() ([]byte, error) {
	if r.module == "" {
		return embed.B(), nil
	}
	b, err := os.ReadFile(r.module)
	if err != nil {
		return nil, fmt.Errorf("ffwasm: read module: %w", err)
	}
	if h := sha256.Sum256(b); hex.EncodeToString(h[:]) != r.sum {
		return nil, fmt.Errorf("ffwasm: %s is not the module it was (checksum differs)", r.module)
	}
	return b, nil
}

// Close releases the compiled module.
func (r *Runner) Close(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
	}
	if r.rt == nil {
		r.err = fmt.Errorf("ffwasm: closed")
		return nil
	}
	err := r.rt.Close(ctx)
	r.rt, r.cm = nil, nil
	r.err = fmt.Errorf("ffwasm: closed")
	return err
}

// compile prepares the runtime; r.mu is held. A failure is kept: the
// embedded module is freed once compiled and cannot be compiled twice.
func (r *Runner) compile() error {
	if r.cm != nil || r.err != nil {
		return r.err
	}
	cfg := wazero.NewRuntimeConfig()
	if r.cacheDir != "" {
		if err := os.MkdirAll(r.cacheDir, 0o750); err != nil {
			return fmt.Errorf("ffwasm: compilation cache: %w", err)
		}
		cache, err := wazero.NewCompilationCacheWithDir(r.cacheDir)
		if err != nil {
			return fmt.Errorf("ffwasm: compilation cache: %w", err)
		}
		cfg = cfg.WithCompilationCache(cache)
	}
	// A background context: a cancelled caller must not leave a
	// half-made runtime behind.
	ctx := context.Background()
	rt, err := wasm.NewRuntime(ctx, cfg)
	if err != nil {
		r.err = fmt.Errorf("ffwasm: runtime: %w", err)
		return r.err
	}
	mod, err := r.wasm()
	if err != nil {
		rt.Close(ctx)
		return err // not kept: the file may be written again by a restart
	}
	cm, err := rt.CompileModule(ctx, mod)
	if err != nil {
		rt.Close(ctx)
		r.err = fmt.Errorf("ffwasm: compile ffmpeg: %w", err)
		return r.err
	}
	if r.module == "" {
		embed.Free() // 20 MB of WebAssembly no longer needed
	}
	r.rt, r.cm = rt, cm
	// Compiling leaves some 300 MB of garbage that Go would hand back to
	// the system only slowly: a server must come back to its idle size.
	debug.FreeOSMemory()
	return nil
}

// Run runs ffmpeg or ffprobe (name) with dir mounted as /w, nothing else
// of the file system visible, and returns its standard output. A
// non-zero exit is an *ExitError.
func (r *Runner) Run(ctx context.Context, name, dir string, args ...string) ([]byte, error) {
	if name != "ffmpeg" && name != "ffprobe" {
		return nil, fmt.Errorf("ffwasm: unknown program %q", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.compile(); err != nil {
		return nil, err
	}
	// The instance's linear memory (hundreds of MB to decode 1080p) is
	// garbage once it returns: give it back to the system at once.
	defer debug.FreeOSMemory()
	defer r.armRelease()
	var stdout bytes.Buffer
	stderr := &limitedBuffer{max: 16 << 10}
	rc, err := wasm.Run(ctx, r.rt, r.cm, wasm.Args{
		Name:   name,
		Stdin:  bytes.NewReader(nil),
		Stdout: &stdout,
		Stderr: stderr,
		Args:   args,
		Config: func(c wazero.ModuleConfig) wazero.ModuleConfig {
			return c.WithFSConfig(wazero.NewFSConfig().WithDirMount(dir, "/w"))
		},
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("ffwasm: run %s: %w", name, err)
	}
	if rc != 0 {
		return stdout.Bytes(), &ExitError{Name: name, Code: rc, Log: lastLine(stderr.String())}
	}
	return stdout.Bytes(), nil
}

// ExitError is a program's non-zero exit.
type ExitError struct {
	Name string
	Code uint32
	Log  string // the last line it logged
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s exited with status %d: %s", e.Name, e.Code, e.Log)
}

// ExitCode is the program's exit status.
func (e *ExitError) ExitCode() uint32 { return e.Code }

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		b.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
