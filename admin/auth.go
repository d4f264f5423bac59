package admin

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/bcrypt"

	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

func hashPassword(pw string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
}

// totpPeriod is RFC 6238's default time step.
const totpPeriod = 30

// totpStep returns the time step whose code is code (the current one or
// one step either side, for clocks that drift), or ok false.
func totpStep(secret, code string, now time.Time) (int64, bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		ok, err := totp.ValidateCustom(code, secret, t, totp.ValidateOpts{
			Period: totpPeriod, Skew: 0, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && ok {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// safeNext keeps a redirect target only if it is a path of ours.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsAny(next, "\r\n\\") {
		return "/admin"
	}
	return next
}

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

type loginBody struct{ Next, Email string }

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, http.StatusOK, "login.html", pageData{Title: "signin", CSRF: c.preCSRF(w, r),
		Body: loginBody{Next: safeNext(r.URL.Query().Get("next"))}})
}

// login checks email, password and TOTP code, within the limits per
// person and per address, and starts a session.
func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	lang := language(r)
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	body := loginBody{Next: safeNext(r.PostFormValue("next")), Email: email}
	again := func(code int, msg string) {
		c.render(w, r, code, "login.html", pageData{Title: "signin", CSRF: c.preCSRF(w, r), Error: msg, Body: body})
	}
	if !preCSRFValid(r) {
		c.auditLog(r, storage.AuditEntry{Actor: email, Action: "csrf.refused", Target: r.URL.Path})
		again(http.StatusForbidden, tr(lang, "err.csrf"))
		return
	}
	now := c.now()
	addr := clientAddr(r)
	for _, lim := range []struct {
		key string
		w   interface {
			Blocked(string, time.Time) (bool, time.Time)
		}
	}{{"email " + email, c.perEmail}, {"addr " + addr, c.perAddr}} {
		if blocked, until := lim.w.Blocked(lim.key, now); blocked {
			c.auditLog(r, storage.AuditEntry{Actor: email, Action: "login.limited", Target: email})
			again(http.StatusTooManyRequests, tr(lang, "err.limited", max(1, int(until.Sub(now).Minutes()+0.999))))
			return
		}
	}
	ctx := r.Context()
	m, err := c.store.GetTeamMemberByEmail(ctx, email)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	hash := c.dummyHash
	if err == nil {
		hash = []byte(m.PasswordHash)
	}
	okPassword := bcrypt.CompareHashAndPassword(hash, []byte(r.PostFormValue("password"))) == nil && err == nil
	ok := false
	if okPassword {
		if step, valid := totpStep(m.TOTPSecret, r.PostFormValue("code"), now); valid {
			if ok, err = c.store.UseTOTPStep(ctx, m.ID, step); err != nil {
				c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
				return
			}
		}
	}
	if !ok {
		c.perEmail.Add("email "+email, now)
		c.perAddr.Add("addr "+addr, now)
		reqlog.Logger(ctx, c.log).Warn().Str("email", email).Str("client", addr).Msg("console login failed")
		c.auditLog(r, storage.AuditEntry{MemberID: m.ID, Actor: email, Action: "login.failed", Target: email})
		again(http.StatusForbidden, tr(lang, "err.login"))
		return
	}
	if err := c.startSession(w, r, m.ID); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.perEmail.Reset("email " + email)
	c.auditLog(r, storage.AuditEntry{MemberID: m.ID, Actor: m.Email, Action: "login", Target: m.Email})
	http.Redirect(w, r, body.Next, http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request, s *session) {
	if err := c.store.DeleteTeamSession(r.Context(), hashSecret("session", s.secret)); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookieName, Value: "", Path: "/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/admin/login", http.StatusSeeOther)
}

type inviteBody struct {
	Invite   storage.TeamInvite
	Existing bool         // the email already has a login
	Secret   string       // the new TOTP key (base32)
	QR       template.URL // its otpauth URI as a PNG data URI (made here: trusted)
	Min      int
}

// inviteFor returns the invitation of the link's token if it can still
// be accepted, and whether its email already has a login.
func (c *Console) inviteFor(r *http.Request) (storage.TeamInvite, bool, error) {
	ctx := r.Context()
	inv, err := c.store.GetTeamInvite(ctx, hashSecret("invite", r.PathValue("token")))
	if err != nil {
		return inv, false, err
	}
	if !inv.UsedAt.IsZero() || !c.now().Before(inv.ExpiresAt) {
		return inv, false, storage.ErrNotFound
	}
	_, err = c.store.GetTeamMemberByEmail(ctx, inv.Email)
	if errors.Is(err, storage.ErrNotFound) {
		return inv, false, nil
	}
	return inv, err == nil, err
}

