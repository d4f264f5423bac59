package media

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"

	"github.com/disintegration/imaging"
)

// fitQualities are the JPEG qualities Fit tries at each size before it
// scales down again.
var fitQualities = []int{90, 80, 70, 60}

const (
	fitShrink  = 0.75 // each further size step
	fitMinSide = 64   // Fit gives up below this
)

// Fit returns img re-encoded so that it has at most maxBytes bytes and a
// longest side of at most maxSide pixels (0: no bound), for services with
// tighter limits than ours (Bluesky: 2,000,000 bytes, 2000 px). An image
// that already fits is returned unchanged.
//
// It first scales down to maxSide. A PNG (or a GIF or WebP with
// transparency) stays PNG if that fits; an animated GIF stays an animated
// GIF if that fits; otherwise the image becomes a JPEG (transparency on
// white), tried at qualities 90, 80, 70 and 60, then scaled down by a
// quarter at a time. Blurhash is kept from img when it has one. The error
// wraps ErrTooLarge when even a small JPEG is over maxBytes, or
// ErrUnsupported / ErrCorrupt / ErrTooManyPixels when img.Data is not an
// image Process would accept.
func Fit(img Image, maxBytes int64, maxSide int) (Image, error) {
	f, err := sniff(img.Data)
	if err != nil {
		return Image{}, err
	}
	cfg, err := decodeConfig(f, img.Data)
	if err != nil {
		return Image{}, err
	}
	if err := checkPixels(cfg.Width, cfg.Height, DefaultMaxPixels); err != nil {
		return Image{}, err
	}
	fitsSide := func(w, h int) bool { return maxSide <= 0 || w <= maxSide && h <= maxSide }
	fitsBytes := func(n int) bool { return maxBytes <= 0 || int64(n) <= maxBytes }
	if fitsSide(cfg.Width, cfg.Height) && fitsBytes(len(img.Data)) && f != formatWebP {
		img.MediaType, img.Width, img.Height = string(f), cfg.Width, cfg.Height
		if img.Blurhash == "" {
			if m, err := decodeStill(f, img.Data); err == nil {
				img.Blurhash = blurhashOf(m)
			}
		}
		return img, nil
	}
	keep := func(out Image) Image {
		if img.Blurhash != "" {
			out.Blurhash = img.Blurhash
		}
		return out
	}
	still := func(data []byte, f format, m image.Image) Image {
		out := Image{Data: data, MediaType: string(f), Width: m.Bounds().Dx(), Height: m.Bounds().Dy(), Blurhash: img.Blurhash}
		if out.Blurhash == "" {
			out.Blurhash = blurhashOf(m)
		}
		return out
	}

	if f == formatGIF {
		if total, err := gifFramePixels(img.Data); err == nil && total <= DefaultMaxPixels {
			if g, err := gif.DecodeAll(bytes.NewReader(img.Data)); err == nil && len(g.Image) > 1 {
				if maxSide > 0 {
					scaleGIF(g, maxSide)
				}
				if out, err := encodeGIF(g); err == nil && fitsBytes(len(out.Data)) {
					return keep(out), nil
				}
			}
		}
	}

	src, err := decodeStill(f, img.Data)
	if err != nil {
		return Image{}, err
	}
	m := src
	if maxSide > 0 {
		m = fitSide(src, maxSide)
	}
	if f == formatPNG || !isOpaque(m) {
		var buf bytes.Buffer
		if err := encodePNG(&buf, m); err != nil {
			return Image{}, err
		}
		if fitsBytes(buf.Len()) {
			return still(buf.Bytes(), formatPNG, m), nil
		}
	}
	for {
		for _, q := range fitQualities {
			var buf bytes.Buffer
			if err := encodeJPEG(&buf, m, q); err != nil {
				return Image{}, err
			}
			if fitsBytes(buf.Len()) {
				return still(buf.Bytes(), formatJPEG, m), nil
			}
		}
		b := m.Bounds()
		side := int(float64(max(b.Dx(), b.Dy())) * fitShrink)
		if side < fitMinSide {
			return Image{}, fmt.Errorf("%w: no JPEG of at least %d px fits in %d bytes", ErrTooLarge, fitMinSide, maxBytes)
		}
		// Always from the source, so the blur does not compound.
		m = imaging.Fit(src, side, side, imaging.Lanczos)
	}
}
