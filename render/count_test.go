package render

import (
	"strings"
	"testing"
)

func TestCountCharacters(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want int
	}{
		{"empty", "", 0},
		{"ASCII", "Hello, city!", 12},
		{"short URL counts 23", "https://a.example", 23},
		{"long URL counts 23", "https://example.com/" + strings.Repeat("a", 200), 23},
		{"URL with text", "See https://example.com/x.", 4 + 23 + 1},
		{"two URLs", "https://a.example https://b.example", 23 + 1 + 23},
		{"not a URL without TLD", "http://localhost/", 17},
		{"not a URL after a letter", "xhttps://example.com", 20},
		{"remote mention counts as @user", "@alice@remote.example", 6},
		{"local mention", "@news", 5},
		{"mention and text", "Hi @alice@remote.example!", 3 + 6 + 1},
		{"e-mail counts in full", "news@city.example", 17},
		{"hashtag counts in full", "#OpenData", 9},
		{"accented letter", "é", 1},
		{"combining accent is one character", "e\u0301", 1},
		{"flag is one character", "🇫🇷", 1},
		{"skin tone is one character", "👍🏽", 1},
		{"ZWJ family is one character", "👩\u200d👩\u200d👧", 1},
		{"CJK", "日本語", 3},
		{"Devanagari vowel sign", "कि", 1},
		{"CRLF is one character", "a\r\nb", 3},
		{"newline", "a\nb", 3},
		{"500 characters", strings.Repeat("x", 500), 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CountCharacters(tt.in); got != tt.want {
				t.Errorf("CountCharacters(%q) = %d, want %d", tt.in, got, tt.want)
			}
		})
	}
}
