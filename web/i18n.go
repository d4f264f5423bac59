package web

// The pages' languages: each account's pages are offered in the shipped
// languages (English, French) plus those its configuration adds
// (accounts[].pages.texts), the visitor's picked from ?lang= (when
// offered) or Accept-Language, else the account's default. Numbers and
// plurals follow the language's CLDR rules (golang.org/x/text).

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/feature/plural"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"golang.org/x/text/number"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/notice"
)

// pageCatalogs are the shipped texts of the pages (config.PageTextKeys).
var pageCatalogs = map[string]map[string]string{
	"en": {
		"skip":                       "Skip to content",
		"home_title":                 "Accounts on this server",
		"home_intro":                 "Follow them from Mastodon or any other fediverse server.",
		"followers_one":              "{n} follower",
		"followers_other":            "{n} followers",
		"posts_one":                  "{n} post",
		"posts_other":                "{n} posts",
		"follow_heading":             "Follow {name}",
		"follow_label":               "Your server or your address",
		"follow_help":                "For example mastodon.social or @you@mastodon.social. We take you to your server, where you confirm the follow. Or search @{handle} there.",
		"follow_button":              "Follow",
		"error_invalid":              "“{input}” is not a server name. Type the name of your server, such as mastodon.social, or your full address, such as @you@mastodon.social.",
		"error_private":              "“{input}” cannot be used: type the public name of your server, such as mastodon.social.",
		"error_unreachable":          "We could not reach {server}. Check the name of your server and try again.",
		"pinned":                     "Pinned",
		"posts_heading":              "Posts",
		"no_posts":                   "No posts yet.",
		"older_posts":                "Older posts",
		"edited":                     "edited {date}",
		"published":                  "Published {date}",
		"content_warning":            "Content warning: {text}",
		"image_no_alt":               "Image without a description",
		"poll_ends":                  "Poll open until {date}",
		"poll_ended":                 "Poll closed",
		"poll_voters":                "{n} people voted",
		"poll_hidden":                "Results are shown when the poll closes",
		"moved":                      "This account has moved to",
		"language":                   "Language",
		"feeds":                      "Feeds:",
		"feed_rss":                   "RSS feed",
		"feed_atom":                  "Atom feed",
		"profile_link":               "Profile of {name}",
		"tag_title":                  "Posts tagged #{tag}",
		"tag_description":            "Public posts with the hashtag #{tag} on {site}.",
		"post_title":                 "{name}: “{text}”",
		"view_original":              "View on {site}",
		"footer_label":               "About this site",
		"footer_accessibility":       "Accessibility: {status}",
		"accessibility_full":         "fully compliant",
		"accessibility_partial":      "partially compliant",
		"accessibility_none":         "not compliant",
		"footer_legal":               "Legal notice",
		"footer_privacy":             "Privacy",
		"footer_contact":             "Contact",
		"error_title_400":            "Bad request",
		"error_text_400":             "This address is not valid. Check it and try again.",
		"error_title_404":            "Page not found",
		"error_text_404":             "There is no page at this address. It may have been mistyped, or never existed.",
		"error_title_410":            "Post deleted",
		"error_text_410":             "This post was deleted on {date}.",
		"error_title_429":            "Too many requests",
		"error_text_429":             "You have made too many requests. Please wait {seconds} seconds and try again.",
		"error_title_500":            "Something went wrong",
		"error_text_500":             "The server could not show this page. Please try again in a moment.",
		"error_home":                 "Go to the home page",
		"a11y_title":                 "Accessibility statement",
		"a11y_intro":                 "{name} is committed to making its pages on {site} accessible, in accordance with the Web Accessibility Directive (EU) 2016/2102. This statement applies to the pages of @{handle}.",
		"a11y_status_heading":        "Compliance status",
		"a11y_status_full":           "These pages are fully compliant with WCAG 2.1 level AA (EN 301 549).",
		"a11y_status_partial":        "These pages are partially compliant with WCAG 2.1 level AA (EN 301 549), because of the non-compliances listed below.",
		"a11y_status_none":           "These pages are not compliant with WCAG 2.1 level AA (EN 301 549): they have not been audited yet.",
		"a11y_audit":                 "The audit was carried out on {date}.",
		"a11y_no_audit":              "No audit has been carried out yet.",
		"a11y_non_compliant_heading": "Non-accessible content",
		"a11y_built_in":              "The pages are built to meet WCAG 2.1 AA: they work without JavaScript, in light and dark mode, with a keyboard and a screen reader, and every image has a text alternative.",
		"a11y_contact_heading":       "Feedback and contact",
		"a11y_contact":               "If you cannot access some content, contact us to get it in another form:",
		"a11y_contact_none":          "If you cannot access some content, contact {name} to get it in another form.",
		"a11y_recourse_heading":      "Enforcement procedure",
		"a11y_recourse":              "If you contacted us and did not get a satisfactory answer, you can turn to the body in charge of enforcing the directive in your country.",
		"datetime":                   "{date} at {time}",
		"months":                     "January,February,March,April,May,June,July,August,September,October,November,December",
	},
	"fr": {
		"skip":                       "Aller au contenu",
		"home_title":                 "Comptes de ce serveur",
		"home_intro":                 "Suivez-les depuis Mastodon ou tout autre serveur du fédivers.",
		"followers_one":              "{n} abonné",
		"followers_other":            "{n} abonnés",
		"posts_one":                  "{n} publication",
		"posts_other":                "{n} publications",
		"follow_heading":             "Suivre {name}",
		"follow_label":               "Votre serveur ou votre adresse",
		"follow_help":                "Par exemple mastodon.social ou @vous@mastodon.social. Nous vous emmenons sur votre serveur, où vous confirmez l’abonnement. Ou cherchez-y @{handle}.",
		"follow_button":              "Suivre",
		"error_invalid":              "« {input} » n’est pas un nom de serveur. Tapez le nom de votre serveur, par exemple mastodon.social, ou votre adresse complète, par exemple @vous@mastodon.social.",
		"error_private":              "« {input} » ne peut pas être utilisé : tapez le nom public de votre serveur, par exemple mastodon.social.",
		"error_unreachable":          "Nous n’avons pas pu joindre {server}. Vérifiez le nom de votre serveur et réessayez.",
		"pinned":                     "Épinglé",
		"posts_heading":              "Publications",
		"no_posts":                   "Aucune publication pour l’instant.",
		"older_posts":                "Publications plus anciennes",
		"edited":                     "modifié le {date}",
		"published":                  "Publié le {date}",
		"content_warning":            "Avertissement : {text}",
		"image_no_alt":               "Image sans description",
		"poll_ends":                  "Sondage ouvert jusqu’au {date}",
		"poll_ended":                 "Sondage terminé",
		"poll_voters":                "{n} personnes ont voté",
		"poll_hidden":                "Les résultats seront affichés à la fin du sondage",
		"moved":                      "Ce compte a déménagé vers",
		"language":                   "Langue",
		"feeds":                      "Flux :",
		"feed_rss":                   "Flux RSS",
		"feed_atom":                  "Flux Atom",
		"profile_link":               "Profil de {name}",
		"tag_title":                  "Publications avec #{tag}",
		"tag_description":            "Les publications publiques avec le mot-dièse #{tag} sur {site}.",
		"post_title":                 "{name} : « {text} »",
		"view_original":              "Voir sur {site}",
		"footer_label":               "À propos de ce site",
		"footer_accessibility":       "Accessibilité : {status}",
		"accessibility_full":         "totalement conforme",
		"accessibility_partial":      "partiellement conforme",
		"accessibility_none":         "non conforme",
		"footer_legal":               "Mentions légales",
		"footer_privacy":             "Données personnelles",
		"footer_contact":             "Contact",
		"error_title_400":            "Requête invalide",
		"error_text_400":             "Cette adresse n’est pas valide. Vérifiez-la et réessayez.",
		"error_title_404":            "Page introuvable",
		"error_text_404":             "Il n’y a pas de page à cette adresse. Elle a peut-être été mal saisie, ou n’a jamais existé.",
		"error_title_410":            "Publication supprimée",
		"error_text_410":             "Cette publication a été supprimée le {date}.",
		"error_title_429":            "Trop de requêtes",
		"error_text_429":             "Vous avez fait trop de requêtes. Patientez {seconds} secondes puis réessayez.",
		"error_title_500":            "Une erreur est survenue",
		"error_text_500":             "Le serveur n’a pas pu afficher cette page. Réessayez dans un instant.",
		"error_home":                 "Aller à la page d’accueil",
		"a11y_title":                 "Déclaration d’accessibilité",
		"a11y_intro":                 "{name} s’engage à rendre ses pages sur {site} accessibles, conformément à l’article 47 de la loi n° 2005-102 du 11 février 2005 et à la directive (UE) 2016/2102. Cette déclaration s’applique aux pages de @{handle}.",
		"a11y_status_heading":        "État de conformité",
		"a11y_status_full":           "Ces pages sont totalement conformes au RGAA 4.1 (WCAG 2.1 niveau AA).",
		"a11y_status_partial":        "Ces pages sont partiellement conformes au RGAA 4.1 (WCAG 2.1 niveau AA), en raison des non-conformités énumérées ci-dessous.",
		"a11y_status_none":           "Ces pages sont non conformes au RGAA 4.1 (WCAG 2.1 niveau AA) : elles n’ont pas encore été auditées.",
		"a11y_audit":                 "L’audit a été réalisé le {date}.",
		"a11y_no_audit":              "Aucun audit n’a encore été réalisé.",
		"a11y_non_compliant_heading": "Contenus non accessibles",
		"a11y_built_in":              "Les pages sont conçues pour respecter le RGAA : elles fonctionnent sans JavaScript, en mode clair et sombre, au clavier et avec un lecteur d’écran, et chaque image a une alternative textuelle.",
		"a11y_contact_heading":       "Retour d’information et contact",
		"a11y_contact":               "Si vous n’arrivez pas à accéder à un contenu, contactez-nous pour l’obtenir sous une autre forme :",
		"a11y_contact_none":          "Si vous n’arrivez pas à accéder à un contenu, contactez {name} pour l’obtenir sous une autre forme.",
		"a11y_recourse_heading":      "Voies de recours",
		"a11y_recourse":              "Si vous nous avez signalé un défaut d’accessibilité sans obtenir de réponse satisfaisante, vous pouvez écrire au Défenseur des droits (formulaire en ligne, délégué de votre région, ou Défenseur des droits, Libre réponse 71120, 75342 Paris CEDEX 07).",
		"datetime":                   "{date} à {time}",
		"months":                     "janvier,février,mars,avril,mai,juin,juillet,août,septembre,octobre,novembre,décembre",
	},
}

