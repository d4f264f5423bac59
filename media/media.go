package media

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	// imaging applies the EXIF orientation on decode (AutoOrientation) and
	// resizes with a parallel Lanczos filter; the standard library does
	// neither. It is small, has no dependencies beyond golang.org/x/image
	// and is the usual choice in Go (GoToSocial used it for the same job).
	// Note: importing it registers the BMP and TIFF decoders with package
	// image; Process never relies on that registry, see sniff.
	"github.com/disintegration/imaging"
	// Blurhash reference port to Go (the algorithm Mastodon uses for its
	// "blurhash" attachment field); no dependencies.
	"github.com/buckket/go-blurhash"
	// WebP decoder from the Go project: Mastodon apps upload WebP and the
	// standard library cannot read it.
	"golang.org/x/image/webp"
)

// Defaults for zero Limits fields.
const (
	DefaultMaxBytes  = 16 << 20   // 16 MiB, Mastodon's image limit
	DefaultMaxPixels = 40_000_000 // 40 megapixels
)

const (
	jpegQuality   = 90
	blurhashX     = 4
	blurhashY     = 3
	blurhashInput = 64 // longest side of the copy the blurhash is computed on
)

// Errors returned by Process and Fit, wrapped with detail; match them with
// errors.Is.
var (
	ErrTooLarge      = errors.New("media: file too large")
	ErrTooManyPixels = errors.New("media: image has too many pixels")
	ErrUnsupported   = errors.New("media: unsupported file type")
	ErrCorrupt       = errors.New("media: corrupt image")
)

// Limits bound what Process accepts. Zero fields take the defaults.
type Limits struct {
	MaxBytes  int64 // largest upload; default DefaultMaxBytes
	MaxPixels int64 // largest width×height (for GIFs also the sum over frames); default DefaultMaxPixels
	MaxSide   int   // 0: keep the size; else scale down so the longest side is at most MaxSide
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxPixels <= 0 {
		l.MaxPixels = DefaultMaxPixels
	}
	if l.MaxSide < 0 {
		l.MaxSide = 0
	}
	return l
}

// Image is a processed image.
type Image struct {
	Data          []byte
	MediaType     string // image/jpeg, image/png or image/gif
	Width, Height int    // as displayed, after the EXIF orientation
	Blurhash      string // 4×3 components
}

// format is a recognised file type.
type format string

const (
	formatJPEG format = "image/jpeg"
	formatPNG  format = "image/png"
	formatGIF  format = "image/gif"
	formatWebP format = "image/webp"
)

// Process reads an upload of at most lim.MaxBytes, checks that it is a
// JPEG, PNG, GIF or (still) WebP image of at most lim.MaxPixels, and
// returns it re-encoded without metadata:
//
//   - JPEG: orientation applied, JPEG at quality 90;
//   - WebP: JPEG at quality 90, or PNG when it has transparency;
//   - PNG: PNG;
//   - GIF: GIF with all frames, delays, disposal and loop count, without
//     comment and application extensions other than the loop count.
//
// Errors wrap ErrTooLarge, ErrTooManyPixels, ErrUnsupported (not one of
// those formats, including an empty file) or ErrCorrupt (the format is
// recognised but does not decode); a read error from r is returned as is.
func Process(r io.Reader, lim Limits) (Image, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.MaxBytes+1))
	if err != nil {
		return Image{}, fmt.Errorf("media: read upload: %w", err)
	}
	if int64(len(data)) > lim.MaxBytes {
		return Image{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, lim.MaxBytes)
	}
	f, err := sniff(data)
	if err != nil {
		return Image{}, err
	}
	cfg, err := decodeConfig(f, data)
	if err != nil {
		return Image{}, err
	}
	if err := checkPixels(cfg.Width, cfg.Height, lim.MaxPixels); err != nil {
		return Image{}, err
	}
	if f == formatGIF {
		return processGIF(data, lim)
	}

	img, err := decodeStill(f, data)
	if err != nil {
		return Image{}, err
	}
	if lim.MaxSide > 0 {
		img = fitSide(img, lim.MaxSide)
	}
	out := Image{Width: img.Bounds().Dx(), Height: img.Bounds().Dy(), Blurhash: blurhashOf(img)}
	var buf bytes.Buffer
	if f == formatPNG || f == formatWebP && !isOpaque(img) {
		out.MediaType = string(formatPNG)
		err = encodePNG(&buf, img)
	} else {
		out.MediaType = string(formatJPEG)
		err = encodeJPEG(&buf, img, jpegQuality)
	}
	if err != nil {
		return Image{}, err
	}
	out.Data = buf.Bytes()
	return out, nil
}

// sniff recognises the format from the magic bytes. The decoders confirm
// it; package image's registry is not used, so formats that other imports
// register (imaging registers BMP and TIFF) are refused.
func sniff(data []byte) (format, error) {
	switch {
	case len(data) == 0:
		return "", fmt.Errorf("%w: empty file", ErrUnsupported)
	case bytes.HasPrefix(data, []byte("\xff\xd8\xff")):
		return formatJPEG, nil
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG, nil
	case bytes.HasPrefix(data, []byte("GIF87a")), bytes.HasPrefix(data, []byte("GIF89a")):
		return formatGIF, nil
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		// VP8X header: flags byte at offset 20, bit 1 is animation, which
		// x/image/webp cannot decode.
		if len(data) >= 21 && string(data[12:16]) == "VP8X" && data[20]&0x02 != 0 {
			return "", fmt.Errorf("%w: animated WebP", ErrUnsupported)
		}
		return formatWebP, nil
	}
	return "", fmt.Errorf("%w: not a JPEG, PNG, GIF or WebP image", ErrUnsupported)
}

