package api

import (
	"bytes"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
)

// Placeholders for accounts without an avatar or header (clients need a
// URL that loads): plain images encoded once at start-up, served from
// memory at /static/avatar.png and /static/header.png.
var (
	avatarPNG = solidPNG(120, 120, color.RGBA{0x9b, 0xa3, 0xb5, 0xff})
	headerPNG = solidPNG(600, 200, color.RGBA{0x5a, 0x62, 0x78, 0xff})
)

func solidPNG(w, h int, c color.RGBA) []byte {
	img := image.NewPaletted(image.Rect(0, 0, w, h), color.Palette{c})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		panic(err) // encoding an in-memory image cannot fail
	}
	return buf.Bytes()
}

func crc(b []byte) uint32 { return crc32.ChecksumIEEE(b) }