// shippedPageLanguages are the languages whose every page text is shipped.
var shippedPageLanguages = []string{"en", "fr"}

// maxLangParam bounds ?lang=: longer is junk.
const maxLangParam = 35

// validLangParam reports whether s, a ?lang= value, is a language tag.
func validLangParam(s string) bool {
	if s == "" || len(s) > maxLangParam {
		return false
	}
	_, err := language.Parse(s)
	return err == nil
}

// locale is the languages of one account's pages (or of the site's).
type locale struct {
	langs     []string // offered languages, the default first
	matcher   language.Matcher
	overrides config.LanguageTexts
}

// newLocale builds the languages of an account's pages.
func newLocale(acc config.Account) *locale {
	offered := slices.Clone(shippedPageLanguages)
	extra := make([]string, 0, len(acc.Pages.Texts))
	for l := range acc.Pages.Texts {
		extra = append(extra, canonicalLang(l))
	}
	slices.Sort(extra)
	for _, l := range extra {
		if !slices.Contains(offered, l) {
			offered = append(offered, l)
		}
	}
	has := func(l string) bool { return slices.Contains(offered, canonicalLang(l)) }
	def := canonicalLang(acc.PagesLanguage(has))
	langs := []string{def}
	for _, l := range offered {
		if l != def {
			langs = append(langs, l)
		}
	}
	tags := make([]language.Tag, len(langs))
	for i, l := range langs {
		tags[i] = language.Make(l)
	}
	return &locale{langs: langs, matcher: language.NewMatcher(tags), overrides: acc.Pages.Texts}
}

