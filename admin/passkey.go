package admin

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/passerelle/passerelle/storage"
)

// Passkeys (WebAuthn, through go-webauthn): a signed-in member adds one
// from the home page; the login page signs in with one (a discoverable
// credential: no email to type). The browser side is /admin/passkey.js,
// the console's only script. A ceremony's challenge lives in memory,
// under a random id in a cookie, for ceremonyTTL, and is used once: a
// replayed assertion finds no challenge. (With several replicas behind a
// load balancer, the two requests of a ceremony must reach the same one.)

const (
	ceremonyCookie = "passerelle_webauthn"
	ceremonyTTL    = 5 * time.Minute
	maxCeremonies  = 4096
)

type ceremony struct {
	data     webauthn.SessionData
	memberID int64 // registration: who adds the passkey; login: 0
	expires  time.Time
}

// ceremonies are the challenges handed out, by id.
type ceremonies struct {
	mu sync.Mutex
	m  map[string]ceremony
}

func (cs *ceremonies) put(id string, c ceremony, now time.Time) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for k, v := range cs.m { // drop the expired; bound the memory
		if now.After(v.expires) || len(cs.m) >= maxCeremonies {
			delete(cs.m, k)
		}
	}
	cs.m[id] = c
}

// take returns a ceremony once.
func (cs *ceremonies) take(id string, now time.Time) (ceremony, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[id]
	delete(cs.m, id)
	return c, ok && now.Before(c.expires)
}

// newWebAuthn is the relying party of the console: our public URL's host
// and origin. Nil (passkeys off) when the URL does not make one: WebAuthn
// needs a domain name (or localhost), never an IP address.
func newWebAuthn(baseURL, name string) *webauthn.WebAuthn {
	u, err := url.Parse(baseURL)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: u.Hostname(), RPDisplayName: name, RPOrigins: []string{u.Scheme + "://" + u.Host}})
	if err != nil {
		return nil
	}
	return wa
}

// passkeyUser is a member as WebAuthn sees them.
type passkeyUser struct {
	m     storage.TeamMember
	creds []webauthn.Credential
}

func memberHandle(id int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(id)) }

