package notice

import (
	"bytes"
	"encoding/xml"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

func TestQR(t *testing.T) {
	q, err := NewQR("https://social.city.example/@news")
	if err != nil {
		t.Fatal(err)
	}
	n := q.Size()
	if n < 21 || (n-17)%4 != 0 {
		t.Fatalf("Size = %d, not a QR code size (17+4v)", n)
	}
	// The three finder patterns: dark 7×7 rings at three corners, with a
	// light separator.
	for _, c := range [][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
		if !q.Dark(c[0], c[1]) || !q.Dark(c[0]+6, c[1]+6) || q.Dark(c[0]+1, c[1]+1) || !q.Dark(c[0]+3, c[1]+3) {
			t.Errorf("no finder pattern at %v", c)
		}
	}

	const scale = 6
	data, err := q.PNG(scale)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("PNG does not decode: %v", err)
	}
	side := (n + 2*QuietZone) * scale
	if b := img.Bounds(); b.Dx() != side || b.Dy() != side {
		t.Fatalf("PNG is %v, want %dx%d", b, side, side)
	}
	isDark := func(x, y int) bool { return color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y < 128 }
	for y := range n {
		for x := range n {
			px, py := (x+QuietZone)*scale+scale/2, (y+QuietZone)*scale+scale/2
			if isDark(px, py) != q.Dark(x, y) {
				t.Fatalf("PNG module (%d,%d) differs from the matrix", x, y)
			}
		}
	}
	if isDark(1, 1) {
		t.Error("the quiet zone is not light")
	}

	svg := q.SVG()
	var doc struct {
		XMLName xml.Name `xml:"svg"`
		ViewBox string   `xml:"viewBox,attr"`
		Path    struct {
			D string `xml:"d,attr"`
		} `xml:"path"`
	}
	if err := xml.Unmarshal(svg, &doc); err != nil {
		t.Fatalf("SVG is not XML: %v", err)
	}
	if doc.Path.D == "" || doc.ViewBox == "" {
		t.Errorf("SVG lacks its path or viewBox: %s", svg[:min(200, len(svg))])
	}
}

func TestCard(t *testing.T) {
	avatar := filepath.Join(t.TempDir(), "avatar.png")
	img := image.NewRGBA(image.Rect(0, 0, 300, 200))
	for y := range 200 {
		for x := range 300 {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 200, 255})
		}
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	if err := os.WriteFile(avatar, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadAvatar(avatar)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   CardInput
	}{
		{name: "with avatar and Bluesky", in: CardInput{Name: "Ville de Test", Subtitle: "Ville de Test a quitté X", Handle: "news@city.example", BlueskyHandle: "villedetest.bsky.social", Avatar: loaded}},
		{name: "without avatar nor Bluesky", in: CardInput{Name: "Hôpital", Handle: "news@city.example"}},
		{name: "very long texts", in: CardInput{Name: string(bytes.Repeat([]byte("Communauté d’agglomération "), 5)), Handle: "a_very_long_username_indeed@" + string(bytes.Repeat([]byte("sub."), 30)) + "example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Card(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
			if err != nil || format != "png" {
				t.Fatalf("card is not a PNG: %v (%s)", err, format)
			}
			if cfg.Width != CardWidth || cfg.Height != CardHeight {
				t.Fatalf("card is %dx%d, want %dx%d", cfg.Width, cfg.Height, CardWidth, CardHeight)
			}
			if _, err := png.Decode(bytes.NewReader(data)); err != nil {
				t.Fatalf("card does not decode: %v", err)
			}
		})
	}
	if _, err := LoadAvatar(filepath.Join(t.TempDir(), "missing.png")); err == nil {
		t.Error("LoadAvatar(missing) succeeded")
	}
}
