package admin

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/ratelimit"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Settings are what the console needs from the configuration.
type Settings struct {
	// BaseURL is the public URL without a trailing slash; its scheme
	// decides the cookies' Secure flag.
	BaseURL string
	// Accounts are our accounts' usernames, in configuration order.
	Accounts []string
	// Issuer names the TOTP key in authenticator apps (default
	// "Passerelle").
	Issuer string
	// Drafts approves and rejects contributors' drafts (package publish);
	// nil: the drafts are listed, not decided.
	Drafts Drafts
	// Compose publishes what the compose page writes (package publish);
	// nil: no compose page.
	Compose Composer
	// Preview shows a post as Bluesky will get it (package atproto); nil:
	// no Bluesky preview.
	Preview Previewer
	// Crisis switches the accounts' crisis mode (package publish), and
	// Moderation keeps their domain blocks (package moderation); without
	// both, no moderation page.
	Crisis     Crisis
	Moderation Moderator
	// RaidBlock blocks a raid in one click (nil: raids are not listed).
	RaidBlock RaidBlocker
}

// Lifetimes and limits.
const (
	InviteTTL         = 7 * 24 * time.Hour
	sessionTTL        = 12 * time.Hour
	minPassword       = 12
	loginPerPerson    = 10 // failed logins per email in loginWindow
	loginPerAddress   = 30 // failed logins per client address in loginWindow
	loginWindow       = 15 * time.Minute
	limiterKeys       = 16_384
	auditPage         = 50
	sessionCookieName = "passerelle_console"
	preCSRFCookie     = "passerelle_console_csrf"
)

// Roles, in order of power.
var roles = []string{storage.RoleAdmin, storage.RoleEditor, storage.RoleContributor}

// ValidRole reports whether role is one of admin, editor, contributor.
func ValidRole(role string) bool { return slices.Contains(roles, role) }

// Console serves /admin.
type Console struct {
	set      Settings
	store    storage.Store
	log      zerolog.Logger
	now      func() time.Time
	secure   bool
	accounts []string // lower-cased
	perEmail *ratelimit.Windows
	perAddr  *ratelimit.Windows
	pages    *template.Template
	wa       *webauthn.WebAuthn // nil: no passkeys
	pending  *ceremonies        // WebAuthn challenges handed out (passkey.go)
	// dummyHash is compared against when the email is unknown, so that
	// an unknown email costs as much as a wrong password.
	dummyHash []byte
}

//go:embed templates/*.html templates/console.css templates/passkey.js
var templateFS embed.FS

// New builds the console.
func New(set Settings, store storage.Store, logger zerolog.Logger) *Console {
	set.BaseURL = strings.TrimRight(set.BaseURL, "/")
	if set.Issuer == "" {
		set.Issuer = "Passerelle"
	}
	c := &Console{
		set: set, store: store, log: logger, now: time.Now,
		secure:   strings.HasPrefix(set.BaseURL, "https://"),
		perEmail: ratelimit.NewWindows(loginPerPerson, loginWindow, limiterKeys),
		perAddr:  ratelimit.NewWindows(loginPerAddress, loginWindow, limiterKeys),
	}
	for _, a := range set.Accounts {
		if a = strings.ToLower(a); !slices.Contains(c.accounts, a) {
			c.accounts = append(c.accounts, a)
		}
	}
	c.dummyHash, _ = hashPassword(randomSecret())
	c.wa = newWebAuthn(set.BaseURL, set.Issuer)
	c.pending = &ceremonies{m: map[string]ceremony{}}
	c.pages = template.Must(template.New("").Funcs(template.FuncMap{
		"t": func(lang, key string, args ...any) string { return tr(lang, key, args...) },
	}).ParseFS(templateFS, "templates/*.html"))
	return c
}

// SetClock replaces the clock (tests).
func (c *Console) SetClock(now func() time.Time) { c.now = now }

