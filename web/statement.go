package web

// The built-in accessibility statement (/@NAME/accessibility) that EU
// public sector bodies must publish (Directive (EU) 2016/2102; in France
// the RGAA's "déclaration d'accessibilité"), filled from
// accounts[].pages.accessibility, and the account's card
// (/@NAME/card.png), the image of its pages' link previews.

import (
	"net/http"
	"strings"

	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/reqlog"
)

type statementView struct {
	Status       string // text of the compliance status
	Audit        string
	NonCompliant []string
	Contact      string // URL, or ""
	ContactText  string
}

func (p *Pages) statement(w http.ResponseWriter, r *http.Request, pr Profile, ap *accountPages) {
	if ap.links.Accessibility != "" {
		// The institution publishes its own statement.
		http.Redirect(w, r, ap.links.Accessibility, http.StatusFound)
		return
	}
	lang := langOf(r, ap.locale)
	name := strings.ToLower(pr.Username)
	page, err := p.cache.get("a11y|"+name+"|"+lang, name, func() (*rendered, error) {
		url := pr.ProfileURL + "/accessibility"
		v := p.baseView(ap, lang, url)
		v.Profile = &pr
		v.Title = v.T("a11y_title")
		v.Description = v.Title + " · " + pr.Name()
		st := &statementView{Status: v.T("a11y_status_" + ap.a11y.AccessibilityStatus()), NonCompliant: ap.a11y.NonCompliant}
		if d := ap.a11y.AuditDate(); !d.IsZero() {
			st.Audit = v.T("a11y_audit", "date", v.Date(d))
		} else {
			st.Audit = v.T("a11y_no_audit")
		}
		if c := ap.links.Contact; c != "" {
			st.Contact = c
			st.ContactText = strings.TrimPrefix(c, "mailto:")
		}
		v.Statement = st
		h := http.Header{}
		h.Set("Content-Language", lang)
		h.Set("Vary", "Accept-Language")
		return p.page(http.StatusOK, "statement.html", v, h)
	})
	if err != nil {
		p.fail(w, r, err)
		return
	}
	page.write(w, r)
}

// profileCard serves /@NAME/card.png, drawn once.
func (p *Pages) profileCard(w http.ResponseWriter, r *http.Request, pr Profile, ap *accountPages) {
	ap.cardOnce.Do(func() {
		in := notice.CardInput{Name: pr.Name(), Subtitle: truncate(ap.summary, 60), Handle: pr.Handle, BlueskyHandle: ap.bluesky}
		if ap.avatar != "" {
			img, err := notice.LoadAvatar(ap.avatar)
			if err != nil {
				reqlog.Logger(r.Context(), p.log).Warn().Err(err).Str("account", pr.Username).Msg("card without avatar")
			} else {
				in.Avatar = img
			}
		}
		png, err := notice.Card(in)
		if err != nil {
			ap.cardError = err
			return
		}
		ap.card = imageRendered(png, "image/png", p.now())
	})
	if ap.cardError != nil {
		p.fail(w, r, ap.cardError)
		return
	}
	ap.card.write(w, r)
}

// imageRendered is an image in memory, with its validators.
func imageRendered(body []byte, contentType string, at interface{ Unix() int64 }) *rendered {
	h := http.Header{}
	h.Set("Content-Type", contentType)
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	r := &rendered{status: http.StatusOK, body: body, header: h, etag: etagOf(body)}
	r.modified = unixTime(at.Unix())
	return r
}
