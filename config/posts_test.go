package config

import (
	"strings"
	"testing"
)

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
