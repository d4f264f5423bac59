package media

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"testing"
)

// Fixtures are generated here rather than stored, except the two WebP
// files in testdata (see testdata/README.md), since there is no WebP
// encoder in Go.

var (
	red  = color.NRGBA{255, 0, 0, 255}
	blue = color.NRGBA{0, 0, 255, 255}
)

// halves is a w×h image whose left half is red and right half blue, to
// tell orientations apart.
func halves(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if x < w/2 {
				m.SetNRGBA(x, y, red)
			} else {
				m.SetNRGBA(x, y, blue)
			}
		}
	}
	return m
}

// gradient is a smooth w×h image.
func gradient(w, h int) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := m.PixOffset(x, y)
			m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = uint8(x*255/w), uint8(y*255/h), 128, 255
		}
	}
	return m
}

// photo is a gradient with noise, which compresses about as badly as a
// phone photo.
func photo(w, h int, seed uint64) *image.RGBA {
	m := gradient(w, h)
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := 0; i < len(m.Pix); i += 4 {
		for c := range 3 {
			v := int(m.Pix[i+c]) + rng.IntN(41) - 20
			m.Pix[i+c] = uint8(max(0, min(255, v)))
		}
	}
	return m
}

// noisyAlpha is random pixels whose left half is fully transparent.
func noisyAlpha(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(3, 4))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if x < w/2 {
				a = 0
			}
			m.SetNRGBA(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), a})
		}
	}
	return m
}

func encJPEG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func encPNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// animated is an n-frame GIF of w×h; the frames after the first cover
// only the middle of the screen.
func animated(t testing.TB, w, h, n int) []byte {
	t.Helper()
	pal := color.Palette{color.Transparent, red, blue, color.White}
	g := &gif.GIF{LoopCount: 0}
	for i := range n {
		r := image.Rect(0, 0, w, h)
		if i > 0 {
			r = image.Rect(w/4, h/4, w*3/4, h*3/4)
		}
		m := image.NewPaletted(r, pal)
		for j := range m.Pix {
			m.Pix[j] = uint8(1 + (i+j)%3)
		}
		g.Image = append(g.Image, m)
		g.Delay = append(g.Delay, 10*(i+1))
		g.Disposal = append(g.Disposal, gif.DisposalNone)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withGIFComment inserts a comment extension before the first frame.
func withGIFComment(data []byte, comment string) []byte {
	p := 13
	if flags := data[10]; flags&0x80 != 0 {
		p += 3 << (flags&7 + 1)
	}
	ext := append([]byte{0x21, 0xfe, byte(len(comment))}, comment...)
	ext = append(ext, 0)
	return splice(data, p, ext)
}

func splice(data []byte, at int, insert []byte) []byte {
	out := append([]byte{}, data[:at]...)
	out = append(out, insert...)
	return append(out, data[at:]...)
}

// exifSegment is a JPEG APP1 segment with a big-endian TIFF structure:
// IFD0 holds Make ("SpyPhone"), Orientation and a pointer to a GPS IFD
// with a latitude, as a phone writes them.
func exifSegment(orientation uint16) []byte {
	be := binary.BigEndian
	tiff := make([]byte, 114)
	copy(tiff, "MM\x00\x2a")
	be.PutUint32(tiff[4:], 8)
	entry := func(at int, tag, typ uint16, count, value uint32) {
		be.PutUint16(tiff[at:], tag)
		be.PutUint16(tiff[at+2:], typ)
		be.PutUint32(tiff[at+4:], count)
		be.PutUint32(tiff[at+8:], value)
	}
	// IFD0 at 8: three entries, then the next-IFD offset (0).
	be.PutUint16(tiff[8:], 3)
	entry(10, 0x010f, 2, 9, 50) // Make, ASCII, at 50
	entry(22, 0x0112, 3, 1, 0)  // Orientation, SHORT, inline
	be.PutUint16(tiff[30:], orientation)
	entry(34, 0x8825, 4, 1, 60) // GPSInfo IFD at 60
	copy(tiff[50:], "SpyPhone\x00")
	// GPS IFD at 60: latitude ref "N" inline, latitude as 3 rationals at 90.
	be.PutUint16(tiff[60:], 2)
	entry(62, 0x0001, 2, 2, 0)
	copy(tiff[70:], "N\x00")
	entry(74, 0x0002, 5, 3, 90)
	for i, v := range []uint32{50, 1, 44, 1, 123456, 10000} { // 50° 44' 12.3456"
		be.PutUint32(tiff[90+4*i:], v)
	}
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := []byte{0xff, 0xe1, 0, 0}
	be.PutUint16(seg[2:], uint16(2+len(payload)))
	return append(seg, payload...)
}

// withEXIF puts an EXIF segment right after a JPEG's SOI marker.
func withEXIF(jpg []byte, orientation uint16) []byte {
	return splice(jpg, 2, exifSegment(orientation))
}

// pngChunk builds one PNG chunk with its CRC.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withPNGText inserts a tEXt chunk after IHDR (which ends at byte 33).
func withPNGText(data []byte, key, value string) []byte {
	return splice(data, 33, pngChunk("tEXt", []byte(key+"\x00"+value)))
}

// bombPNG is a valid PNG header declaring w×h RGB pixels, followed by a
// few bytes of image data: what a decompression bomb looks like before
// inflating.
func bombPNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, no interlace
	out := []byte("\x89PNG\r\n\x1a\n")
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1})...)
	return append(out, pngChunk("IEND", nil)...)
}

// withJPEGSize rewrites the dimensions in a baseline JPEG's SOF0 segment.
func withJPEGSize(t testing.TB, jpg []byte, w, h uint16) []byte {
	t.Helper()
	out := append([]byte{}, jpg...)
	i := bytes.Index(out, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

// webpVP8X is a WebP header with only a VP8X chunk (flags, canvas size).
func webpVP8X(flags byte, w, h uint32) []byte {
	chunk := []byte{flags, 0, 0, 0,
		byte(w - 1), byte((w - 1) >> 8), byte((w - 1) >> 16),
		byte(h - 1), byte((h - 1) >> 8), byte((h - 1) >> 16)}
	body := append([]byte("WEBPVP8X"), binary.LittleEndian.AppendUint32(nil, 10)...)
	body = append(body, chunk...)
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jpegSegments lists the markers of a JPEG up to the start of scan.
func jpegSegments(data []byte) []byte {
	var markers []byte
	for p := 2; p+4 <= len(data) && data[p] == 0xff; {
		m := data[p+1]
		markers = append(markers, m)
		if m == 0xda {
			break
		}
		p += 2 + int(binary.BigEndian.Uint16(data[p+2:]))
	}
	return markers
}
