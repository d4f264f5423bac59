package media

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/buckket/go-blurhash"
	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

func TestProcess(t *testing.T) {
	tests := []struct {
		name          string
		data          func(t *testing.T) []byte
		lim           Limits
		wantType      string
		wantW, wantH  int
		wantGIFFrames int
	}{
		{"JPEG", func(t *testing.T) []byte { return encJPEG(t, gradient(64, 48)) }, Limits{}, "image/jpeg", 64, 48, 0},
		{"grey JPEG", func(t *testing.T) []byte { return encJPEG(t, image.NewGray(image.Rect(0, 0, 30, 20))) }, Limits{}, "image/jpeg", 30, 20, 0},
		{"JPEG resized", func(t *testing.T) []byte { return encJPEG(t, gradient(400, 200)) }, Limits{MaxSide: 100}, "image/jpeg", 100, 50, 0},
		{"PNG", func(t *testing.T) []byte { return encPNG(t, gradient(64, 48)) }, Limits{}, "image/png", 64, 48, 0},
		{"PNG with transparency", func(t *testing.T) []byte { return encPNG(t, noisyAlpha(40, 30)) }, Limits{}, "image/png", 40, 30, 0},
		{"16-bit PNG", func(t *testing.T) []byte { return encPNG(t, image.NewRGBA64(image.Rect(0, 0, 9, 7))) }, Limits{}, "image/png", 9, 7, 0},
		{"PNG resized, portrait", func(t *testing.T) []byte { return encPNG(t, gradient(100, 400)) }, Limits{MaxSide: 100}, "image/png", 25, 100, 0},
		{"PNG smaller than MaxSide", func(t *testing.T) []byte { return encPNG(t, gradient(50, 40)) }, Limits{MaxSide: 100}, "image/png", 50, 40, 0},
		{"GIF", func(t *testing.T) []byte { return animated(t, 32, 16, 1) }, Limits{}, "image/gif", 32, 16, 1},
		{"animated GIF", func(t *testing.T) []byte { return animated(t, 32, 16, 3) }, Limits{}, "image/gif", 32, 16, 3},
		{"animated GIF resized", func(t *testing.T) []byte { return animated(t, 200, 100, 3) }, Limits{MaxSide: 50}, "image/gif", 50, 25, 3},
		{"WebP becomes JPEG", func(t *testing.T) []byte { return readFixture(t, "opaque.webp") }, Limits{}, "image/jpeg", 48, 32, 0},
		{"WebP with alpha becomes PNG", func(t *testing.T) []byte { return readFixture(t, "alpha.webp") }, Limits{}, "image/png", 48, 32, 0},
		{"exactly MaxBytes", func(t *testing.T) []byte { return encPNG(t, gradient(8, 8)) }, Limits{MaxBytes: int64(len(encPNG(t, gradient(8, 8))))}, "image/png", 8, 8, 0},
		{"exactly MaxPixels", func(t *testing.T) []byte { return encPNG(t, gradient(10, 10)) }, Limits{MaxPixels: 100}, "image/png", 10, 10, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Process(bytes.NewReader(tt.data(t)), tt.lim)
			if err != nil {
				t.Fatal(err)
			}
			if img.MediaType != tt.wantType || img.Width != tt.wantW || img.Height != tt.wantH {
				t.Errorf("got %s %dx%d, want %s %dx%d", img.MediaType, img.Width, img.Height, tt.wantType, tt.wantW, tt.wantH)
			}
			// The bytes are what they claim to be, at the size claimed.
			cfg, name, err := image.DecodeConfig(bytes.NewReader(img.Data))
			if err != nil || "image/"+name != img.MediaType || cfg.Width != img.Width || cfg.Height != img.Height {
				t.Errorf("output decodes as %s %dx%d (%v)", name, cfg.Width, cfg.Height, err)
			}
			if x, y, err := blurhash.Components(img.Blurhash); err != nil || x != 4 || y != 3 {
				t.Errorf("blurhash %q: %d×%d components, %v", img.Blurhash, x, y, err)
			}
			if tt.wantGIFFrames > 0 {
				g, err := gif.DecodeAll(bytes.NewReader(img.Data))
				if err != nil {
					t.Fatal(err)
				}
				if len(g.Image) != tt.wantGIFFrames {
					t.Errorf("%d frames, want %d", len(g.Image), tt.wantGIFFrames)
				}
				for i, d := range g.Delay {
					if d != 10*(i+1) {
						t.Errorf("frame %d delay %d, want %d", i, d, 10*(i+1))
					}
				}
				for i, m := range g.Image {
					if !m.Bounds().In(image.Rect(0, 0, img.Width, img.Height)) || m.Bounds().Empty() {
						t.Errorf("frame %d bounds %v outside %dx%d", i, m.Bounds(), img.Width, img.Height)
					}
				}
			}
		})
	}
}

