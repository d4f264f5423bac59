package notice

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
)

func TestCatalogsHaveEveryKey(t *testing.T) {
	want := slices.Sorted(slices.Values(config.NoticeTextKeys))
	for lang, texts := range catalogs {
		var got []string
		for k := range texts {
			got = append(got, k)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("catalog %s has keys %v, want config.NoticeTextKeys %v", lang, got, want)
		}
	}
	for _, l := range ShippedLanguages() {
		if _, ok := catalogs[l]; !ok {
			t.Errorf("shipped language %s has no catalog", l)
		}
	}
}

func TestMatch(t *testing.T) {
	en := NewTexts(config.Notice{})
	fr := NewTexts(config.Notice{DefaultLanguage: "fr", Message: config.Texts{"de": "Wir haben X verlassen."}})
	tests := []struct {
		name     string
		texts    *Texts
		explicit string
		accept   string
		want     string
	}{
		{name: "no header: default", texts: en, want: "en"},
		{name: "no header: configured default", texts: fr, want: "fr"},
		{name: "French browser", texts: en, accept: "fr-FR,fr;q=0.9,en;q=0.8", want: "fr"},
		{name: "English browser on a French default", texts: fr, accept: "en-US,en;q=0.5", want: "en"},
		{name: "q-values decide", texts: en, accept: "en;q=0.2, fr;q=0.9", want: "fr"},
		{name: "regional variant", texts: en, accept: "fr-CA", want: "fr"},
		{name: "added language", texts: fr, accept: "de-AT, en;q=0.1", want: "de"},
		{name: "unknown language: default", texts: fr, accept: "ja", want: "fr"},
		{name: "garbage header: default", texts: fr, accept: ";;;q=x", want: "fr"},
		{name: "switcher wins", texts: en, explicit: "fr", accept: "en", want: "fr"},
		{name: "switcher case-insensitive", texts: fr, explicit: "DE", want: "de"},
		{name: "switcher to a language not offered: header", texts: en, explicit: "ja", accept: "fr", want: "fr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.texts.Match(tt.explicit, tt.accept); got != tt.want {
				t.Errorf("Match(%q, %q) = %q, want %q", tt.explicit, tt.accept, got, tt.want)
			}
		})
	}
	if got := fr.Languages(); !slices.Equal(got, []string{"fr", "en", "de"}) {
		t.Errorf("Languages = %v", got)
	}
}

func TestGet(t *testing.T) {
	texts := NewTexts(config.Notice{
		Message: config.Texts{"de": "Wir haben X am {date} verlassen.", "en": "Bye X ({date})."},
		Texts: config.LanguageTexts{
			"fr":    {"follow_button": "S’abonner"},
			"de":    {"copy": "Kopieren"},
			"fr-CA": {"copy": "Copier!"},
		},
	})
	v := Vars{Name: "Ville de Test", XHandle: "@VilleDeTest", Handle: "news@city.example", LeftXOn: time.Date(2025, 1, 20, 0, 0, 0, 0, time.UTC)}
	tests := []struct {
		name, lang, key, want string
	}{
		{name: "shipped French", lang: "fr", key: "message", want: "Nous avons quitté X le 20 janvier 2025. Suivez-nous ici."},
		{name: "English message overridden", lang: "en", key: "message", want: "Bye X (20 January 2025)."},
		{name: "added language message, ISO date", lang: "de", key: "message", want: "Wir haben X am 2025-01-20 verlassen."},
		{name: "added language text", lang: "de", key: "copy", want: "Kopieren"},
		{name: "added language falls back to English", lang: "de", key: "follow_button", want: "Follow"},
		{name: "override of a shipped text", lang: "fr", key: "follow_button", want: "S’abonner"},
		{name: "regional variant then its base language", lang: "fr-CA", key: "language", want: "Langue"},
		{name: "regional variant override", lang: "fr-CA", key: "copy", want: "Copier!"},
		{name: "placeholders", lang: "en", key: "intro", want: "Ville de Test (@VilleDeTest) no longer posts on X. Our news goes on here, on networks that no single company owns: choose yours."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := texts.Get(tt.lang, tt.key, v); got != tt.want {
				t.Errorf("Get(%s, %s) = %q, want %q", tt.lang, tt.key, got, tt.want)
			}
		})
	}
	if got := texts.Get("en", "error_unreachable", v, "server", "mastodon.example"); !strings.Contains(got, "mastodon.example") {
		t.Errorf("extra placeholder not replaced: %q", got)
	}
}

func TestFormatDateAndNames(t *testing.T) {
	d := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range []struct{ lang, want string }{
		{"en", "1 March 2025"}, {"en-GB", "1 March 2025"}, {"fr", "1er mars 2025"}, {"ja", "2025-03-01"},
	} {
		if got := FormatDate(tt.lang, d); got != tt.want {
			t.Errorf("FormatDate(%s) = %q, want %q", tt.lang, got, tt.want)
		}
	}
	for _, tt := range []struct{ lang, want string }{{"fr", "Français"}, {"en", "English"}, {"de", "Deutsch"}} {
		if got := LanguageName(tt.lang); got != tt.want {
			t.Errorf("LanguageName(%s) = %q, want %q", tt.lang, got, tt.want)
		}
	}
	if Direction("ar") != "rtl" || Direction("fr") != "ltr" {
		t.Error("Direction")
	}
}
