package config

import (
	"strings"
	"testing"
)

func TestValidatePages(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *Pages)
		want   []string
	}{
		{name: "none", mutate: func(p *Pages) {}},
		{name: "every key", mutate: func(p *Pages) {
			p.DefaultLanguage = "fr"
			p.Texts = LanguageTexts{"de": {"follow_button": "Folgen", "months": "Januar,Februar,März,April,Mai,Juni,Juli,August,September,Oktober,November,Dezember"}}
			p.Links = PageLinks{Accessibility: "https://city.example/a11y", LegalNotice: "https://city.example/legal", Privacy: "http://city.example/privacy", Contact: "mailto:web@city.example"}
			p.Accessibility = Accessibility{Status: "partial", AuditedOn: "2026-11-03", NonCompliant: []string{"Old images have no alt text."}}
		}},
		{name: "contact as a URL", mutate: func(p *Pages) { p.Links.Contact = "https://city.example/contact" }},
		{name: "none needs no audit", mutate: func(p *Pages) { p.Accessibility.Status = "none" }},

		{name: "language", mutate: func(p *Pages) { p.DefaultLanguage = "français" },
			want: []string{`accounts[0].pages.default_language: "français" is not a BCP 47 language tag such as "fr", "en" or "pt-BR"`}},
		{name: "unknown text", mutate: func(p *Pages) { p.Texts = LanguageTexts{"fr": {"folow_button": "Suivre"}} },
			want: []string{`accounts[0].pages.texts.fr.folow_button: unknown text; the texts are ` + quoteAll(PageTextKeys) + ` (did you mean "follow_button"?)`}},
		{name: "empty text", mutate: func(p *Pages) { p.Texts = LanguageTexts{"fr": {"pinned": " "}} },
			want: []string{`accounts[0].pages.texts.fr.pinned: required`}},
		{name: "months", mutate: func(p *Pages) { p.Texts = LanguageTexts{"de": {"months": "Januar,Februar"}} },
			want: []string{`accounts[0].pages.texts.de.months: must be the 12 month names separated by commas, such as "January, February, ..."`}},
		{name: "links", mutate: func(p *Pages) {
			p.Links = PageLinks{Accessibility: "/a11y", LegalNotice: "javascript:alert(1)", Privacy: "https://user:pw@city.example/", Contact: "mailto:nobody"}
		}, want: []string{
			`accounts[0].pages.links.accessibility: must be an http(s) URL such as "https://city.example/legal"; got "/a11y"`,
			`accounts[0].pages.links.legal_notice: must be an http(s) URL such as "https://city.example/legal"; got "javascript:alert(1)"`,
			`accounts[0].pages.links.privacy: must be an http(s) URL such as "https://city.example/legal"; got "https://user:pw@city.example/"`,
			`accounts[0].pages.links.contact: must be an http(s) URL or a mailto: address such as "mailto:web@city.example"; got "mailto:nobody"`,
		}},
		{name: "mailto is only for the contact", mutate: func(p *Pages) { p.Links.LegalNotice = "mailto:web@city.example" },
			want: []string{`accounts[0].pages.links.legal_notice: must be an http(s) URL such as "https://city.example/legal"; got "mailto:web@city.example"`}},
		{name: "status", mutate: func(p *Pages) { p.Accessibility.Status = "partially" },
			want: []string{`accounts[0].pages.accessibility.status: must be one of "full", "partial", "none"; got "partially" (did you mean "partial"?)`}},
		{name: "status needs an audit", mutate: func(p *Pages) { p.Accessibility.Status = "full" },
			want: []string{`accounts[0].pages.accessibility.audited_on: required when status is "full": a compliance status comes from an audit`}},
		{name: "audit date", mutate: func(p *Pages) { p.Accessibility = Accessibility{Status: "partial", AuditedOn: "03/11/2026"} },
			want: []string{`accounts[0].pages.accessibility.audited_on: must be a date written YYYY-MM-DD, such as "2026-11-03"; got "03/11/2026"`}},
		{name: "non-compliant item", mutate: func(p *Pages) { p.Accessibility.NonCompliant = []string{"", strings.Repeat("x", 2001)} },
			want: []string{
				"accounts[0].pages.accessibility.non_compliant[0]: required",
				"accounts[0].pages.accessibility.non_compliant[1]: is 2001 characters long; at most 2000 are allowed",
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := validConfig()
			tt.mutate(&c.Accounts[0].Pages)
			var got []string
			for _, p := range Problems(c.Validate()) {
				got = append(got, p.Error())
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Validate:\n got  %q\n want %q", got, tt.want)
			}
		})
	}
}

func TestPagesLanguage(t *testing.T) {
	has := func(l string) bool { return l == "en" || l == "fr" }
	tests := []struct {
		name string
		acc  Account
		want string
	}{
		{name: "nothing set", acc: Account{}, want: "en"},
		{name: "pages.default_language", acc: Account{Pages: Pages{DefaultLanguage: "fr"}, Language: "en"}, want: "fr"},
		{name: "the notice's", acc: Account{Notice: Notice{DefaultLanguage: "fr"}}, want: "fr"},
		{name: "the posts' language", acc: Account{Language: "fr"}, want: "fr"},
		{name: "a language the pages lack", acc: Account{Language: "de"}, want: "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.acc.PagesLanguage(has); got != tt.want {
				t.Errorf("PagesLanguage = %q, want %q", got, tt.want)
			}
		})
	}
}