func TestProcessErrors(t *testing.T) {
	smallJPEG := encJPEG(t, gradient(64, 48))
	smallPNG := encPNG(t, gradient(64, 48))
	var bmpData, tiffData bytes.Buffer
	if err := bmp.Encode(&bmpData, gradient(8, 8)); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tiffData, gradient(8, 8), nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		lim     Limits
		wantErr error
	}{
		{"zero bytes", nil, Limits{}, ErrUnsupported},
		{"text file renamed .png", []byte("Dear comms team,\nthis is not an image.\n"), Limits{}, ErrUnsupported},
		{"HTML", []byte("<!DOCTYPE html><svg onload=alert(1)>"), Limits{}, ErrUnsupported},
		{"SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`), Limits{}, ErrUnsupported},
		{"BMP (registered by imaging, still refused)", bmpData.Bytes(), Limits{}, ErrUnsupported},
		{"TIFF (registered by imaging, still refused)", tiffData.Bytes(), Limits{}, ErrUnsupported},
		{"animated WebP", webpVP8X(0x02, 10, 10), Limits{}, ErrUnsupported},
		{"corrupt PNG", append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0xa5}, 200)...), Limits{}, ErrCorrupt},
		{"corrupt JPEG", append([]byte{0xff, 0xd8, 0xff}, bytes.Repeat([]byte{0x5a}, 200)...), Limits{}, ErrCorrupt},
		{"corrupt GIF", append([]byte("GIF89a"), bytes.Repeat([]byte{0xff}, 30)...), Limits{}, ErrCorrupt},
		{"corrupt WebP", append([]byte("RIFF\x10\x00\x00\x00WEBP"), bytes.Repeat([]byte{1}, 16)...), Limits{}, ErrCorrupt},
		{"truncated JPEG", smallJPEG[:len(smallJPEG)/2], Limits{}, ErrCorrupt},
		{"JPEG header only", smallJPEG[:200], Limits{}, ErrCorrupt},
		{"truncated PNG", smallPNG[:len(smallPNG)-40], Limits{}, ErrCorrupt},
		{"truncated GIF", animated(t, 32, 16, 3)[:100], Limits{}, ErrCorrupt},
		{"zero-width PNG", bombPNG(0, 10), Limits{}, ErrCorrupt},
		{"too large", smallJPEG, Limits{MaxBytes: int64(len(smallJPEG)) - 1}, ErrTooLarge},
		{"too large by default", make([]byte, DefaultMaxBytes+1), Limits{}, ErrTooLarge},
		{"too many pixels", smallPNG, Limits{MaxPixels: 64*48 - 1}, ErrTooManyPixels},
		{"PNG bomb 100000x100000", bombPNG(100000, 100000), Limits{}, ErrTooManyPixels},
		{"JPEG bomb 60000x60000", withJPEGSize(t, smallJPEG, 60000, 60000), Limits{}, ErrTooManyPixels},
		{"WebP bomb 16384x16384", webpVP8X(0, 16384, 16384), Limits{}, ErrTooManyPixels},
		{"GIF frames over the limit", animated(t, 100, 100, 10), Limits{MaxPixels: 20_000}, ErrTooManyPixels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := Process(bytes.NewReader(tt.data), tt.lim)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Process: %v, want %v", err, tt.wantErr)
			}
			if img.Data != nil {
				t.Errorf("data returned with an error")
			}
			if !strings.HasPrefix(err.Error(), "media: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestProcessReadError(t *testing.T) {
	boom := errors.New("connection reset")
	_, err := Process(iotest.ErrReader(boom), Limits{})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the read error", err)
	}
}

// TestProcessBombIsCheap checks that a decompression bomb is refused from
// its header: quickly and without allocating anything like its size
// (100000×100000 RGB would be 30 GB).
func TestProcessBombIsCheap(t *testing.T) {
	for name, data := range map[string][]byte{
		"PNG":  bombPNG(100000, 100000),
		"JPEG": withJPEGSize(t, encJPEG(t, gradient(16, 16)), 65535, 65535),
		"WebP": webpVP8X(0, 16384, 16384),
	} {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			_, err := Process(bytes.NewReader(data), Limits{})
			elapsed := time.Since(start)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooManyPixels) {
				t.Fatalf("got %v, want ErrTooManyPixels", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("allocated %d bytes to refuse a bomb", alloc)
			}
			if elapsed > 100*time.Millisecond {
				t.Errorf("took %v to refuse a bomb", elapsed)
			}
		})
	}
}