// siteLocale is the languages of the pages that belong to no account
// (the home page, the errors of unknown addresses).
func siteLocale() *locale { return newLocale(config.Account{}) }

func canonicalLang(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	return t.String()
}

// match picks the visitor's language: ?lang= when it names an offered
// language, else the best match for Accept-Language, else the default.
// Junk in either (not a language tag, too long) is ignored.
func (l *locale) match(explicit, acceptLanguage string) string {
	if explicit != "" && len(explicit) <= maxLangParam {
		if t, err := language.Parse(explicit); err == nil {
			if s := t.String(); slices.Contains(l.langs, s) {
				return s
			}
		}
	}
	if len(acceptLanguage) > 512 {
		return l.langs[0]
	}
	prefs, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(prefs) == 0 {
		return l.langs[0]
	}
	_, i, conf := l.matcher.Match(prefs...)
	if conf == language.No {
		return l.langs[0]
	}
	return l.langs[i]
}

// raw returns the text of key in lang before placeholders are replaced:
// the configuration's override, else the shipped text, following lang,
// its base language, then English.
func (l *locale) raw(lang, key string) string {
	for _, c := range langChain(lang) {
		for ol, m := range l.overrides {
			if canonicalLang(ol) == c {
				if s, ok := m[key]; ok {
					return s
				}
			}
		}
		if s, ok := pageCatalogs[c][key]; ok {
			return s
		}
	}
	return ""
}

