package notice

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // avatar formats
	_ "image/jpeg"
	"image/png"
	"math"
	"os"
	"strings"
	"sync"
	"unicode"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	_ "golang.org/x/image/webp"
)

// The link-preview card: the size X, LinkedIn, Facebook and Mastodon show
// as a large image (1.91:1).
const (
	CardWidth  = 1200
	CardHeight = 630
)

// Avatar limits: the file is the configured local avatar, read once.
const (
	maxAvatarBytes  = 16 << 20
	maxAvatarPixels = 40_000_000
)

// CardInput is what the card shows.
type CardInput struct {
	Name          string      // the institution
	Subtitle      string      // e.g. "Ville de Test a quitté X"
	Handle        string      // fediverse handle, without "@"
	BlueskyHandle string      // without "@"; empty: no Bluesky line
	Avatar        image.Image // nil: the name's initial in a circle
}

var (
	cardBg     = color.RGBA{0x10, 0x2a, 0x43, 0xff}
	cardPanel  = color.RGBA{0x17, 0x3b, 0x5e, 0xff}
	cardText   = color.RGBA{0xff, 0xff, 0xff, 0xff}
	cardMuted  = color.RGBA{0xc4, 0xd4, 0xe4, 0xff}
	cardAccent = color.RGBA{0x8a, 0xd1, 0xff, 0xff}
)

var (
	fontsOnce          sync.Once
	fontRegular, fontB *opentype.Font
	fontsErr           error
)

// fonts parses Go's own fonts (embedded in the binary: no external asset).
func fonts() (*opentype.Font, *opentype.Font, error) {
	fontsOnce.Do(func() {
		fontRegular, fontsErr = opentype.Parse(goregular.TTF)
		if fontsErr == nil {
			fontB, fontsErr = opentype.Parse(gobold.TTF)
		}
	})
	return fontRegular, fontB, fontsErr
}

// Card draws the link-preview image as a PNG of CardWidth×CardHeight.
// Texts too wide are shrunk, then cut with an ellipsis. Go's fonts cover
// Latin, Greek and Cyrillic; other scripts are drawn as boxes.
func Card(in CardInput) ([]byte, error) {
	regular, bold, err := fonts()
	if err != nil {
		return nil, fmt.Errorf("notice: card fonts: %w", err)
	}
	const margin, avatarSize, panelTop = 72, 200, 330
	img := image.NewRGBA(image.Rect(0, 0, CardWidth, CardHeight))
	fill(img, img.Bounds(), cardBg)
	fill(img, image.Rect(0, panelTop, CardWidth, CardHeight), cardPanel)
	fill(img, image.Rect(0, 0, CardWidth, 12), cardAccent)

	drawAvatar(img, image.Rect(margin, 72, margin+avatarSize, 72+avatarSize), in, bold)

	textX := margin + avatarSize + 48
	textW := CardWidth - textX - margin
	nameFace := fitFace(bold, in.Name, textW, 72, 40)
	drawText(img, nameFace, ellipsize(nameFace, in.Name, textW), textX, 160, cardText)
	if in.Subtitle != "" {
		sub := fitFace(regular, in.Subtitle, textW, 40, 28)
		drawText(img, sub, ellipsize(sub, in.Subtitle, textW), textX, 230, cardMuted)
	}

	rows := []struct{ label, handle string }{{"Fediverse · Mastodon", "@" + in.Handle}}
	if in.BlueskyHandle != "" {
		rows = append(rows, struct{ label, handle string }{"Bluesky", "@" + in.BlueskyHandle})
	}
	label := face(regular, 28)
	y := panelTop + 55
	if len(rows) == 1 {
		y += 50
	}
	for _, r := range rows {
		w := CardWidth - 2*margin
		drawText(img, label, r.label, margin, y, cardAccent)
		h := fitFace(bold, r.handle, w, 48, 26)
		drawText(img, h, ellipsize(h, r.handle, w), margin, y+52, cardText)
		y += 102
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("notice: encode card: %w", err)
	}
	return buf.Bytes(), nil
}

