package notice

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/passerelle/passerelle/config"
)

// catalogs are the shipped texts, by language then key
// (config.NoticeTextKeys). Placeholders are listed in Vars.
var catalogs = map[string]map[string]string{
	"en": {
		"title":             "{name} has left X",
		"message":           "We have left X on {date}. Follow us here.",
		"intro":             "{name} ({x_handle}) no longer posts on X. Our news goes on here, on networks that no single company owns: choose yours.",
		"fediverse_heading": "On Mastodon and the fediverse",
		"handle_label":      "Our address",
		"copy":              "Copy",
		"copied":            "Copied",
		"follow_label":      "Your server or your address",
		"follow_help":       "For example mastodon.social or @you@mastodon.social. We take you to your server, where you confirm the follow.",
		"follow_button":     "Follow",
		"bluesky_heading":   "On Bluesky",
		"bluesky_button":    "Follow @{bluesky_handle} on Bluesky",
		"qr_heading":        "On your phone",
		"qr_fediverse_alt":  "QR code of our fediverse profile: {url}",
		"qr_bluesky_alt":    "QR code of our Bluesky profile: {url}",
		"qr_svg":            "QR code as SVG",
		"posts_heading":     "Latest posts",
		"no_posts":          "No posts yet.",
		"language":          "Language",
		"error_invalid":     "“{input}” is not a server name. Type the name of your server, such as mastodon.social, or your full address, such as @you@mastodon.social.",
		"error_private":     "“{input}” cannot be used: type the public name of your server, such as mastodon.social.",
		"error_unreachable": "We could not reach {server}. Check the name of your server and try again.",
		"post":              "We have left X. Follow us on the fediverse: @{handle} and on Bluesky: @{bluesky_handle}\n{url}\n{hashtag}",
		"post_no_bluesky":   "We have left X. Follow us on the fediverse (Mastodon…): @{handle}\n{url}\n{hashtag}",
	},
	"fr": {
		"title":             "{name} a quitté X",
		"message":           "Nous avons quitté X le {date}. Suivez-nous ici.",
		"intro":             "{name} ({x_handle}) ne publie plus sur X. Nos actualités continuent ici, sur des réseaux qui n’appartiennent à aucune entreprise : choisissez le vôtre.",
		"fediverse_heading": "Sur Mastodon et le fédivers",
		"handle_label":      "Notre adresse",
		"copy":              "Copier",
		"copied":            "Copié",
		"follow_label":      "Votre serveur ou votre adresse",
		"follow_help":       "Par exemple mastodon.social ou @vous@mastodon.social. Nous vous emmenons sur votre serveur, où vous confirmez l’abonnement.",
		"follow_button":     "Suivre",
		"bluesky_heading":   "Sur Bluesky",
		"bluesky_button":    "Suivre @{bluesky_handle} sur Bluesky",
		"qr_heading":        "Sur votre téléphone",
		"qr_fediverse_alt":  "QR code de notre profil sur le fédivers : {url}",
		"qr_bluesky_alt":    "QR code de notre profil Bluesky : {url}",
		"qr_svg":            "QR code en SVG",
		"posts_heading":     "Dernières publications",
		"no_posts":          "Aucune publication pour l’instant.",
		"language":          "Langue",
		"error_invalid":     "« {input} » n’est pas un nom de serveur. Tapez le nom de votre serveur, par exemple mastodon.social, ou votre adresse complète, par exemple @vous@mastodon.social.",
		"error_private":     "« {input} » ne peut pas être utilisé : tapez le nom public de votre serveur, par exemple mastodon.social.",
		"error_unreachable": "Nous n’avons pas pu joindre {server}. Vérifiez le nom de votre serveur et réessayez.",
		"post":              "Nous avons quitté X. Suivez-nous sur le fédivers : @{handle} et sur Bluesky : @{bluesky_handle}\n{url}\n{hashtag}",
		"post_no_bluesky":   "Nous avons quitté X. Suivez-nous sur le fédivers (Mastodon…) : @{handle}\n{url}\n{hashtag}",
	},
}

// fallback is the language of last resort for a text.
const fallback = "en"

// ShippedLanguages are the languages whose every text is shipped.
func ShippedLanguages() []string { return []string{"en", "fr"} }

var months = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
}

// Vars are the values of the placeholders of the texts.
type Vars struct {
	Name          string // {name}: display name, or username
	XHandle       string // {x_handle}: "@VilleDeTest"
	Handle        string // {handle}: fediverse handle without "@"
	BlueskyHandle string // {bluesky_handle}: without "@"
	URL           string // {url}: the notice page
	Hashtag       string // {hashtag}
	LeftXOn       time.Time
}

// Texts are an account's notice texts in every language it offers.
type Texts struct {
	cfg     config.Notice
	langs   []string // offered languages, the default first
	matcher language.Matcher
}

