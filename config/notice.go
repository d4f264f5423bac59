package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Notice is an account's X exit notice: the page at /x/USERNAME that the
// institution links from its inactive X account, and the text of its last
// post on X. The notice is enabled when any of its keys is set; x_handle and
// left_x_on are then required.
type Notice struct {
	// XHandle is the account's handle on X, "@VilleDeTest".
	XHandle string `yaml:"x_handle"`
	// LeftXOn is the date the institution stopped posting on X, YYYY-MM-DD.
	LeftXOn string `yaml:"left_x_on"`
	// Message overrides the page's headline per language (BCP 47 tag →
	// text); a language that is not shipped (en, fr) is added to the page.
	Message Texts `yaml:"message"`
	// Texts overrides any other text of the page or of the X post, per
	// language then per key (see NoticeTextKeys).
	Texts LanguageTexts `yaml:"texts"`
	// DefaultLanguage is the page's language when the visitor's browser asks
	// for none that the page has. Empty: "en".
	DefaultLanguage string `yaml:"default_language"`
	// Home serves this notice at / as well (at most one account).
	Home bool `yaml:"home"`
	// Hashtag ends the X post, "#eXit". Empty: none.
	Hashtag string `yaml:"hashtag"`
	// BlueskyHandle is the account's Bluesky handle ("city.bsky.social"),
	// shown with a follow button and a QR code. Empty: no Bluesky section.
	BlueskyHandle string `yaml:"bluesky_handle"`
	// XAPI lets `bridge x notice --post` post the last post through the X
	// API. Empty: the command only prints the text.
	XAPI XAPI `yaml:"x_api"`
}

// XAPI holds the OAuth 1.0a user-context keys of the X API v2 ("Keys and
// tokens" of an app in the X developer portal, with read and write
// permission). Write the secrets as ${VAR} or ${file:...} references.
type XAPI struct {
	// BaseURL is the API's base URL. Empty: DefaultXAPIBaseURL.
	BaseURL           string `yaml:"base_url"`
	ConsumerKey       string `yaml:"consumer_key"`
	ConsumerSecret    string `yaml:"consumer_secret"`
	AccessToken       string `yaml:"access_token"`
	AccessTokenSecret string `yaml:"access_token_secret"`
}

// Notice defaults and limits.
const (
	DefaultXAPIBaseURL     = "https://api.x.com"
	DefaultNoticeLanguage  = "en"
	MaxXHandleLength       = 15 // X's limit, without the "@"
	MaxNoticeTextLength    = 1000
	MaxHashtagLength       = 100
	MaxBlueskyHandleLength = 253
)

// NoticeTextKeys are the texts of the notice page and of the X post that
// notice.texts may override. Placeholders such as {name} are replaced when
// the text is shown; see config.example.yaml.
var NoticeTextKeys = []string{
	"title", "message", "intro",
	"fediverse_heading", "handle_label", "copy", "copied",
	"follow_label", "follow_help", "follow_button",
	"bluesky_heading", "bluesky_button",
	"qr_heading", "qr_fediverse_alt", "qr_bluesky_alt", "qr_svg",
	"posts_heading", "no_posts", "language",
	"error_invalid", "error_private", "error_unreachable",
	"post", "post_no_bluesky",
}

// Texts maps a BCP 47 language tag to a text.
type Texts map[string]string

// UnmarshalYAML decodes a mapping of strings. Values are taken literally:
// ${...} references are not expanded in them.
func (t *Texts) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of language tags to texts, such as {fr: \"...\", en: \"...\"}, got %s", describe(n))
	}
	m := Texts{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("the value of %s must be a text, got %s", quote(k.Value), describe(v))
		}
		if _, dup := m[k.Value]; dup {
			return fmt.Errorf("duplicate key %s", quote(k.Value))
		}
		m[k.Value] = v.Value
	}
	*t = m
	return nil
}

// LanguageTexts maps a BCP 47 language tag to texts by key.
type LanguageTexts map[string]map[string]string

