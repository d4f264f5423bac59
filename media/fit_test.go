package media

import (
	"bytes"
	"errors"
	"image"
	"image/gif"
	"image/jpeg"
	"sync"
	"testing"
	"time"
)

// Bluesky's limits (app.bsky.embed.images).
const (
	blueskyBytes = 2_000_000
	blueskySide  = 2000
)

func mustProcess(t testing.TB, data []byte) Image {
	t.Helper()
	img, err := Process(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestFit(t *testing.T) {
	tests := []struct {
		name         string
		img          func(t *testing.T) Image
		maxBytes     int64
		maxSide      int
		wantType     string
		wantW, wantH int
		unchanged    bool
	}{
		{
			name:     "fits already",
			img:      func(t *testing.T) Image { return mustProcess(t, encJPEG(t, gradient(64, 48))) },
			maxBytes: blueskyBytes, maxSide: blueskySide,
			wantType: "image/jpeg", wantW: 64, wantH: 48, unchanged: true,
		},
		{
			name:     "no bounds",
			img:      func(t *testing.T) Image { return mustProcess(t, encPNG(t, gradient(64, 48))) },
			wantType: "image/png", wantW: 64, wantH: 48, unchanged: true,
		},
		{
			name:     "JPEG over the side",
			img:      func(t *testing.T) Image { return mustProcess(t, encJPEG(t, photo(2400, 1600, 1))) },
			maxBytes: blueskyBytes, maxSide: blueskySide,
			wantType: "image/jpeg", wantW: 2000, wantH: 1333,
		},
		{
			name:     "PNG kept when it fits",
			img:      func(t *testing.T) Image { return mustProcess(t, encPNG(t, gradient(3000, 100))) },
			maxBytes: blueskyBytes, maxSide: 1000,
			wantType: "image/png", wantW: 1000, wantH: 33,
		},
		{
			name:     "noisy PNG becomes JPEG",
			img:      func(t *testing.T) Image { return mustProcess(t, encPNG(t, photo(800, 600, 2))) },
			maxBytes: 200_000, maxSide: blueskySide,
			wantType: "image/jpeg", wantW: 800, wantH: 600,
		},
		{
			name:     "JPEG over the bytes is scaled down",
			img:      func(t *testing.T) Image { return mustProcess(t, encJPEG(t, photo(1000, 800, 3))) },
			maxBytes: 30_000,
			wantType: "image/jpeg", wantW: -1, wantH: -1, // smaller, checked below
		},
		{
			name:     "animated GIF stays animated",
			img:      func(t *testing.T) Image { return mustProcess(t, animated(t, 400, 200, 4)) },
			maxBytes: blueskyBytes, maxSide: 100,
			wantType: "image/gif", wantW: 100, wantH: 50,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.img(t)
			out, err := Fit(in, tt.maxBytes, tt.maxSide)
			if err != nil {
				t.Fatal(err)
			}
			if out.MediaType != tt.wantType {
				t.Errorf("type %s, want %s", out.MediaType, tt.wantType)
			}
			if tt.wantW >= 0 && (out.Width != tt.wantW || out.Height != tt.wantH) {
				t.Errorf("got %dx%d, want %dx%d", out.Width, out.Height, tt.wantW, tt.wantH)
			}
			if tt.wantW < 0 && (out.Width >= in.Width || out.Height >= in.Height || out.Width*in.Height/in.Width != out.Height && out.Width*in.Height/in.Width != out.Height-1) {
				t.Errorf("got %dx%d from %dx%d, want smaller with the same aspect ratio", out.Width, out.Height, in.Width, in.Height)
			}
			if tt.maxBytes > 0 && int64(len(out.Data)) > tt.maxBytes {
				t.Errorf("%d bytes, more than %d", len(out.Data), tt.maxBytes)
			}
			if unchanged := bytes.Equal(out.Data, in.Data); unchanged != tt.unchanged {
				t.Errorf("data unchanged = %v, want %v", unchanged, tt.unchanged)
			}
			if out.Blurhash != in.Blurhash {
				t.Errorf("blurhash %q, want the original %q", out.Blurhash, in.Blurhash)
			}
			cfg, name, err := image.DecodeConfig(bytes.NewReader(out.Data))
			if err != nil || "image/"+name != out.MediaType || cfg.Width != out.Width || cfg.Height != out.Height {
				t.Errorf("output decodes as %s %dx%d (%v)", name, cfg.Width, cfg.Height, err)
			}
			if out.MediaType == "image/gif" {
				if g, err := gif.DecodeAll(bytes.NewReader(out.Data)); err != nil || len(g.Image) != 4 {
					t.Errorf("animation lost: %v", err)
				}
			}
		})
	}
}

func TestFitTransparentToJPEGOnWhite(t *testing.T) {
	in := mustProcess(t, encPNG(t, noisyAlpha(600, 400)))
	out, err := Fit(in, 150_000, 0)
	if err != nil {
		t.Fatal(err)
	}
	if out.MediaType != "image/jpeg" {
		t.Fatalf("got %s, want image/jpeg", out.MediaType)
	}
	m, err := jpeg.Decode(bytes.NewReader(out.Data))
	if err != nil {
		t.Fatal(err)
	}
	// The left half was fully transparent.
	if r, g, b, _ := m.At(m.Bounds().Dx()/8, m.Bounds().Dy()/2).RGBA(); r>>8 < 240 || g>>8 < 240 || b>>8 < 240 {
		t.Errorf("transparent area is %d,%d,%d, want white", r>>8, g>>8, b>>8)
	}
}

func TestFitErrors(t *testing.T) {
	photoImg := mustProcess(t, encJPEG(t, photo(400, 300, 4)))
	tests := []struct {
		name     string
		img      Image
		maxBytes int64
		wantErr  error
	}{
		{"cannot fit", photoImg, 100, ErrTooLarge},
		{"empty", Image{}, blueskyBytes, ErrUnsupported},
		{"not an image", Image{Data: []byte("hello")}, blueskyBytes, ErrUnsupported},
		{"corrupt", Image{Data: photoImg.Data[:len(photoImg.Data)/3]}, 1000, ErrCorrupt},
		{"bomb", Image{Data: bombPNG(100000, 100000)}, blueskyBytes, ErrTooManyPixels},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Fit(tt.img, tt.maxBytes, blueskySide); !errors.Is(err, tt.wantErr) {
				t.Fatalf("got %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// A 12-megapixel phone photo (4000×3000), generated once.
var (
	photo12Once sync.Once
	photo12     []byte
)

func photo12MP(b *testing.B) []byte {
	photo12Once.Do(func() { photo12 = encJPEG(b, photo(4000, 3000, 12)) })
	return photo12
}

func BenchmarkProcess12MP(b *testing.B) {
	data := photo12MP(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		if _, err := Process(bytes.NewReader(data), Limits{}); err != nil {
			b.Fatal(err)
		}
	}
	reportMS(b, cpuTime()-cpu)
}

// reportMS reports wall-clock and CPU milliseconds per operation.
func reportMS(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

func BenchmarkFit12MPForBluesky(b *testing.B) {
	img := mustProcess(b, photo12MP(b))
	b.ReportAllocs()
	var out Image
	cpu := cpuTime()
	for b.Loop() {
		var err error
		if out, err = Fit(img, blueskyBytes, blueskySide); err != nil {
			b.Fatal(err)
		}
	}
	reportMS(b, cpuTime()-cpu)
	b.ReportMetric(float64(len(out.Data)), "out-bytes")
}
