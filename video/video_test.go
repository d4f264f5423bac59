package video

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/passerelle/passerelle/video/ffwasm"
)

// The fixtures in testdata were made with this package's own ffmpeg (the
// go-ffmpreg command), from ffmpeg's test patterns:
//
//	h264_aac_location.mov: testsrc 160x120 10 fps 1 s + sine, libx264 CRF 35, AAC 32k,
//	                       -metadata location=+48.8566+002.3522/ -metadata title=secret-title
//	vp8_opus.webm:         the same pattern, libvpx 50k, libopus 16k
//	audio_only.mp4:        sine 1 s, AAC 32k
//	anim.gif:              testsrc 64x48 5 fps 1 s

func TestSniff(t *testing.T) {
	tests := []struct {
		name string
		head []byte
		want Container
	}{
		{"mp4", []byte("\x00\x00\x00\x20ftypisom\x00\x00\x02\x00"), MP4},
		{"quicktime without ftyp", []byte("\x00\x00\x00\x08wide\x00\x00"), MP4},
		{"webm", []byte{0x1a, 0x45, 0xdf, 0xa3, 0x9f, 0x42, 0x86, 0x81}, Matroska},
		{"gif", []byte("GIF89a\x10\x00"), GIF},
		{"zip named .mp4", []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), ""},
		{"mp3", []byte("ID3\x04\x00\x00\x00\x00\x00"), ""},
		{"jpeg", []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), ""},
		{"empty", nil, ""},
		{"short", []byte("\x00\x00"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Sniff(tt.head); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

// testProcessor is one Processor for the whole test binary, its compiled
// code cached under the temporary directory across runs (compiling
// ffmpeg costs about 10 s of CPU).
func testProcessor(t *testing.T) *Processor {
	t.Helper()
	if testing.Short() {
		t.Skip("runs ffmpeg (WebAssembly)")
	}
	r := ffwasm.New(filepath.Join(os.TempDir(), "passerelle-test-wazero-cache"))
	t.Cleanup(func() { r.Close(context.Background()) })
	return New(r)
}

// workDir copies a fixture (or the given bytes) into a fresh directory.
func workDir(t *testing.T, data []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestProcess runs ffmpeg: one Processor, compiled once, for every case.
func TestProcess(t *testing.T) {
	p := testProcessor(t)
	ctx := context.Background()

	t.Run("h264 in mov is remuxed, metadata stripped", func(t *testing.T) {
		dir := workDir(t, fixture(t, "h264_aac_location.mov"))
		r, err := p.Process(ctx, dir, "in", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Remuxed || !r.HasAudio || r.Loop {
			t.Errorf("Remuxed %v HasAudio %v Loop %v, want remuxed with audio", r.Remuxed, r.HasAudio, r.Loop)
		}
		if r.Width != 160 || r.Height != 120 {
			t.Errorf("size %dx%d, want 160x120", r.Width, r.Height)
		}
		if r.Duration < 900*time.Millisecond || r.Duration > 1100*time.Millisecond {
			t.Errorf("duration %s, want about 1 s", r.Duration)
		}
		out, err := os.ReadFile(r.Path)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"+48.8566", "secret-title"} {
			if bytes.Contains(out, []byte(secret)) {
				t.Errorf("output still holds %q", secret)
			}
		}
		// faststart: the index (moov) comes before the media data.
		if moov, mdat := bytes.Index(out, []byte("moov")), bytes.Index(out, []byte("mdat")); moov < 0 || mdat < 0 || moov > mdat {
			t.Errorf("moov at %d, mdat at %d: not faststart", moov, mdat)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(r.Poster))
		if err != nil || cfg.Width != 160 || cfg.Height != 120 {
			t.Errorf("poster: %v %dx%d, want a 160x120 JPEG", err, cfg.Width, cfg.Height)
		}
	})

	t.Run("webm is re-encoded to h264/aac", func(t *testing.T) {
		dir := workDir(t, fixture(t, "vp8_opus.webm"))
		r, err := p.Process(ctx, dir, "in", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if r.Remuxed || !r.HasAudio || r.Width != 160 || r.Height != 120 {
			t.Errorf("got %+v, want re-encoded 160x120 with audio", r)
		}
		in, err := p.probe(ctx, dir, "out.mp4")
		if err != nil || in.vcodec != "h264" || in.acodec != "aac" {
			t.Errorf("output probes as %+v, %v; want h264 and aac", in, err)
		}
	})

	t.Run("gif becomes a silent looping video", func(t *testing.T) {
		dir := workDir(t, fixture(t, "anim.gif"))
		r, err := p.Process(ctx, dir, "in", Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if !r.Loop || r.HasAudio || r.Width != 64 || r.Height != 48 {
			t.Errorf("got %+v, want a silent 64x48 loop", r)
		}
	})

	mov := fixture(t, "h264_aac_location.mov")
	bad := []struct {
		name string
		data []byte
		lim  Limits
		want error
	}{
		{"audio only", fixture(t, "audio_only.mp4"), Limits{}, ErrNoVideo},
		{"zip named .mp4", append([]byte("PK\x03\x04"), mov...), Limits{}, ErrUnsupported},
		{"mp4 header on garbage", append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), bytes.Repeat([]byte{0x5a}, 4096)...), Limits{}, ErrCorrupt},
		{"truncated (index lost)", mov[:len(mov)/2], Limits{}, ErrCorrupt},
		{"too long", mov, Limits{MaxDuration: 500 * time.Millisecond}, ErrTooLong},
		{"too wide", mov, Limits{MaxSide: 100}, ErrTooLarge},
		{"too many pixels", mov, Limits{MaxPixels: 160*120 - 1}, ErrTooLarge},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			dir := workDir(t, tt.data)
			_, err := p.Process(ctx, dir, "in", tt.lim)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(filepath.Join(dir, "out.mp4")); tt.want != ErrCorrupt && err == nil {
				t.Errorf("out.mp4 written for an input refused before conversion")
			}
		})
	}
}