// UnmarshalYAML decodes a mapping of mappings of strings, taken literally.
func (t *LanguageTexts) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of language tags to texts by key, such as {en: {follow_button: \"Follow\"}}, got %s", describe(n))
	}
	m := LanguageTexts{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		var texts Texts
		if err := texts.UnmarshalYAML(n.Content[i+1]); err != nil {
			return fmt.Errorf("%s: %w", k.Value, err)
		}
		if _, dup := m[k.Value]; dup {
			return fmt.Errorf("duplicate key %s", quote(k.Value))
		}
		m[k.Value] = texts
	}
	*t = m
	return nil
}

// Enabled reports whether the account has a notice page.
func (n Notice) Enabled() bool {
	return n.XHandle != "" || n.LeftXOn != "" || len(n.Message) > 0 || len(n.Texts) > 0 ||
		n.DefaultLanguage != "" || n.Home || n.Hashtag != "" || n.BlueskyHandle != "" || n.XAPI != (XAPI{})
}

// LeftXDate returns LeftXOn as a date (zero when invalid).
func (n Notice) LeftXDate() time.Time {
	d, _ := time.Parse(time.DateOnly, n.LeftXOn)
	return d
}

// Language returns DefaultLanguage or its default.
func (n Notice) Language() string {
	if n.DefaultLanguage == "" {
		return DefaultNoticeLanguage
	}
	return n.DefaultLanguage
}

// Bluesky returns the Bluesky handle without a leading "@", lower-cased;
// empty when there is none.
func (n Notice) Bluesky() string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(n.BlueskyHandle), "@"))
}

// NoticeBlueskyHandle is the Bluesky handle the notice shows:
// notice.bluesky_handle, else bluesky.identifier when it is a handle (not
// a DID); empty when there is none.
func (a Account) NoticeBlueskyHandle() string {
	if h := a.Notice.Bluesky(); h != "" {
		return h
	}
	id := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(a.Bluesky.Identifier), "@"))
	if id != "" && !strings.HasPrefix(id, "did:") && validBlueskyHandle(id) {
		return id
	}
	return ""
}

// Configured reports whether all four keys are set.
func (x XAPI) Configured() bool {
	return x.ConsumerKey != "" && x.ConsumerSecret != "" && x.AccessToken != "" && x.AccessTokenSecret != ""
}

// URL returns BaseURL or its default, without a trailing slash.
func (x XAPI) URL() string {
	if x.BaseURL == "" {
		return DefaultXAPIBaseURL
	}
	return strings.TrimRight(x.BaseURL, "/")
}

// notices checks every account's notice, and that at most one is the home
// page.
func (v *validator) notices(accounts []Account) {
	home := -1
	for i, a := range accounts {
		key := fmt.Sprintf("accounts[%d].notice", i)
		if !a.Notice.Enabled() {
			continue
		}
		v.notice(key, a.Notice)
		if a.Notice.Home {
			if home >= 0 {
				v.addf(key+".home", "only one account's notice can be the home page; accounts[%d] already has home: true", home)
			} else {
				home = i
			}
		}
	}
}