func tr(lang, key string, args ...any) string {
	m := messages[lang]
	if m == nil {
		m = messages["en"]
	}
	s, ok := m[key]
	if !ok {
		s = messages["en"][key]
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// Routes registers the console on mux.
func (c *Console) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /admin/console.css", c.css)
	mux.HandleFunc("GET /admin/passkey.js", c.passkeyJS)
	mux.HandleFunc("POST /admin/passkeys/options", c.member(c.passkeyOptions))
	mux.HandleFunc("POST /admin/passkeys", c.member(c.addPasskey))
	mux.HandleFunc("POST /admin/login/passkey/options", c.passkeyLoginOptions)
	mux.HandleFunc("POST /admin/login/passkey", c.passkeyLogin)
	mux.HandleFunc("GET /admin/login", c.loginPage)
	mux.HandleFunc("POST /admin/login", c.login)
	mux.HandleFunc("POST /admin/logout", c.member(c.logout))
	mux.HandleFunc("GET /admin/invite/{token}", c.invitePage)
	mux.HandleFunc("POST /admin/invite/{token}", c.acceptInvite)
	mux.HandleFunc("GET /admin", c.member(c.home))
	mux.HandleFunc("GET /admin/{$}", c.member(c.home))
	mux.HandleFunc("GET /admin/audit", c.member(c.audit))
	mux.HandleFunc("GET /admin/audit.csv", c.member(c.auditCSV))
	mux.HandleFunc("GET /admin/team", c.member(c.team))
	mux.HandleFunc("POST /admin/team/invite", c.member(c.teamInvite))
	mux.HandleFunc("GET /admin/reach", c.member(c.reach))
	mux.HandleFunc("GET /admin/compose", c.member(c.compose))
	mux.HandleFunc("GET /admin/moderation", c.member(c.moderation))
	mux.HandleFunc("POST /admin/moderation/crisis", c.member(c.crisisSet))
	mux.HandleFunc("POST /admin/moderation/block", c.member(c.domainBlock))
	mux.HandleFunc("POST /admin/moderation/unblock", c.member(c.domainUnblock))
	mux.HandleFunc("POST /admin/moderation/raid", c.member(c.raidBlock))
	mux.HandleFunc("POST /admin/moderation/subscriptions/preview", c.member(c.subscriptionsPreview))
	mux.HandleFunc("POST /admin/compose", c.member(c.composePost))
	mux.HandleFunc("GET /admin/reach/posts/{account}", c.member(c.reachPosts))
	mux.HandleFunc("GET /admin/drafts", c.member(c.drafts))
	mux.HandleFunc("POST /admin/drafts/approve", c.member(c.draftApprove))
	mux.HandleFunc("POST /admin/drafts/reject", c.member(c.draftReject))
	mux.HandleFunc("POST /admin/team/remove", c.member(c.teamRemove))
	mux.HandleFunc("POST /admin/team/role", c.member(c.teamSetRole))
	mux.HandleFunc("POST /admin/team/passkeys/remove", c.member(c.teamPasskeyRemove))
}

// hashSecret is how invitations and sessions are stored.
func hashSecret(kind, secret string) string {
	sum := sha256.Sum256([]byte(kind + ":" + secret))
	return hex.EncodeToString(sum[:])
}

func randomSecret() string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// InviteError is a refused invitation (bad email, account or role).
type InviteError struct{ Msg string }

func (e *InviteError) Error() string { return e.Msg }

// Invite makes a one-time invitation of email to account with role and
// returns its link (the secret is stored hashed) and when it expires.
func (c *Console) Invite(ctx context.Context, email, account, role string) (string, time.Time, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	account = strings.ToLower(strings.TrimSpace(account))
	if at := strings.IndexByte(email, '@'); at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>\"") || len(email) > 254 {
		return "", time.Time{}, &InviteError{fmt.Sprintf("%q is not an email address", email)}
	}
	if !slices.Contains(c.accounts, account) {
		return "", time.Time{}, &InviteError{fmt.Sprintf("%q is not one of the accounts (%s)", account, strings.Join(c.accounts, ", "))}
	}
	if !ValidRole(role) {
		return "", time.Time{}, &InviteError{fmt.Sprintf("role %q: use admin, editor or contributor", role)}
	}
	now := c.now().UTC()
	secret := randomSecret()
	inv := storage.TeamInvite{Hash: hashSecret("invite", secret), Email: email, Account: account, Role: role,
		CreatedAt: now, ExpiresAt: now.Add(InviteTTL)}
	if err := c.store.InsertTeamInvite(ctx, inv); err != nil {
		return "", time.Time{}, fmt.Errorf("admin: invite %s: %w", email, err)
	}
	return c.set.BaseURL + "/admin/invite/" + secret, inv.ExpiresAt, nil
}

