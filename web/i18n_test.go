package web

import (
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
)

// Every shipped language has every text, and only known ones.
func TestPageCatalogsComplete(t *testing.T) {
	for lang, texts := range pageCatalogs {
		for _, k := range config.PageTextKeys {
			if texts[k] == "" {
				t.Errorf("%s lacks %q", lang, k)
			}
		}
		for k := range texts {
			if !slices.Contains(config.PageTextKeys, k) {
				t.Errorf("%s has %q, which is not in config.PageTextKeys", lang, k)
			}
		}
	}
}

func TestNumbersDatesAndPlurals(t *testing.T) {
	loc := newLocale(config.Account{Pages: config.Pages{Texts: config.LanguageTexts{"de": {"followers_one": "{n} Follower", "followers_other": "{n} Follower"}}}})
	d := time.Date(2025, 1, 1, 14, 5, 0, 0, time.UTC)
	tests := []struct {
		lang string
		n    int64
		want string
		date string
	}{
		{"en", 0, "0 followers", "1 January 2025 at 14:05 UTC"},
		{"en", 1, "1 follower", ""},
		{"en", 1234567, "1,234,567 followers", ""},
		{"fr", 0, "0 abonné", "1er janvier 2025 à 14:05 UTC"},
		{"fr", 1, "1 abonné", ""},
		{"fr", 2, "2 abonnés", ""},
		{"fr", 1234567, "1\u00a0234\u00a0567 abonnés", ""},
		{"de", 1234, "1.234 Follower", "1 January 2025 at 14:05 UTC"}, // German texts lack months: English ones
	}
	for _, tt := range tests {
		tr := loc.in(tt.lang)
		if got := tr.Count("followers", tt.n); got != tt.want {
			t.Errorf("%s Count(%d) = %q, want %q", tt.lang, tt.n, got, tt.want)
		}
		if tt.date != "" {
			if got := tr.DateTime(d); got != tt.date {
				t.Errorf("%s DateTime = %q, want %q", tt.lang, got, tt.date)
			}
		}
	}
}

func TestLanguageMatch(t *testing.T) {
	loc := newLocale(config.Account{Pages: config.Pages{DefaultLanguage: "fr"}})
	tests := []struct {
		name, explicit, accept, want string
	}{
		{"default", "", "", "fr"},
		{"header", "", "en-GB,en;q=0.8", "en"},
		{"regional variant of an offered one", "", "fr-CA", "fr"},
		{"explicit", "en", "fr", "en"},
		{"explicit, other case", "EN", "", "en"},
		{"explicit not offered", "de", "en", "en"},
		{"explicit junk", "<script>", "", "fr"},
		{"explicit overlong", "en-" + string(make([]byte, 40)), "", "fr"},
		{"header junk", "", "\x00\x01;q=;;", "fr"},
		{"header of unknown languages", "", "ja,zh;q=0.9", "fr"},
	}
	for _, tt := range tests {
		if got := loc.match(tt.explicit, tt.accept); got != tt.want {
			t.Errorf("%s: match(%q, %q) = %q, want %q", tt.name, tt.explicit, tt.accept, got, tt.want)
		}
	}
}