func (v *validator) notice(key string, n Notice) {
	if v.required(key+".x_handle", n.XHandle) && !validXHandle(n.XHandle) {
		v.addf(key+".x_handle", "must be an X handle such as \"@VilleDeTest\": \"@\" then 1 to %d letters, digits or underscores; got %s", MaxXHandleLength, quote(n.XHandle))
	}
	if v.required(key+".left_x_on", n.LeftXOn) {
		if _, err := time.Parse(time.DateOnly, n.LeftXOn); err != nil {
			v.addf(key+".left_x_on", "must be a date written YYYY-MM-DD, such as \"2025-01-20\"; got %s", quote(n.LeftXOn))
		}
	}
	for _, lang := range sortedKeys(n.Message) {
		lk := key + ".message." + lang
		v.languageTag(lk, lang)
		if v.required(lk, n.Message[lang]) {
			v.maxLength(lk, n.Message[lang], MaxNoticeTextLength)
		}
	}
	for _, lang := range sortedKeys(n.Texts) {
		lk := key + ".texts." + lang
		v.languageTag(lk, lang)
		for _, k := range sortedKeys(n.Texts[lang]) {
			if !slices.Contains(NoticeTextKeys, k) {
				v.addf(lk+"."+k, "unknown text; the texts are %s%s", quoteAll(NoticeTextKeys), didYouMean(k, NoticeTextKeys))
				continue
			}
			if v.required(lk+"."+k, n.Texts[lang][k]) {
				v.maxLength(lk+"."+k, n.Texts[lang][k], MaxNoticeTextLength)
			}
		}
	}
	if n.DefaultLanguage != "" {
		v.languageTag(key+".default_language", n.DefaultLanguage)
	}
	if n.Hashtag != "" && !validHashtag(n.Hashtag) {
		v.addf(key+".hashtag", "must be a hashtag such as \"#eXit\": \"#\" then at most %d letters, digits or underscores, not only digits; got %s", MaxHashtagLength, quote(n.Hashtag))
	}
	if n.BlueskyHandle != "" && !validBlueskyHandle(n.Bluesky()) {
		v.addf(key+".bluesky_handle", "must be a Bluesky handle such as \"city.bsky.social\" or \"city.example\"; got %s", quote(n.BlueskyHandle))
	}
	v.xAPI(key+".x_api", n.XAPI)
}

func (v *validator) xAPI(key string, x XAPI) {
	if x.BaseURL != "" {
		u, err := url.Parse(x.BaseURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" {
			v.addf(key+".base_url", "must be an http(s) URL such as %s; got %s", quote(DefaultXAPIBaseURL), quote(x.BaseURL))
		}
	}
	keys := []struct{ name, value string }{
		{"consumer_key", x.ConsumerKey}, {"consumer_secret", x.ConsumerSecret},
		{"access_token", x.AccessToken}, {"access_token_secret", x.AccessTokenSecret},
	}
	var set, missing []string
	for _, k := range keys {
		if k.value == "" {
			missing = append(missing, k.name)
		} else {
			set = append(set, k.name)
		}
	}
	if len(set) > 0 && len(missing) > 0 {
		for _, m := range missing {
			// Secrets are never printed, only named.
			v.addf(key+"."+m, "required when %s is set (the four OAuth 1.0a keys go together)", strings.Join(set, ", "))
		}
	}
}

// languageTag checks a BCP 47 language tag such as "fr" or "pt-BR".
func (v *validator) languageTag(key, tag string) {
	if _, err := language.Parse(tag); err != nil || strings.TrimSpace(tag) != tag || tag == "" {
		v.addf(key, "%s is not a BCP 47 language tag such as \"fr\", \"en\" or \"pt-BR\"", quote(tag))
	}
}

// validXHandle reports whether s is "@" and 1 to 15 of [A-Za-z0-9_].
func validXHandle(s string) bool {
	name, ok := strings.CutPrefix(s, "@")
	if !ok || name == "" || len(name) > MaxXHandleLength {
		return false
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// validHashtag reports whether s is "#" and letters, digits, marks or
// underscores, not only digits.
func validHashtag(s string) bool {
	tag, ok := strings.CutPrefix(s, "#")
	if !ok || tag == "" || utf8.RuneCountInString(tag) > MaxHashtagLength {
		return false
	}
	digits := true
	for _, r := range tag {
		switch {
		case unicode.IsDigit(r):
		case unicode.IsLetter(r) || unicode.IsMark(r) || r == '_':
			digits = false
		default:
			return false
		}
	}
	return !digits
}

// validBlueskyHandle reports whether s (lower-cased, without "@") is an AT
// Protocol handle: a host name of at least two labels whose last label
// starts with a letter.
func validBlueskyHandle(s string) bool {
	if len(s) > MaxBlueskyHandleLength || !validHostname(s) {
		return false
	}
	i := strings.LastIndexByte(s, '.')
	if i < 0 {
		return false
	}
	tld := s[i+1:]
	return tld != "" && 'a' <= tld[0] && tld[0] <= 'z'
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