func (u *passkeyUser) WebAuthnID() []byte                         { return memberHandle(u.m.ID) }
func (u *passkeyUser) WebAuthnName() string                       { return u.m.Email }
func (u *passkeyUser) WebAuthnDisplayName() string                { return u.m.Email }
func (u *passkeyUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func (c *Console) passkeyUser(r *http.Request, m storage.TeamMember) (*passkeyUser, error) {
	list, err := c.store.TeamPasskeys(r.Context(), m.ID)
	if err != nil {
		return nil, err
	}
	u := &passkeyUser{m: m}
	for _, p := range list {
		var cred webauthn.Credential
		if err := json.Unmarshal([]byte(p.Credential), &cred); err != nil {
			return nil, err
		}
		u.creds = append(u.creds, cred)
	}
	return u, nil
}

func (c *Console) startCeremony(w http.ResponseWriter, data *webauthn.SessionData, memberID int64) {
	id := randomSecret()
	now := c.now()
	c.pending.put(id, ceremony{data: *data, memberID: memberID, expires: now.Add(ceremonyTTL)}, now)
	http.SetCookie(w, &http.Cookie{Name: ceremonyCookie, Value: id, Path: "/admin/", HttpOnly: true, Secure: c.secure,
		SameSite: http.SameSiteStrictMode, MaxAge: int(ceremonyTTL.Seconds())})
}

func (c *Console) takeCeremony(r *http.Request) (ceremony, bool) {
	ck, err := r.Cookie(ceremonyCookie)
	if err != nil {
		return ceremony{}, false
	}
	return c.pending.take(ck.Value, c.now())
}

func jsonAnswer(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func (c *Console) jsonError(w http.ResponseWriter, r *http.Request, code int, key string) {
	jsonAnswer(w, code, map[string]string{"error": tr(language(r), key)})
}

// passkeyOptions starts adding a passkey (POST /admin/passkeys/options).
func (c *Console) passkeyOptions(w http.ResponseWriter, r *http.Request, s *session) {
	if c.wa == nil {
		c.jsonError(w, r, http.StatusNotFound, "err.passkeys")
		return
	}
	u, err := c.passkeyUser(r, s.member)
	if err != nil {
		c.jsonError(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	var exclude []protocol.CredentialDescriptor
	for _, cred := range u.creds {
		exclude = append(exclude, cred.Descriptor())
	}
	opts, data, err := c.wa.BeginRegistration(u, webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(exclude))
	if err != nil {
		c.jsonError(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	c.startCeremony(w, data, s.member.ID)
	jsonAnswer(w, http.StatusOK, opts)
}

// addPasskey finishes adding a passkey (POST /admin/passkeys).
func (c *Console) addPasskey(w http.ResponseWriter, r *http.Request, s *session) {
	cer, ok := c.takeCeremony(r)
	if c.wa == nil || !ok || cer.memberID != s.member.ID {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Action: "passkey.refused", Detail: "unknown, used or expired challenge"})
		c.jsonError(w, r, http.StatusBadRequest, "err.passkey")
		return
	}
	u, err := c.passkeyUser(r, s.member)
	if err != nil {
		c.jsonError(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	cred, err := c.wa.FinishRegistration(u, cer.data, r)
	if err != nil {
		c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Action: "passkey.refused", Detail: err.Error()})
		c.jsonError(w, r, http.StatusBadRequest, "err.passkey")
		return
	}
	raw, err := json.Marshal(cred)
	if err == nil {
		_, err = c.store.InsertTeamPasskey(r.Context(), storage.TeamPasskey{MemberID: s.member.ID,
			CredentialID: base64.RawURLEncoding.EncodeToString(cred.ID), Credential: string(raw), CreatedAt: c.now().UTC()})
	}
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: s.member.ID, Actor: s.member.Email, Action: "passkey.added", Target: s.member.Email})
	jsonAnswer(w, http.StatusOK, map[string]string{"message": tr(language(r), "passkey.added")})
}

// preCSRFHeader checks the pre-login CSRF token sent by the script.
func preCSRFHeader(r *http.Request) bool {
	ck, err := r.Cookie(preCSRFCookie)
	h := r.Header.Get("X-CSRF-Token")
	return err == nil && h != "" && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(h)) == 1
}

// passkeyLoginOptions starts a passkey login (POST /admin/login/passkey/options).
func (c *Console) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	if c.wa == nil {
		c.jsonError(w, r, http.StatusNotFound, "err.passkeys")
		return
	}
	if !preCSRFHeader(r) {
		c.jsonError(w, r, http.StatusForbidden, "err.csrf")
		return
	}
	opts, data, err := c.wa.BeginDiscoverableLogin()
	if err != nil {
		c.jsonError(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	c.startCeremony(w, data, 0)
	jsonAnswer(w, http.StatusOK, opts)
}

// passkeyLogin finishes a passkey login and starts a session
// (POST /admin/login/passkey).
func (c *Console) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	if c.wa == nil {
		c.jsonError(w, r, http.StatusNotFound, "err.passkeys")
		return
	}
	if !preCSRFHeader(r) {
		c.auditLog(r, storage.AuditEntry{Action: "csrf.refused", Target: r.URL.Path})
		c.jsonError(w, r, http.StatusForbidden, "err.csrf")
		return
	}
	now := c.now()
	addr := clientAddr(r)
	if blocked, _ := c.perAddr.Blocked("addr "+addr, now); blocked {
		c.jsonError(w, r, http.StatusTooManyRequests, "err.limitedshort")
		return
	}
	cer, ok := c.takeCeremony(r)
	refuse := func(detail string, memberID int64, email string) {
		c.perAddr.Add("addr "+addr, now)
		c.auditLog(r, storage.AuditEntry{MemberID: memberID, Actor: email, Action: "login.failed", Detail: "passkey: " + detail})
		c.jsonError(w, r, http.StatusForbidden, "err.passkey")
	}
	if !ok {
		refuse("unknown, used or expired challenge", 0, "")
		return
	}
	var found *passkeyUser
	user, cred, err := c.wa.FinishPasskeyLogin(func(rawID, userHandle []byte) (webauthn.User, error) {
		if len(userHandle) != 8 {
			return nil, errors.New("unknown user handle")
		}
		m, err := c.store.GetTeamMember(r.Context(), int64(binary.BigEndian.Uint64(userHandle)))
		if err != nil {
			return nil, err
		}
		if found, err = c.passkeyUser(r, m); err != nil {
			return nil, err
		}
		return found, nil
	}, cer.data, r)
	if err != nil || user == nil || found == nil {
		var id int64
		var email string
		if found != nil {
			id, email = found.m.ID, found.m.Email
		}
		detail := "no such passkey"
		if err != nil {
			detail = err.Error()
		}
		refuse(detail, id, email)
		return
	}
	if raw, err := json.Marshal(cred); err == nil { // the new sign count
		if err := c.store.UpdateTeamPasskey(r.Context(), base64.RawURLEncoding.EncodeToString(cred.ID), string(raw)); err != nil {
			c.jsonError(w, r, http.StatusInternalServerError, "err.internal")
			return
		}
	}
	if err := c.startSession(w, r, found.m.ID); err != nil {
		c.jsonError(w, r, http.StatusInternalServerError, "err.internal")
		return
	}
	c.auditLog(r, storage.AuditEntry{MemberID: found.m.ID, Actor: found.m.Email, Action: "login", Target: found.m.Email, Detail: "passkey"})
	jsonAnswer(w, http.StatusOK, map[string]string{"next": safeNext(r.URL.Query().Get("next"))})
}

func (c *Console) passkeyJS(w http.ResponseWriter, r *http.Request) {
	b, _ := templateFS.ReadFile("templates/passkey.js")
	w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}
