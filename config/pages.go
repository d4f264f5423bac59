package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Pages are the settings of an account's public pages: its profile, its
// posts, its hashtag pages, feeds and embeds (package web). Every key is
// optional.
type Pages struct {
	// DefaultLanguage is the pages' language when the visitor's browser
	// asks for none that they have. Empty: notice.default_language when
	// set, else the account's language when the pages have it (en, fr, or
	// a language of texts), else "en".
	DefaultLanguage string `yaml:"default_language"`
	// Texts override the pages' texts per language then per key (see
	// PageTextKeys); a language that is not shipped (en, fr) is added to
	// the pages, its missing texts in English.
	Texts LanguageTexts `yaml:"texts"`
	// Links are the links of every page's footer.
	Links PageLinks `yaml:"links"`
	// Accessibility fills the built-in accessibility statement
	// (/@USERNAME/accessibility), shown when links.accessibility is empty.
	Accessibility Accessibility `yaml:"accessibility"`
}

// PageLinks are the footer links of an account's pages: what EU public
// sector bodies must link from every page (accessibility statement, legal
// notice), the privacy notice, and the point of contact the Digital
// Services Act asks for. Empty: not shown (the accessibility statement is
// then the built-in page).
type PageLinks struct {
	Accessibility string `yaml:"accessibility"` // the institution's own statement (https URL)
	LegalNotice   string `yaml:"legal_notice"`  // https URL
	Privacy       string `yaml:"privacy"`       // https URL
	Contact       string `yaml:"contact"`       // https URL or mailto: address
}

// Accessibility is what the built-in accessibility statement says.
type Accessibility struct {
	// Status is the compliance with WCAG 2.1 AA (RGAA in France): full,
	// partial or none. Empty: none, as the law says of a site never
	// audited.
	Status string `yaml:"status"`
	// AuditedOn is the date of the audit, YYYY-MM-DD. Empty: not audited.
	AuditedOn string `yaml:"audited_on"`
	// NonCompliant lists the content that is not accessible, in the
	// institution's language.
	NonCompliant []string `yaml:"non_compliant"`
}

// Compliance statuses of an accessibility statement.
const (
	AccessibilityFull    = "full"
	AccessibilityPartial = "partial"
	AccessibilityNone    = "none"
)

// MaxPageTextLength bounds a page text and an item of non_compliant.
const MaxPageTextLength = 2000

// PageTextKeys are the texts of the pages that pages.texts may override
// (the shipped texts are in package web). Placeholders such as {name} are
// replaced when the text is shown; see config.example.yaml.
var PageTextKeys = []string{
	"skip", "home_title", "home_intro",
	"followers_one", "followers_other", "posts_one", "posts_other",
	"follow_heading", "follow_label", "follow_help", "follow_button",
	"error_invalid", "error_private", "error_unreachable",
	"pinned", "posts_heading", "no_posts", "older_posts", "edited", "published",
	"content_warning", "image_no_alt", "poll_ends", "poll_ended", "poll_voters", "poll_hidden", "moved", "language", "feeds", "feed_rss", "feed_atom",
	"profile_link", "tag_title", "tag_description", "post_title", "view_original",
	"footer_label", "footer_accessibility", "accessibility_full", "accessibility_partial", "accessibility_none",
	"footer_legal", "footer_privacy", "footer_contact",
	"error_title_400", "error_text_400", "error_title_404", "error_text_404",
	"error_title_410", "error_text_410", "error_title_429", "error_text_429",
	"error_title_500", "error_text_500", "error_home",
	"a11y_title", "a11y_intro", "a11y_status_heading", "a11y_status_full", "a11y_status_partial", "a11y_status_none",
	"a11y_audit", "a11y_no_audit", "a11y_non_compliant_heading", "a11y_built_in",
	"a11y_contact_heading", "a11y_contact", "a11y_contact_none", "a11y_recourse_heading", "a11y_recourse",
	"datetime", "months",
}