func langChain(lang string) []string {
	c := []string{lang}
	if base, _ := language.Make(lang).Base(); base.String() != lang {
		c = append(c, base.String())
	}
	if !slices.Contains(c, "en") {
		c = append(c, "en")
	}
	return c
}

// tr is one language's texts, as the templates use them.
type tr struct {
	loc  *locale
	Lang string
}

func (l *locale) in(lang string) tr { return tr{loc: l, Lang: lang} }

// T returns the text of key with its placeholders ({name}, ...) replaced
// by pairs of arguments: T "follow_heading" "name" "Ville de Test".
func (t tr) T(key string, pairs ...string) string {
	s := t.loc.raw(t.Lang, key)
	if len(pairs) < 2 {
		return s
	}
	r := make([]string, 0, len(pairs))
	for i := 0; i+1 < len(pairs); i += 2 {
		r = append(r, "{"+pairs[i]+"}", pairs[i+1])
	}
	return strings.NewReplacer(r...).Replace(s)
}

// Count is key_one or key_other, by the language's plural rules, with {n}
// written as the language writes numbers ("1 234" in French).
func (t tr) Count(key string, n int64) string {
	form := "_other"
	if n >= 0 && n < 1<<31 && plural.Cardinal.MatchPlural(language.Make(t.Lang), int(n), 0, 0, 0, 0) == plural.One {
		form = "_one"
	}
	return t.T(key+form, "n", t.Number(n))
}

// Number writes n with the language's digit grouping.
func (t tr) Number(n int64) string {
	return message.NewPrinter(language.Make(t.Lang)).Sprint(number.Decimal(n))
}

// Date writes a date ("3 February 2025", "3 février 2025"), with the month
// names of the language's texts.
func (t tr) Date(d time.Time) string {
	if d.IsZero() {
		return ""
	}
	d = d.UTC()
	months := strings.Split(t.loc.raw(t.Lang, "months"), ",")
	if len(months) != 12 {
		return d.Format(time.DateOnly)
	}
	day := strconv.Itoa(d.Day())
	if base, _ := language.Make(t.Lang).Base(); base.String() == "fr" && d.Day() == 1 {
		day = "1er"
	}
	return day + " " + strings.TrimSpace(months[d.Month()-1]) + " " + strconv.Itoa(d.Year())
}

// DateTime writes a date and its time in UTC ("3 February 2025 at 09:00 UTC").
func (t tr) DateTime(d time.Time) string {
	if d.IsZero() {
		return ""
	}
	return t.T("datetime", "date", t.Date(d), "time", d.UTC().Format("15:04")+" UTC")
}

// Dir is "rtl" for languages written right to left.
func (t tr) Dir() string { return notice.Direction(t.Lang) }

// OGLocale is the language as Open Graph writes it ("fr_FR").
func (t tr) OGLocale() string { return notice.OGLocale(t.Lang) }

// languageLinks are the language switcher's links for page (an absolute
// URL without query).
func (l *locale) languageLinks(page, current string) []langLink {
	if len(l.langs) < 2 {
		return nil
	}
	out := make([]langLink, 0, len(l.langs))
	for _, lang := range l.langs {
		out = append(out, langLink{
			Tag: lang, Name: notice.LanguageName(lang), Current: lang == current,
			URL: "?lang=" + lang, AbsURL: page + "?lang=" + lang,
		})
	}
	return out
}

// postItem is a post as the "post" template shows it, with the page's
// texts.
type postItem struct {
	tr
	Post   Post
	Pinned bool
}

// Item wraps a post for the "post" template.
func (t tr) Item(p any, pinned bool) postItem {
	switch v := p.(type) {
	case Post:
		return postItem{tr: t, Post: v, Pinned: pinned}
	case *Post:
		return postItem{tr: t, Post: *v, Pinned: pinned}
	}
	return postItem{tr: t}
}