func decodeConfig(f format, data []byte) (image.Config, error) {
	var (
		cfg image.Config
		err error
	)
	r := bytes.NewReader(data)
	switch f {
	case formatJPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case formatPNG:
		cfg, err = png.DecodeConfig(r)
	case formatGIF:
		cfg, err = gif.DecodeConfig(r)
	case formatWebP:
		cfg, err = webp.DecodeConfig(r)
	}
	if err != nil {
		return image.Config{}, fmt.Errorf("%w: %s header: %w", ErrCorrupt, f, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return image.Config{}, fmt.Errorf("%w: %s of %dx%d pixels", ErrCorrupt, f, cfg.Width, cfg.Height)
	}
	return cfg, nil
}

func checkPixels(w, h int, limit int64) error {
	if n := int64(w) * int64(h); n > limit {
		return fmt.Errorf("%w: %dx%d is %d pixels, more than %d", ErrTooManyPixels, w, h, n, limit)
	}
	return nil
}

// decodeStill decodes a JPEG, PNG or WebP image (or a GIF's first frame)
// whose header has been checked, with the EXIF orientation of a JPEG
// applied.
func decodeStill(f format, data []byte) (image.Image, error) {
	var (
		img image.Image
		err error
	)
	r := bytes.NewReader(data)
	switch f {
	case formatJPEG:
		img, err = imaging.Decode(r, imaging.AutoOrientation(true))
	case formatPNG:
		img, err = png.Decode(r)
	case formatWebP:
		img, err = webp.Decode(r)
	case formatGIF:
		img, err = gif.Decode(r)
	default:
		return nil, fmt.Errorf("%w: %s", ErrUnsupported, f)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, f, err)
	}
	return img, nil
}

// fitSide scales img down, keeping its aspect ratio, so that its longest side
// is at most side. Smaller images are returned as they are.
func fitSide(img image.Image, side int) image.Image {
	b := img.Bounds()
	if b.Dx() <= side && b.Dy() <= side {
		return img
	}
	return imaging.Fit(img, side, side, imaging.Lanczos)
}

// blurhashOf computes the blurhash on a copy at most blurhashInput pixels
// wide or high: the 12 components only carry the coarsest structure. A
// large image is first sampled down to 8×blurhashInput (nearest
// neighbour), because a box filter over 12 megapixels would cost a third
// of Process.
func blurhashOf(img image.Image) string {
	b := img.Bounds()
	if longest, limit := max(b.Dx(), b.Dy()), 8*blurhashInput; longest > limit {
		img = imaging.Resize(img, max(1, b.Dx()*limit/longest), max(1, b.Dy()*limit/longest), imaging.NearestNeighbor)
	}
	small := imaging.Fit(img, blurhashInput, blurhashInput, imaging.Box)
	h, err := blurhash.Encode(blurhashX, blurhashY, small)
	if err != nil {
		return "" // only for invalid component counts, which are constants
	}
	return h
}

func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

func encodePNG(w io.Writer, img image.Image) error {
	if err := png.Encode(w, img); err != nil {
		return fmt.Errorf("media: encode png: %w", err)
	}
	return nil
}

// encodeJPEG encodes img, flattening any transparency onto white. Images
// are handed to the encoder as *image.RGBA or *image.YCbCr where possible,
// the two types it encodes without a per-pixel interface call.
func encodeJPEG(w io.Writer, img image.Image, quality int) error {
	if err := jpeg.Encode(w, forJPEG(img), &jpeg.Options{Quality: quality}); err != nil {
		return fmt.Errorf("media: encode jpeg: %w", err)
	}
	return nil
}

func forJPEG(img image.Image) image.Image {
	switch m := img.(type) {
	case *image.YCbCr, *image.Gray:
		return m
	case *image.NRGBA:
		if m.Opaque() {
			// Without transparency, non-premultiplied is premultiplied.
			return &image.RGBA{Pix: m.Pix, Stride: m.Stride, Rect: m.Rect}
		}
		return flatten(m)
	}
	if isOpaque(img) {
		return img
	}
	return flatten(imaging.Clone(img))
}

// flatten composes m over white into a new opaque image.
func flatten(m *image.NRGBA) *image.RGBA {
	out := image.NewRGBA(m.Rect)
	for y := 0; y < m.Rect.Dy(); y++ {
		src := m.Pix[y*m.Stride : y*m.Stride+m.Rect.Dx()*4]
		dst := out.Pix[y*out.Stride : y*out.Stride+m.Rect.Dx()*4]
		for i := 0; i < len(src); i += 4 {
			a := uint32(src[i+3])
			for c := 0; c < 3; c++ {
				dst[i+c] = uint8((uint32(src[i+c])*a + 255*(255-a) + 127) / 255)
			}
			dst[i+3] = 255
		}
	}
	return out
}