// PagesLanguage returns DefaultLanguage, or what it defaults to given the
// languages the pages have (has), as Pages.DefaultLanguage says.
func (a Account) PagesLanguage(has func(lang string) bool) string {
	if a.Pages.DefaultLanguage != "" {
		return a.Pages.DefaultLanguage
	}
	if a.Notice.DefaultLanguage != "" && has(a.Notice.DefaultLanguage) {
		return a.Notice.DefaultLanguage
	}
	if a.Language != "" && has(a.Language) {
		return a.Language
	}
	return DefaultNoticeLanguage
}

// AccessibilityStatus returns Status or its default.
func (a Accessibility) AccessibilityStatus() string {
	if a.Status == "" {
		return AccessibilityNone
	}
	return a.Status
}

// AuditDate returns AuditedOn as a date (zero when empty or invalid).
func (a Accessibility) AuditDate() time.Time {
	d, _ := time.Parse(time.DateOnly, a.AuditedOn)
	return d
}

func (v *validator) pagesAccounts(accounts []Account) {
	for i, a := range accounts {
		v.pages(fmt.Sprintf("accounts[%d].pages", i), a.Pages)
	}
}

func (v *validator) pages(key string, p Pages) {
	if p.DefaultLanguage != "" {
		v.languageTag(key+".default_language", p.DefaultLanguage)
	}
	for _, lang := range sortedKeys(p.Texts) {
		lk := key + ".texts." + lang
		v.languageTag(lk, lang)
		for _, k := range sortedKeys(p.Texts[lang]) {
			if !slices.Contains(PageTextKeys, k) {
				v.addf(lk+"."+k, "unknown text; the texts are %s%s", quoteAll(PageTextKeys), didYouMean(k, PageTextKeys))
				continue
			}
			if v.required(lk+"."+k, p.Texts[lang][k]) {
				v.maxLength(lk+"."+k, p.Texts[lang][k], MaxPageTextLength)
			}
		}
		if m, ok := p.Texts[lang]["months"]; ok && len(strings.Split(m, ",")) != 12 {
			v.addf(lk+".months", "must be the 12 month names separated by commas, such as \"January, February, ...\"")
		}
	}
	links := []struct{ name, value string }{
		{"accessibility", p.Links.Accessibility}, {"legal_notice", p.Links.LegalNotice},
		{"privacy", p.Links.Privacy}, {"contact", p.Links.Contact},
	}
	for _, l := range links {
		if l.value == "" {
			continue
		}
		if !validPageLink(l.value, l.name == "contact") {
			what := "an http(s) URL such as \"https://city.example/legal\""
			if l.name == "contact" {
				what = "an http(s) URL or a mailto: address such as \"mailto:web@city.example\""
			}
			v.addf(key+".links."+l.name, "must be %s; got %s", what, quote(l.value))
		}
	}
	a := p.Accessibility
	statusOK := true
	if a.Status != "" {
		statusOK = v.oneOf(key+".accessibility.status", a.Status, []string{AccessibilityFull, AccessibilityPartial, AccessibilityNone})
	}
	if a.AuditedOn != "" {
		if _, err := time.Parse(time.DateOnly, a.AuditedOn); err != nil {
			v.addf(key+".accessibility.audited_on", "must be a date written YYYY-MM-DD, such as \"2026-11-03\"; got %s", quote(a.AuditedOn))
		}
	}
	if statusOK && a.Status != "" && a.Status != AccessibilityNone && a.AuditedOn == "" {
		v.addf(key+".accessibility.audited_on", "required when status is %s: a compliance status comes from an audit", quote(a.Status))
	}
	for i, item := range a.NonCompliant {
		ik := fmt.Sprintf("%s.accessibility.non_compliant[%d]", key, i)
		if v.required(ik, item) {
			v.maxLength(ik, item, MaxPageTextLength)
		}
	}
}

// validPageLink reports whether s is an absolute http(s) URL with a host
// (or, when mailto is true, a mailto: address).
func validPageLink(s string, mailto bool) bool {
	u, err := url.Parse(s)
	if err != nil || strings.TrimSpace(s) != s {
		return false
	}
	if mailto && u.Scheme == "mailto" {
		return u.Opaque != "" && strings.Contains(u.Opaque, "@")
	}
	return (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}
