package notice

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strconv"

	"github.com/boombuler/barcode/qr"
)

// QuietZone is the blank margin around a QR code, in modules (the
// standard's minimum).
const QuietZone = 4

// QR is a QR code's module matrix, encoded by github.com/boombuler/barcode
// and drawn here as PNG and SVG.
type QR struct {
	n    int      // modules per side, without the quiet zone
	dark [][]bool // [y][x]
}

// NewQR encodes content with error correction level M (15%).
func NewQR(content string) (*QR, error) {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return nil, fmt.Errorf("notice: QR code of %q: %w", content, err)
	}
	b := code.Bounds()
	q := &QR{n: b.Dx(), dark: make([][]bool, b.Dy())}
	for y := range q.dark {
		q.dark[y] = make([]bool, b.Dx())
		for x := range q.dark[y] {
			g := color.GrayModel.Convert(code.At(b.Min.X+x, b.Min.Y+y)).(color.Gray)
			q.dark[y][x] = g.Y < 128
		}
	}
	return q, nil
}

// Size is the number of modules per side, without the quiet zone.
func (q *QR) Size() int { return q.n }

// Dark reports whether the module at (x, y) is dark.
func (q *QR) Dark(x, y int) bool { return q.dark[y][x] }

// PNG draws the code with scale pixels per module and the quiet zone, dark
// on white, as a two-colour PNG.
func (q *QR) PNG(scale int) ([]byte, error) {
	side := (q.n + 2*QuietZone) * scale
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y := 0; y < q.n; y++ {
		for x := 0; x < q.n; x++ {
			if !q.dark[y][x] {
				continue
			}
			x0, y0 := (x+QuietZone)*scale, (y+QuietZone)*scale
			for dy := range scale {
				row := img.Pix[(y0+dy)*img.Stride:]
				for dx := range scale {
					row[x0+dx] = 1
				}
			}
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("notice: encode QR PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG draws the code as one path of horizontal runs, one unit per module,
// with the quiet zone. It scales to any size.
func (q *QR) SVG() []byte {
	side := strconv.Itoa(q.n + 2*QuietZone)
	var b bytes.Buffer
	b.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ` + side + ` ` + side + `" shape-rendering="crispEdges">`)
	b.WriteString(`<rect width="` + side + `" height="` + side + `" fill="#fff"/><path fill="#000" d="`)
	for y := 0; y < q.n; y++ {
		for x := 0; x < q.n; {
			if !q.dark[y][x] {
				x++
				continue
			}
			run := 1
			for x+run < q.n && q.dark[y][x+run] {
				run++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", x+QuietZone, y+QuietZone, run, run)
			x += run
		}
	}
	b.WriteString(`"/></svg>`)
	return b.Bytes()
}