func TestProcessStripsMetadata(t *testing.T) {
	t.Run("JPEG EXIF with GPS", func(t *testing.T) {
		in := withEXIF(encJPEG(t, gradient(64, 48)), 1)
		if !bytes.Contains(in, []byte("Exif\x00\x00")) || !bytes.Contains(in, []byte("SpyPhone")) {
			t.Fatal("fixture lacks its EXIF block")
		}
		if _, err := jpeg.Decode(bytes.NewReader(in)); err != nil {
			t.Fatalf("fixture is not a valid JPEG: %v", err)
		}
		img, err := Process(bytes.NewReader(in), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"Exif\x00\x00", "SpyPhone", "MM\x00\x2a"} {
			if bytes.Contains(img.Data, []byte(secret)) {
				t.Errorf("output still contains %q", secret)
			}
		}
		for _, m := range jpegSegments(img.Data) {
			if m >= 0xe0 && m <= 0xef || m == 0xfe {
				t.Errorf("output has an APP%d/COM segment (0xff%02x)", m-0xe0, m)
			}
		}
	})
	t.Run("PNG text chunk", func(t *testing.T) {
		in := withPNGText(encPNG(t, gradient(16, 16)), "Comment", "home address: 1 Secret Lane")
		if _, err := png.Decode(bytes.NewReader(in)); err != nil {
			t.Fatalf("fixture is not a valid PNG: %v", err)
		}
		img, err := Process(bytes.NewReader(in), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(img.Data, []byte("Secret Lane")) || bytes.Contains(img.Data, []byte("tEXt")) {
			t.Error("output still contains the text chunk")
		}
	})
	t.Run("GIF comment", func(t *testing.T) {
		in := withGIFComment(animated(t, 16, 16, 2), "made by SpyCam")
		if _, err := gif.DecodeAll(bytes.NewReader(in)); err != nil {
			t.Fatalf("fixture is not a valid GIF: %v", err)
		}
		img, err := Process(bytes.NewReader(in), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(img.Data, []byte("SpyCam")) {
			t.Error("output still contains the comment")
		}
	})
}

func TestProcessOrientation(t *testing.T) {
	// The stored image is 40×20, red on the left and blue on the right.
	tests := []struct {
		orientation  uint16
		wantW, wantH int
		redAt        image.Point // a point that must be red after rotation
		blueAt       image.Point
	}{
		{1, 40, 20, image.Pt(5, 10), image.Pt(35, 10)},
		{3, 40, 20, image.Pt(35, 10), image.Pt(5, 10)}, // rotated 180°
		{6, 20, 40, image.Pt(10, 5), image.Pt(10, 35)}, // rotate 90° clockwise to display: left goes up
		{8, 20, 40, image.Pt(10, 35), image.Pt(10, 5)}, // rotate 90° counter-clockwise: left goes down
	}
	for _, tt := range tests {
		t.Run(string(rune('0'+tt.orientation)), func(t *testing.T) {
			in := withEXIF(encJPEG(t, halves(40, 20)), tt.orientation)
			img, err := Process(bytes.NewReader(in), Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != tt.wantW || img.Height != tt.wantH {
				t.Fatalf("got %dx%d, want %dx%d", img.Width, img.Height, tt.wantW, tt.wantH)
			}
			m, err := jpeg.Decode(bytes.NewReader(img.Data))
			if err != nil {
				t.Fatal(err)
			}
			if !near(m.At(tt.redAt.X, tt.redAt.Y), red) || !near(m.At(tt.blueAt.X, tt.blueAt.Y), blue) {
				t.Errorf("wrong rotation: %v at %v, %v at %v", m.At(tt.redAt.X, tt.redAt.Y), tt.redAt, m.At(tt.blueAt.X, tt.blueAt.Y), tt.blueAt)
			}
		})
	}
}

// near reports whether two colours are within JPEG noise of each other.
func near(a, b color.Color) bool {
	r1, g1, b1, _ := a.RGBA()
	r2, g2, b2, _ := b.RGBA()
	d := func(x, y uint32) uint32 {
		if x > y {
			return (x - y) >> 8
		}
		return (y - x) >> 8
	}
	return d(r1, r2) < 48 && d(g1, g2) < 48 && d(b1, b2) < 48
}
