package config

import (
	"strings"
	"testing"
	"time"
)

func TestVideoLimits(t *testing.T) {
	if p := (Posts{}); p.VideoBytes() != 100<<20 || p.VideoDuration() != 3*time.Minute {
		t.Errorf("defaults %d, %s; want 100 MiB, 3m", p.VideoBytes(), p.VideoDuration())
	}
	p := Posts{VideoMaxBytes: 50 << 20, VideoMaxDuration: Duration(time.Minute)}
	var v validator
	v.posts(p)
	if err := joinProblems(v.problems); err != nil || p.VideoBytes() != 50<<20 || p.VideoDuration() != time.Minute {
		t.Errorf("set: %v, %d, %s", err, p.VideoBytes(), p.VideoDuration())
	}
}

func TestPostsLimits(t *testing.T) {
	tests := []struct {
		name    string
		posts   Posts
		problem string // empty: valid
		chars   int
		bytes   int64
	}{
		{"defaults", Posts{}, "", DefaultMaxCharacters, DefaultMediaMaxBytes},
		{"set", Posts{MaxCharacters: 5000, MediaMaxBytes: 8 << 20}, "", 5000, 8 << 20},
		{"negative characters", Posts{MaxCharacters: -1}, "posts.max_characters", 0, 0},
		{"tiny uploads", Posts{MediaMaxBytes: 10}, "posts.media_max_bytes", 0, 0},
		{"huge images", Posts{MediaMaxPixels: 1 << 40}, "posts.media_max_pixels", 0, 0},
		{"tiny videos", Posts{VideoMaxBytes: 10}, "posts.video_max_bytes", 0, 0},
		{"huge videos", Posts{VideoMaxBytes: 2 << 30}, "posts.video_max_bytes", 0, 0},
		{"instant videos", Posts{VideoMaxDuration: Duration(time.Millisecond)}, "posts.video_max_duration", 0, 0},
		{"endless videos", Posts{VideoMaxDuration: Duration(time.Hour)}, "posts.video_max_duration", 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var v validator
			v.posts(tc.posts)
			err := joinProblems(v.problems)
			if tc.problem == "" {
				if err != nil {
					t.Fatal(err)
				}
				if tc.posts.Characters() != tc.chars || tc.posts.MediaBytes() != tc.bytes {
					t.Errorf("limits %d, %d; want %d, %d", tc.posts.Characters(), tc.posts.MediaBytes(), tc.chars, tc.bytes)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("err %v, want a problem with %s", err, tc.problem)
			}
		})
	}
}
