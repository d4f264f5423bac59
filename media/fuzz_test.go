package media

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzProcess checks that no upload panics Process or Fit, and that every
// failure is one of the four sentinels.
func FuzzProcess(f *testing.F) {
	f.Add(encJPEG(f, gradient(16, 8)))
	f.Add(withEXIF(encJPEG(f, halves(8, 4)), 6))
	f.Add(encPNG(f, noisyAlpha(8, 8)))
	f.Add(withPNGText(encPNG(f, gradient(4, 4)), "k", "v"))
	f.Add(withGIFComment(animated(f, 16, 8, 3), "c"))
	f.Add(bombPNG(100000, 100000))
	f.Add(webpVP8X(0x02, 4, 4))
	f.Add(readFixture(f, "opaque.webp"))
	f.Add(readFixture(f, "alpha.webp"))
	f.Add([]byte("GIF89a"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := Limits{MaxBytes: 1 << 20, MaxPixels: 1 << 16, MaxSide: 32}
		img, err := Process(bytes.NewReader(data), lim)
		if err != nil {
			if !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooManyPixels) && !errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if img.Width > 32 || img.Height > 32 || img.Width < 1 || img.Height < 1 {
			t.Fatalf("got %dx%d with MaxSide 32", img.Width, img.Height)
		}
		if _, err := Process(bytes.NewReader(img.Data), lim); err != nil {
			t.Fatalf("output does not process again: %v", err)
		}
		if _, err := Fit(img, 2000, 16); err != nil && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("Fit: %v", err)
		}
	})
}