// LoadAvatar reads a local avatar file (PNG, JPEG, GIF or WebP).
func LoadAvatar(path string) (image.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("notice: avatar: %w", err)
	}
	if len(data) > maxAvatarBytes {
		return nil, fmt.Errorf("notice: avatar %s: larger than %d bytes", path, maxAvatarBytes)
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("notice: avatar %s: %w", path, err)
	}
	if cfg.Width*cfg.Height > maxAvatarPixels {
		return nil, fmt.Errorf("notice: avatar %s: %dx%d is too large", path, cfg.Width, cfg.Height)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("notice: avatar %s: %w", path, err)
	}
	return img, nil
}

func fill(img *image.RGBA, r image.Rectangle, c color.Color) {
	xdraw.Draw(img, r, image.NewUniform(c), image.Point{}, xdraw.Src)
}

// drawAvatar draws the avatar (cropped to a centred square) or the name's
// initial, in a circle.
func drawAvatar(img *image.RGBA, r image.Rectangle, in CardInput, bold *opentype.Font) {
	size := r.Dx()
	tile := image.NewRGBA(image.Rect(0, 0, size, size))
	if in.Avatar != nil {
		b := in.Avatar.Bounds()
		side := min(b.Dx(), b.Dy())
		src := image.Rect(b.Min.X+(b.Dx()-side)/2, b.Min.Y+(b.Dy()-side)/2, 0, 0)
		src.Max = src.Min.Add(image.Pt(side, side))
		xdraw.CatmullRom.Scale(tile, tile.Bounds(), in.Avatar, src, xdraw.Src, nil)
	} else {
		fill(tile, tile.Bounds(), cardAccent)
		initial := "?"
		for _, c := range in.Name {
			if unicode.IsLetter(c) || unicode.IsDigit(c) {
				initial = strings.ToUpper(string(c))
				break
			}
		}
		f := face(bold, 110)
		w := font.MeasureString(f, initial).Round()
		drawText(tile, f, initial, (size-w)/2, size/2+40, cardBg)
	}
	xdraw.DrawMask(img, r, tile, image.Point{}, circle{size}, image.Point{}, xdraw.Over)
}

// circle is an anti-aliased disc mask of the given diameter.
type circle struct{ d int }

func (c circle) ColorModel() color.Model { return color.AlphaModel }
func (c circle) Bounds() image.Rectangle { return image.Rect(0, 0, c.d, c.d) }
func (c circle) At(x, y int) color.Color {
	r := float64(c.d) / 2
	dx, dy := float64(x)+0.5-r, float64(y)+0.5-r
	dist := r - math.Hypot(dx, dy) // > 0 inside
	switch {
	case dist >= 1:
		return color.Alpha{0xff}
	case dist <= 0:
		return color.Alpha{}
	}
	return color.Alpha{uint8(dist * 0xff)}
}

func face(f *opentype.Font, size float64) font.Face {
	fc, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		panic(err) // only for sizes <= 0
	}
	return fc
}

// fitFace returns the largest face from max down to min points in which
// text fits width.
func fitFace(f *opentype.Font, text string, width int, max, min float64) font.Face {
	for size := max; size > min; size -= 2 {
		fc := face(f, size)
		if font.MeasureString(fc, text).Round() <= width {
			return fc
		}
	}
	return face(f, min)
}

// ellipsize cuts text to fit width, ending it with "…".
func ellipsize(f font.Face, text string, width int) string {
	if font.MeasureString(f, text).Round() <= width {
		return text
	}
	r := []rune(text)
	for len(r) > 0 {
		r = r[:len(r)-1]
		if s := string(r) + "…"; font.MeasureString(f, s).Round() <= width {
			return s
		}
	}
	return ""
}

func drawText(img xdraw.Image, f font.Face, text string, x, y int, c color.Color) {
	d := font.Drawer{Dst: img, Src: image.NewUniform(c), Face: f, Dot: fixed.P(x, y)}
	d.DrawString(text)
}
