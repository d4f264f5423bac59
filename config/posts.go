package config

import "time"

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
	// VideoMaxBytes is the largest video upload (mp4, mov, WebM).
	VideoMaxBytes int64 `yaml:"video_max_bytes"`
	// VideoMaxDuration is the longest video.
	VideoMaxDuration Duration `yaml:"video_max_duration"`
	// Polls limits the polls of posts (Mastodon's defaults); clients read
	// them from the instance endpoints (configuration.polls).
	Polls Polls `yaml:"polls"`
}

// Polls limits the polls of posts. Zero values take the defaults.
type Polls struct {
	MaxOptions             int `yaml:"max_options"`               // default 4
	MaxCharactersPerOption int `yaml:"max_characters_per_option"` // default 50
	MinExpiration          int `yaml:"min_expiration"`            // seconds, default 300
	MaxExpiration          int `yaml:"max_expiration"`            // seconds, default 2629746 (a month)
}

// Poll limits: defaults and ranges.
const (
	DefaultPollMaxOptions    = 4
	DefaultPollMaxCharacters = 50
	DefaultPollMinExpiration = 300
	DefaultPollMaxExpiration = 2629746
	MaxPollMaxOptions        = 20
	MaxPollMaxCharacters     = 1000
	MaxPollMaxExpiration     = 31556952 // a year
)

// Options returns MaxOptions or its default.
func (p Polls) Options() int { return orDefault(p.MaxOptions, DefaultPollMaxOptions) }

// Characters returns MaxCharactersPerOption or its default.
func (p Polls) Characters() int { return orDefault(p.MaxCharactersPerOption, DefaultPollMaxCharacters) }

// MinSeconds returns MinExpiration or its default.
func (p Polls) MinSeconds() int { return orDefault(p.MinExpiration, DefaultPollMinExpiration) }

// MaxSeconds returns MaxExpiration or its default.
func (p Polls) MaxSeconds() int { return orDefault(p.MaxExpiration, DefaultPollMaxExpiration) }

// Post limits: defaults and ranges.
const (
	DefaultMaxCharacters  = 500
	DefaultMediaMaxBytes  = 16 << 20
	DefaultMediaMaxPixels = 40_000_000
	MaxMaxCharacters      = 100_000
	MaxMediaMaxBytes      = 100 << 20
	MaxMediaMaxPixels     = 200_000_000

	DefaultVideoMaxBytes    = 100 << 20
	DefaultVideoMaxDuration = 3 * time.Minute
	MaxVideoMaxBytes        = 1 << 30
	MaxVideoMaxDuration     = 30 * time.Minute
)

// VideoBytes returns VideoMaxBytes or its default.
func (p Posts) VideoBytes() int64 { return orDefault(p.VideoMaxBytes, DefaultVideoMaxBytes) }

// VideoDuration returns VideoMaxDuration or its default.
func (p Posts) VideoDuration() time.Duration {
	if p.VideoMaxDuration == 0 {
		return DefaultVideoMaxDuration
	}
	return p.VideoMaxDuration.Duration()
}

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
	if p.VideoMaxBytes != 0 && (p.VideoMaxBytes < 1024 || p.VideoMaxBytes > MaxVideoMaxBytes) {
		v.addf("posts.video_max_bytes", "must be between 1024 and %d (0: %d); got %d", MaxVideoMaxBytes, DefaultVideoMaxBytes, p.VideoMaxBytes)
	}
	if d := p.VideoMaxDuration.Duration(); d != 0 && (d < time.Second || d > MaxVideoMaxDuration) {
		v.addf("posts.video_max_duration", "must be between 1s and %s (0: %s); got %s", MaxVideoMaxDuration, DefaultVideoMaxDuration, d)
	}
	pl := p.Polls
	if pl.MaxOptions != 0 && (pl.MaxOptions < 2 || pl.MaxOptions > MaxPollMaxOptions) {
		v.addf("posts.polls.max_options", "must be between 2 and %d (0: %d); got %d", MaxPollMaxOptions, DefaultPollMaxOptions, pl.MaxOptions)
	}
	if pl.MaxCharactersPerOption < 0 || pl.MaxCharactersPerOption > MaxPollMaxCharacters {
		v.addf("posts.polls.max_characters_per_option", "must be between 1 and %d (0: %d); got %d", MaxPollMaxCharacters, DefaultPollMaxCharacters, pl.MaxCharactersPerOption)
	}
	if pl.MinExpiration < 0 || (pl.MinExpiration != 0 && pl.MinExpiration < 60) {
		v.addf("posts.polls.min_expiration", "must be at least 60 seconds (0: %d); got %d", DefaultPollMinExpiration, pl.MinExpiration)
	}
	if pl.MaxExpiration < 0 || pl.MaxExpiration > MaxPollMaxExpiration {
		v.addf("posts.polls.max_expiration", "must be at most %d seconds (0: %d); got %d", MaxPollMaxExpiration, DefaultPollMaxExpiration, pl.MaxExpiration)
	} else if pl.MinSeconds() > pl.MaxSeconds() {
		v.addf("posts.polls.max_expiration", "must not be below posts.polls.min_expiration (%d); got %d", pl.MinSeconds(), pl.MaxSeconds())
	}
}