// NewTexts builds the texts of one account's notice: the shipped languages
// plus every language the configuration adds.
func NewTexts(cfg config.Notice) *Texts {
	def := canonical(cfg.Language())
	langs := []string{def}
	add := func(l string) {
		if l = canonical(l); !slices.Contains(langs, l) {
			langs = append(langs, l)
		}
	}
	for _, l := range ShippedLanguages() {
		add(l)
	}
	var extra []string
	for l := range cfg.Message {
		extra = append(extra, l)
	}
	for l := range cfg.Texts {
		extra = append(extra, l)
	}
	slices.Sort(extra)
	for _, l := range extra {
		add(l)
	}
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.Make(l)
	}
	return &Texts{cfg: cfg, langs: langs, matcher: language.NewMatcher(tags)}
}

// canonical returns the canonical form of a BCP 47 tag ("pt-br" → "pt-BR").
func canonical(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	return t.String()
}

// Languages returns the offered languages, the default first.
func (t *Texts) Languages() []string { return slices.Clone(t.langs) }

// Default returns the default language.
func (t *Texts) Default() string { return t.langs[0] }

// Match picks the language for a visitor: explicit (the ?lang= switcher)
// when offered, else the best match for the Accept-Language header, else
// the default.
func (t *Texts) Match(explicit, acceptLanguage string) string {
	if explicit != "" {
		if l := canonical(explicit); slices.Contains(t.langs, l) {
			return l
		}
	}
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return t.langs[0]
	}
	_, i, conf := t.matcher.Match(prefs...)
	if conf == language.No {
		return t.langs[0]
	}
	return t.langs[i]
}

// chain lists where a text of lang is looked up: lang, its base language,
// then English.
func chain(lang string) []string {
	c := []string{lang}
	if base, _ := language.Make(lang).Base(); base.String() != lang {
		c = append(c, base.String())
	}
	if !slices.Contains(c, fallback) {
		c = append(c, fallback)
	}
	return c
}

// Raw returns the text of key in lang before placeholders are replaced:
// the configuration's override, else the shipped text, following lang,
// its base language, then English.
func (t *Texts) Raw(lang, key string) string {
	for _, l := range chain(lang) {
		if s, ok := t.override(l, key); ok {
			return s
		}
		if s, ok := catalogs[l][key]; ok {
			return s
		}
	}
	return ""
}

func (t *Texts) override(lang, key string) (string, bool) {
	for l, m := range t.cfg.Texts {
		if canonical(l) == lang {
			if s, ok := m[key]; ok {
				return s, true
			}
		}
	}
	if key == "message" {
		for l, s := range t.cfg.Message {
			if canonical(l) == lang {
				return s, true
			}
		}
	}
	return "", false
}

// Get returns the text of key in lang with its placeholders replaced.
// extra adds placeholders ("input", "server") for the error texts.
func (t *Texts) Get(lang, key string, v Vars, extra ...string) string {
	pairs := []string{
		"{name}", v.Name, "{x_handle}", v.XHandle, "{handle}", v.Handle,
		"{bluesky_handle}", v.BlueskyHandle, "{url}", v.URL, "{hashtag}", v.Hashtag,
		"{date}", FormatDate(lang, v.LeftXOn),
	}
	for i := 0; i+1 < len(extra); i += 2 {
		pairs = append(pairs, "{"+extra[i]+"}", extra[i+1])
	}
	return strings.NewReplacer(pairs...).Replace(t.Raw(lang, key))
}

// FormatDate writes a date the way lang does ("20 January 2025",
// "20 janvier 2025"); languages without shipped month names get ISO 8601.
func FormatDate(lang string, d time.Time) string {
	if d.IsZero() {
		return ""
	}
	base, _ := language.Make(lang).Base()
	m, ok := months[base.String()]
	if !ok {
		return d.Format(time.DateOnly)
	}
	day := fmt.Sprint(d.Day())
	if base.String() == "fr" && d.Day() == 1 {
		day = "1er"
	}
	return fmt.Sprintf("%s %s %d", day, m[d.Month()-1], d.Year())
}

// LanguageName is a language's name in itself ("Français"), for the
// switcher.
func LanguageName(lang string) string {
	t := language.Make(lang)
	if n := display.Self.Name(t); n != "" {
		r := []rune(n)
		return strings.ToUpper(string(r[:1])) + string(r[1:])
	}
	return lang
}

// Direction is "rtl" for languages written right to left, else "ltr".
func Direction(lang string) string {
	base, _ := language.Make(lang).Base()
	switch base.String() {
	case "ar", "he", "fa", "ur", "ps", "yi", "dv", "ckb":
		return "rtl"
	}
	return "ltr"
}

// OGLocale is lang as Open Graph writes locales: language_TERRITORY
// ("fr_FR"), the territory guessed when lang has none.
func OGLocale(lang string) string {
	t := language.Make(lang)
	base, _ := t.Base()
	region, _ := t.Region()
	if region.String() == "ZZ" {
		return base.String()
	}
	return base.String() + "_" + region.String()
}
