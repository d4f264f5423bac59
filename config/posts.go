package config

// Posts limits what the comms team can publish, through the client API and
// the command line. Zero values take the defaults below.
type Posts struct {
	// MaxCharacters is the length of a post, counted as Mastodon counts it
	// (grapheme clusters, a link as 23); clients read it from the instance
	// endpoints.
	MaxCharacters int `yaml:"max_characters"`
	// MediaMaxBytes is the largest image upload.
	MediaMaxBytes int64 `yaml:"media_max_bytes"`
	// MediaMaxPixels is the largest image (width × height), checked from
	// the file's header before decoding (decompression bombs).
	MediaMaxPixels int64 `yaml:"media_max_pixels"`
}

// Post limits: defaults and ranges.
const (
	DefaultMaxCharacters  = 500
	DefaultMediaMaxBytes  = 16 << 20
	DefaultMediaMaxPixels = 40_000_000
	MaxMaxCharacters      = 100_000
	MaxMediaMaxBytes      = 100 << 20
	MaxMediaMaxPixels     = 200_000_000
)

// Characters returns MaxCharacters or its default.
func (p Posts) Characters() int { return orDefault(p.MaxCharacters, DefaultMaxCharacters) }

// MediaBytes returns MediaMaxBytes or its default.
func (p Posts) MediaBytes() int64 { return orDefault(p.MediaMaxBytes, DefaultMediaMaxBytes) }

// MediaPixels returns MediaMaxPixels or its default.
func (p Posts) MediaPixels() int64 { return orDefault(p.MediaMaxPixels, DefaultMediaMaxPixels) }

func orDefault[T int | int64](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

func (v *validator) posts(p Posts) {
	if p.MaxCharacters < 0 || p.MaxCharacters > MaxMaxCharacters {
		v.addf("posts.max_characters", "must be between 1 and %d (0: %d); got %d", MaxMaxCharacters, DefaultMaxCharacters, p.MaxCharacters)
	}
	if p.MediaMaxBytes != 0 && (p.MediaMaxBytes < 1024 || p.MediaMaxBytes > MaxMediaMaxBytes) {
		v.addf("posts.media_max_bytes", "must be between 1024 and %d (0: %d); got %d", MaxMediaMaxBytes, DefaultMediaMaxBytes, p.MediaMaxBytes)
	}
	if p.MediaMaxPixels != 0 && (p.MediaMaxPixels < 1_000_000 || p.MediaMaxPixels > MaxMediaMaxPixels) {
		v.addf("posts.media_max_pixels", "must be between 1000000 and %d (0: %d); got %d", MaxMediaMaxPixels, DefaultMediaMaxPixels, p.MediaMaxPixels)
	}
}