// session is a signed-in member.
type session struct {
	member storage.TeamMember
	roles  []storage.TeamRole
	secret string // the cookie's value
}

func (s *session) role(account string) string {
	for _, r := range s.roles {
		if r.Account == account {
			return r.Role
		}
	}
	return ""
}

// accountsWith lists the member's accounts where their role is one of want.
// Admin reports whether the member is an admin of an account (the
// navigation shows the moderation page then).
func (s *session) Admin() bool { return len(s.accountsWith(storage.RoleAdmin)) > 0 }

func (s *session) accountsWith(want ...string) []string {
	var out []string
	for _, r := range s.roles {
		if slices.Contains(want, r.Role) {
			out = append(out, r.Account)
		}
	}
	return out
}

// csrf is the session's CSRF token: derived from the session's secret,
// which only the browser holding the HttpOnly cookie knows.
func (s *session) csrf() string {
	sum := sha256.Sum256([]byte("csrf:" + s.secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// current returns the signed-in member of r, or nil.
func (c *Console) current(r *http.Request) (*session, error) {
	ck, err := r.Cookie(sessionCookieName)
	if err != nil || len(ck.Value) != 43 {
		return nil, nil
	}
	ctx := r.Context()
	sess, err := c.store.GetTeamSession(ctx, hashSecret("session", ck.Value), c.now())
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := c.store.GetTeamMember(ctx, sess.MemberID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	rs, err := c.store.TeamRoles(ctx, m.ID)
	if err != nil {
		return nil, err
	}
	// Roles on accounts no longer configured do not count.
	rs = slices.DeleteFunc(rs, func(r storage.TeamRole) bool { return !slices.Contains(c.accounts, r.Account) })
	return &session{member: m, roles: rs, secret: ck.Value}, nil
}

// Member is api.TeamLogin: the member signed in on r and the accounts
// they belong to, for /oauth/authorize.
func (c *Console) Member(r *http.Request) (id int64, email string, accounts []string, ok bool) {
	s, err := c.current(r)
	if err != nil {
		reqlog.Logger(r.Context(), c.log).Error().Err(err).Msg("read console session")
		return 0, "", nil, false
	}
	if s == nil {
		return 0, "", nil, false
	}
	for _, r := range s.roles {
		accounts = append(accounts, r.Account)
	}
	return s.member.ID, s.member.Email, accounts, true
}

// LoginURL is api.TeamLogin: the console's login page, coming back to
// next (a path of ours) once signed in.
func (c *Console) LoginURL(next string) string {
	return "/admin/login?next=" + urlQueryEscape(next)
}

type memberHandler func(w http.ResponseWriter, r *http.Request, s *session)

// member requires a signed-in member; POSTs also require the session's
// CSRF token.
func (c *Console) member(h memberHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s, err := c.current(r)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		if s == nil {
			http.Redirect(w, r, c.LoginURL(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			multi := strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") && r.URL.Path == "/admin/compose"
			limit := int64(64 << 10)
			if multi { // the compose form's images
				limit = composeMaxBody
			}
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			tok := r.Header.Get("X-CSRF-Token") // the passkey script's requests (JSON bodies)
			err := error(nil)
			if tok == "" && multi {
				err = r.ParseMultipartForm(8 << 20) // larger files go to temporary files
				tok = r.PostFormValue("csrf")
			} else if tok == "" {
				err = r.ParseForm()
				tok = r.PostFormValue("csrf")
			}
			if err != nil || subtle.ConstantTimeCompare([]byte(tok), []byte(s.csrf())) != 1 {
				c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Action: "csrf.refused", Target: r.URL.Path})
				c.fail(w, r, http.StatusForbidden, "err.csrf", nil)
				return
			}
		}
		h(w, r, s)
	}
}

// preCSRF is the CSRF token of the forms shown before signing in: a
// cookie and the same value in the form (double submit).
func (c *Console) preCSRF(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(preCSRFCookie); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	tok := randomSecret()
	http.SetCookie(w, &http.Cookie{Name: preCSRFCookie, Value: tok, Path: "/admin/", HttpOnly: true,
		Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: 3600})
	return tok
}

func preCSRFValid(r *http.Request) bool {
	ck, err := r.Cookie(preCSRFCookie)
	form := r.PostFormValue("csrf")
	return err == nil && form != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) == 1
}

// startSession signs the member in with a new session (whatever cookie
// the browser had: no fixation) and drops the one it replaces.
func (c *Console) startSession(w http.ResponseWriter, r *http.Request, memberID int64) error {
	ctx := r.Context()
	if old, err := r.Cookie(sessionCookieName); err == nil {
		if err := c.store.DeleteTeamSession(ctx, hashSecret("session", old.Value)); err != nil {
			return err
		}
	}
	secret := randomSecret()
	now := c.now().UTC()
	if err := c.store.InsertTeamSession(ctx, storage.TeamSession{Hash: hashSecret("session", secret), MemberID: memberID,
		CreatedAt: now, ExpiresAt: now.Add(sessionTTL)}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookieName, Value: secret, Path: "/", HttpOnly: true,
		Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: int(sessionTTL.Seconds())})
	return nil
}

// clientAddr is the limiting key of a request's client: its address, an
// IPv6 client by its /64.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return host
}

