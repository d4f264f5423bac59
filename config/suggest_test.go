package config

import "testing"

func TestSuggest(t *testing.T) {
	keys := []string{"public_url", "listen", "tls"}
	tests := []struct {
		in         string
		candidates []string
		want       string
	}{
		{"listne", keys, "listen"},
		{"Listen", keys, "listen"},
		{"public-url", keys, "public_url"},
		{"publicurl", keys, "public_url"},
		{"tsl", keys, "tls"},
		{"colour", keys, ""},
		{"x", keys, ""},
		{"warning", []string{"debug", "info", "warn", "error"}, "warn"},
		{"org", []string{"Organization", "Person"}, "Organization"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := suggest(tt.in, tt.candidates); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestEditDistance(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"listen", "listen", 0},
		{"listne", "listen", 1}, {"kitten", "sitting", 3}, {"é", "e", 1},
	}
	for _, tt := range tests {
		t.Run(tt.a+"/"+tt.b, func(t *testing.T) {
			if got := editDistance(tt.a, tt.b); got != tt.want {
				t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
		})
	}
}