func (c *Console) inviteBody(inv storage.TeamInvite, existing bool, secret string) (inviteBody, error) {
	b := inviteBody{Invite: inv, Existing: existing, Min: minPassword}
	if existing {
		return b, nil
	}
	var key *otp.Key
	var err error
	if secret == "" {
		key, err = totp.Generate(totp.GenerateOpts{Issuer: c.set.Issuer, AccountName: inv.Email})
	} else {
		key, err = otp.NewKeyFromURL((&url.URL{Scheme: "otpauth", Host: "totp", Path: "/" + c.set.Issuer + ":" + inv.Email,
			RawQuery: url.Values{"secret": {secret}, "issuer": {c.set.Issuer}}.Encode()}).String())
	}
	if err != nil {
		return b, err
	}
	b.Secret = key.Secret()
	img, err := key.Image(200, 200)
	if err != nil {
		return b, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return b, err
	}
	b.QR = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
	return b, nil
}

func (c *Console) invitePage(w http.ResponseWriter, r *http.Request) {
	inv, existing, err := c.inviteFor(r)
	if errors.Is(err, storage.ErrNotFound) {
		c.fail(w, r, http.StatusNotFound, "err.invite", nil)
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	b, err := c.inviteBody(inv, existing, "")
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.render(w, r, http.StatusOK, "invite.html", pageData{Title: "welcome", CSRF: c.preCSRF(w, r), Body: b})
}

// acceptInvite: a new member sets a password and proves their TOTP key
// with a code; an existing member confirms with password and code. The
// invitation is used once, the role given and a session started.
func (c *Console) acceptInvite(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	_ = r.ParseForm()
	lang := language(r)
	inv, existing, err := c.inviteFor(r)
	if errors.Is(err, storage.ErrNotFound) {
		c.auditLog(r, storage.AuditEntry{Action: "invite.refused", Actor: inv.Email, Account: inv.Account, Target: inv.Email,
			Detail: "unknown, expired or used invitation"})
		c.fail(w, r, http.StatusNotFound, "err.invite", nil)
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("totp_secret"))
	again := func(code int, key string, args ...any) {
		b, err := c.inviteBody(inv, existing, secret)
		if err != nil { // a tampered key: start again with a new one
			b, err = c.inviteBody(inv, existing, "")
		}
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		c.render(w, r, code, "invite.html", pageData{Title: "welcome", CSRF: c.preCSRF(w, r), Error: tr(lang, key, args...), Body: b})
	}
	if !preCSRFValid(r) {
		again(http.StatusForbidden, "err.csrf")
		return
	}
	now := c.now()
	ctx := r.Context()
	pw := r.PostFormValue("password")
	var (
		m       storage.TeamMember
		newStep int64 // the new member's first code, used once
	)
	if existing {
		addr := clientAddr(r)
		if blocked, _ := c.perEmail.Blocked("email "+inv.Email, now); blocked {
			again(http.StatusTooManyRequests, "err.limited", int(loginWindow.Minutes()))
			return
		}
		if m, err = c.store.GetTeamMemberByEmail(ctx, inv.Email); err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		step, valid := totpStep(m.TOTPSecret, r.PostFormValue("code"), now)
		if bcrypt.CompareHashAndPassword([]byte(m.PasswordHash), []byte(pw)) != nil || !valid {
			c.perEmail.Add("email "+inv.Email, now)
			c.perAddr.Add("addr "+addr, now)
			c.auditLog(r, storage.AuditEntry{MemberID: m.ID, Actor: m.Email, Action: "login.failed", Target: m.Email, Detail: "accepting an invitation"})
			again(http.StatusForbidden, "err.login")
			return
		}
		if first, err := c.store.UseTOTPStep(ctx, m.ID, step); err != nil || !first {
			if err != nil {
				c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
				return
			}
			again(http.StatusForbidden, "err.code")
			return
		}
	} else {
		if len([]rune(pw)) < minPassword || len(pw) > 256 || pw != r.PostFormValue("password2") {
			again(http.StatusUnprocessableEntity, "err.password", minPassword)
			return
		}
		step, valid := totpStep(secret, r.PostFormValue("code"), now)
		if !valid {
			again(http.StatusUnprocessableEntity, "err.code")
			return
		}
		hash, err := hashPassword(pw)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		m = storage.TeamMember{Email: inv.Email, PasswordHash: string(hash), TOTPSecret: secret, CreatedAt: now.UTC()}
		newStep = step
	}
	// One transaction: the invitation used once, the member and the role.
	err = c.store.InTx(ctx, func(q storage.Queries) error {
		if _, err := q.UseTeamInvite(ctx, inv.Hash, now.UTC()); err != nil {
			return err
		}
		if m.ID == 0 {
			id, err := q.InsertTeamMember(ctx, m)
			if err != nil {
				return err
			}
			m.ID = id
		}
		if newStep > 0 {
			if _, err := q.UseTOTPStep(ctx, m.ID, newStep); err != nil {
				return err
			}
		}
		return q.SetTeamRole(ctx, m.ID, inv.Account, inv.Role)
	})
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, storage.ErrAlreadyExists) {
		c.fail(w, r, http.StatusConflict, "err.invite", nil)
		return
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: m.ID, Actor: m.Email, Account: inv.Account, Action: "invite.accepted",
		Target: m.Email, Detail: "role " + inv.Role})
	if err := c.startSession(w, r, m.ID); err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	http.Redirect(w, r, "/admin", http.StatusSeeOther)
}