// auditLog appends to the audit log; a failure is logged, not returned
// (the action it records already happened or was refused).
func (c *Console) auditLog(r *http.Request, e storage.AuditEntry) {
	e.At = c.now().UTC()
	if e.Address == "" {
		e.Address = clientAddr(r)
	}
	if _, err := c.store.InsertAudit(context.WithoutCancel(r.Context()), e); err != nil {
		reqlog.Logger(r.Context(), c.log).Error().Err(err).Str("action", e.Action).Msg("write audit log")
	}
}

// pageData is what every page gets.
type pageData struct {
	Lang, Other string // the page's language and the other one
	Title       string
	Session     *session
	Email       string
	CSRF        string
	Error       string
	Notice      string
	Passkeys    bool // passkeys are available (a domain name in the public URL)
	Pending     int  // drafts waiting for the member's approval (the navigation's badge)
	Body        any
}

func (c *Console) render(w http.ResponseWriter, r *http.Request, code int, name string, d pageData) {
	d.Lang = language(r)
	d.Passkeys = c.wa != nil
	d.Other = "fr"
	if d.Lang == "fr" {
		d.Other = "en"
	}
	if d.Session != nil {
		d.Email = d.Session.member.Email
		if d.CSRF == "" {
			d.CSRF = d.Session.csrf()
		}
		if deciders := d.Session.accountsWith(storage.RoleAdmin, storage.RoleEditor); len(deciders) > 0 {
			n, err := c.store.CountPendingTeamDrafts(r.Context(), deciders)
			if err != nil { // the page shows without its badge
				reqlog.Logger(r.Context(), c.log).Warn().Err(err).Msg("count the pending drafts")
			}
			d.Pending = n
		}
	}
	if l := r.URL.Query().Get("lang"); messages[l] != nil {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/admin/", HttpOnly: true,
			Secure: c.secure, SameSite: http.SameSiteLaxMode, MaxAge: 365 * 24 * 3600})
	}
	var buf bytes.Buffer
	if err := c.pages.ExecuteTemplate(&buf, name, d); err != nil {
		reqlog.Logger(r.Context(), c.log).Error().Err(err).Str("page", name).Msg("render console page")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(code)
	_, _ = w.Write(buf.Bytes())
}

// securityHeaders: our one script (passkeys) and stylesheet, no inline
// script or style, images of ours or
// inline (the QR code), forms to ourselves only, no framing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// fail renders an error page; err, when not nil, is logged once here.
func (c *Console) fail(w http.ResponseWriter, r *http.Request, code int, key string, err error) {
	if err != nil {
		reqlog.Logger(r.Context(), c.log).Error().Err(err).Str("path", r.URL.Path).Msg("console")
	}
	s, _ := c.current(r)
	c.render(w, r, code, "error.html", pageData{Title: "console", Session: s, Error: tr(language(r), key)})
}

func (c *Console) css(w http.ResponseWriter, r *http.Request) {
	b, _ := templateFS.ReadFile("templates/console.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
