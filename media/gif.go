package media

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"math"
)

// processGIF re-encodes a GIF with all its frames. The frames' total pixel
// count is checked before decoding: each frame is bounded by the logical
// screen, but a small file can hold thousands of them (LZW compresses a
// flat frame over a thousand to one).
func processGIF(data []byte, lim Limits) (Image, error) {
	total, err := gifFramePixels(data)
	if err != nil {
		return Image{}, err
	}
	if total > lim.MaxPixels {
		return Image{}, fmt.Errorf("%w: GIF frames hold %d pixels in all, more than %d", ErrTooManyPixels, total, lim.MaxPixels)
	}
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		return Image{}, fmt.Errorf("%w: %s: %w", ErrCorrupt, formatGIF, err)
	}
	if lim.MaxSide > 0 {
		scaleGIF(g, lim.MaxSide)
	}
	return encodeGIF(g)
}

func encodeGIF(g *gif.GIF) (Image, error) {
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		// The decoder accepted it but it cannot be written back (a
		// degenerate frame, say): treat it as corrupt, not as our failure.
		return Image{}, fmt.Errorf("%w: re-encode %s: %w", ErrCorrupt, formatGIF, err)
	}
	return Image{
		Data:      buf.Bytes(),
		MediaType: string(formatGIF),
		Width:     g.Config.Width,
		Height:    g.Config.Height,
		Blurhash:  blurhashOf(gifFirstFrame(g)),
	}, nil
}

// gifFirstFrame draws the first frame on a canvas the size of the logical
// screen.
func gifFirstFrame(g *gif.GIF) image.Image {
	canvas := image.NewNRGBA(image.Rect(0, 0, g.Config.Width, g.Config.Height))
	if len(g.Image) > 0 {
		draw.Draw(canvas, g.Image[0].Bounds(), g.Image[0], g.Image[0].Bounds().Min, draw.Over)
	}
	return canvas
}

// gifFramePixels walks the GIF block structure without decoding any
// image data and returns the sum of the frames' widths times heights. A
// file that ends early is left for the decoder to judge.
func gifFramePixels(data []byte) (int64, error) {
	_, total, err := gifScan(data)
	return total, err
}

// GIFFrames counts the frames of a GIF from its block structure, without
// decoding any (0 for what is not a GIF): a GIF of more than one frame is
// animated.
func GIFFrames(data []byte) int {
	if f, err := sniff(data); err != nil || f != formatGIF {
		return 0
	}
	n, _, _ := gifScan(data)
	return n
}

// gifScan walks the GIF's blocks: the number of frames and their total
// pixels (a truncated file counts what it holds).
func gifScan(data []byte) (int, int64, error) {
	frames := 0
	corrupt := func(what string) (int, int64, error) {
		return 0, 0, fmt.Errorf("%w: %s: %s", ErrCorrupt, formatGIF, what)
	}
	if len(data) < 13 {
		return corrupt("short header")
	}
	p := 13
	if flags := data[10]; flags&0x80 != 0 {
		p += 3 << (flags&7 + 1) // global color table
	}
	// skipBlocks skips data sub-blocks up to the block terminator.
	skipBlocks := func() bool {
		for p < len(data) {
			n := int(data[p])
			p++
			if n == 0 {
				return true
			}
			p += n
		}
		return false
	}
	var total int64
	for p < len(data) {
		switch data[p] {
		case 0x21: // extension: label, then sub-blocks
			p += 2
			if !skipBlocks() {
				return frames, total, nil
			}
		case 0x2c: // image descriptor
			if p+10 > len(data) {
				return frames, total, nil
			}
			w := int64(binary.LittleEndian.Uint16(data[p+5:]))
			h := int64(binary.LittleEndian.Uint16(data[p+7:]))
			flags := data[p+9]
			total += w * h
			frames++
			p += 10
			if flags&0x80 != 0 {
				p += 3 << (flags&7 + 1) // local color table
			}
			p++ // LZW minimum code size
			if !skipBlocks() {
				return frames, total, nil
			}
		case 0x3b: // trailer
			return frames, total, nil
		default:
			return corrupt(fmt.Sprintf("unknown block 0x%02x", data[p]))
		}
	}
	return frames, total, nil
}

// scaleGIF scales every frame of g down so that the logical screen's
// longest side is at most side. Sampling is nearest-neighbour in screen
// coordinates: it keeps the palettes and transparent indexes exact, and
// frames that cover part of the screen still line up with the others.
func scaleGIF(g *gif.GIF, side int) {
	w, h := g.Config.Width, g.Config.Height
	if w <= side && h <= side {
		return
	}
	s := float64(side) / float64(max(w, h))
	nw, nh := max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
	screen := image.Rect(0, 0, nw, nh)
	scale := func(v int) int { return int(math.Round(float64(v) * s)) }
	for i, m := range g.Image {
		r := m.Bounds()
		nr := image.Rect(scale(r.Min.X), scale(r.Min.Y), scale(r.Max.X), scale(r.Max.Y)).Intersect(screen)
		if nr.Dx() == 0 || nr.Dy() == 0 {
			// A frame thinner than a pixel after scaling: keep one pixel.
			x, y := min(scale(r.Min.X), nw-1), min(scale(r.Min.Y), nh-1)
			nr = image.Rect(x, y, max(x+1, nr.Max.X), max(y+1, nr.Max.Y)).Intersect(screen)
		}
		out := image.NewPaletted(nr, m.Palette)
		for y := nr.Min.Y; y < nr.Max.Y; y++ {
			sy := clamp(int((float64(y)+0.5)/s), r.Min.Y, r.Max.Y-1)
			row := out.Pix[(y-nr.Min.Y)*out.Stride:]
			for x := nr.Min.X; x < nr.Max.X; x++ {
				sx := clamp(int((float64(x)+0.5)/s), r.Min.X, r.Max.X-1)
				row[x-nr.Min.X] = m.ColorIndexAt(sx, sy)
			}
		}
		g.Image[i] = out
	}
	g.Config.Width, g.Config.Height = nw, nh
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }
