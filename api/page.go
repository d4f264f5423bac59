package api

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/passerelle/passerelle/reqlog"
)

//go:embed templates/authorize.html
var templateFS embed.FS

var authorizeTmpl = template.Must(template.ParseFS(templateFS, "templates/authorize.html"))

// pageData is what the authorization page shows: the login form, the
// out-of-band code, or an error.
type pageData struct {
	Form        bool
	AppName     string
	Website     string
	Scopes      []string
	ClientID    string
	RedirectURI string
	Scope       string
	State       string
	CSRF        string
	Accounts    []pageAccount
	Selected    string
	Error       string
	Code        string
	// CodeChallenge is the PKCE challenge carried through the form (its
	// method is S256).
	CodeChallenge string
	// Team login (the console): the login page's link, or the member
	// signed in and their accounts.
	TeamLoginURL string
	TeamEmail    string
	TeamAccounts []pageAccount
}

type pageAccount struct{ Name, Handle string }

var hostSourceRE = regexp.MustCompile(`^[A-Za-z0-9.\-\[\]:]+$`)

// formAction is the CSP form-action source of a redirect URI: browsers
// apply form-action to the redirect that follows the form's submission.
func formAction(redirectURI string) string {
	if redirectURI == "" || redirectURI == OOBRedirect {
		return ""
	}
	u, err := url.Parse(redirectURI)
	if err != nil || !uriSchemeRE.MatchString(u.Scheme) {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	if (scheme == "http" || scheme == "https") && hostSourceRE.MatchString(u.Host) {
		return " " + scheme + "://" + u.Host
	}
	if scheme != "http" && scheme != "https" {
		return " " + scheme + ":"
	}
	return ""
}

// renderPage writes the authorization page with a strict policy: no
// script, no external asset, no framing, no referrer.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, code int, d pageData, redirectURI string) {
	var buf bytes.Buffer
	if err := authorizeTmpl.Execute(&buf, d); err != nil {
		reqlog.Logger(r.Context(), s.log).Error().Err(err).Msg("render authorization page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'"+
		formAction(redirectURI)+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}
