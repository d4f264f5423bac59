package notice

import (
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
)

func TestXLength(t *testing.T) {
	tests := []struct {
		name string
		text string
		want int
	}{
		{name: "empty", text: "", want: 0},
		{name: "ASCII", text: "We have left X.", want: 15},
		{name: "accents weigh 1", text: "Nous avons quitté X", want: 19},
		{name: "decomposed accents are normalised first", text: "quitte\u0301", want: 6},
		{name: "URL weighs 23", text: "https://social.city.example/x/news", want: 23},
		{name: "short URL weighs 23 too", text: "see http://a.example", want: 27},
		{name: "bare domain counts at least 23", text: "city.example", want: 23},
		{name: "handle's domain is not a link", text: "@news@social.city.example", want: 25},
		{name: "hashtag", text: "#eXit", want: 5},
		{name: "CJK weigh 2", text: "日本語", want: 6},
		{name: "emoji weighs 2", text: "👋", want: 2},
		{name: "ZWJ family is one emoji", text: "👨‍👩‍👧", want: 2},
		{name: "flag is one emoji", text: "🇫🇷", want: 2},
		{name: "keycap", text: "1️⃣", want: 2},
		{name: "dashes weigh 1, the ellipsis 2", text: "a–b…", want: 5},
		{name: "typographic apostrophe weighs 1", text: "l’été", want: 5},
		{name: "arrow weighs 2", text: "→", want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := XLength(tt.text); got != tt.want {
				t.Errorf("XLength(%q) = %d, want %d", tt.text, got, tt.want)
			}
		})
	}
}

func TestPostText(t *testing.T) {
	v := Vars{
		Name: "Ville de Test", XHandle: "@VilleDeTest", Handle: "news@social.city.example",
		BlueskyHandle: "villedetest.bsky.social", URL: "https://social.city.example/x/news", Hashtag: "#eXit",
		LeftXOn: time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC),
	}
	texts := NewTexts(config.Notice{})
	for _, lang := range ShippedLanguages() {
		t.Run(lang, func(t *testing.T) {
			got, err := texts.PostText(lang, v)
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"@news@social.city.example", "@villedetest.bsky.social", v.URL, "#eXit"} {
				if !strings.Contains(got, want) {
					t.Errorf("post %q lacks %q", got, want)
				}
			}
			if n := XLength(got); n > MaxXWeightedLength {
				t.Errorf("post is %d long", n)
			}
			noBsky := v
			noBsky.BlueskyHandle, noBsky.Hashtag = "", ""
			got, err = texts.PostText(lang, noBsky)
			if err != nil || strings.Contains(got, "Bluesky") || strings.HasSuffix(got, "\n") {
				t.Errorf("post without Bluesky nor hashtag = %q, %v", got, err)
			}
		})
	}
	// Long (but real-world) handles still fit.
	long := v
	long.Handle = strings.Repeat("n", 30) + "@" + strings.Repeat("d", 32) + ".example"
	long.BlueskyHandle = strings.Repeat("b", 28) + ".bsky.social"
	long.Hashtag = "#" + strings.Repeat("h", 30)
	for _, lang := range ShippedLanguages() {
		if got, err := texts.PostText(lang, long); err != nil {
			t.Errorf("%s: long handles: %v (%d)", lang, err, XLength(got))
		}
	}
	// An override that is too long is refused with a hint.
	tooLong := NewTexts(config.Notice{Texts: config.LanguageTexts{"en": {"post": strings.Repeat("あ", 141)}}})
	if _, err := tooLong.PostText("en", v); err == nil || !strings.Contains(err.Error(), "notice.texts.en.post") {
		t.Errorf("too long post: err = %v", err)
	}
}
