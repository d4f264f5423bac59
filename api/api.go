package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/push"
	"github.com/passerelle/passerelle/ratelimit"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Settings are what the API needs from the configuration.
type Settings struct {
	// BaseURL is the public URL without a trailing slash.
	BaseURL  string
	Accounts []config.Account
	// HandleDomain is the domain of our handles (instance "domain").
	HandleDomain string
	// Version is Passerelle's version, reported inside the Mastodon
	// compatible version string.
	Version string
	// InstanceTitle is the instance's title; default "Passerelle".
	InstanceTitle string
	// Moderation gives the API the domain blocks (domain_blocks, raid
	// blocks); nil answers those calls with 503.
	Moderation DomainModerator
	// Push is the Web Push service; nil: the subscription calls answer
	// 404 as if there were none, and creating one answers 503.
	Push *push.Service
	// Team is the comms team's console: members authorize apps on
	// /oauth/authorize with their own login; nil: login codes only.
	Team TeamLogin
	// Bluesky acts on Bluesky accounts (blocks, mutes, reports:
	// bluesky_actions.go); nil: Bluesky accounts are blocked and muted
	// here only, and cannot be reported.
	Bluesky BlueskyActions
}

// MastodonVersion is the Mastodon API level we answer as. Clients parse
// the version string of the instance to enable features.
const MastodonVersion = "4.3.0"

// SourceURL is where Passerelle's source code lives (instance source_url).
const SourceURL = "https://github.com/passerelle/passerelle"

// Server serves the client API.
type Server struct {
	set      Settings
	store    storage.Store
	pub      *publish.Service
	fed      *federation.Service
	links    links.Site // our own URLs
	log      zerolog.Logger
	now      func() time.Time
	accounts map[string]config.Account // by lower-cased username
	order    []string                  // configuration order

	logins  *ratelimit.Windows // wrong login codes, per account and client address
	guesses *ratelimit.Windows // wrong login codes, per account (limiter.go: burns its codes)
	apps    *ratelimit.Windows // app registrations, per client address
	mod     DomainModerator    // domain blocks (safety.go); nil: none
	push    *push.Service      // Web Push (push.go); nil: none
	team    TeamLogin          // team logins (team.go); nil: none

	burntMu sync.Mutex
	burnt   map[string]time.Time // when an account's login codes were last burnt

	createdMu sync.Mutex
	created   map[string]time.Time // account creation dates (immutable)
}

// New builds the API server.
func New(set Settings, store storage.Store, pub *publish.Service, fed *federation.Service, logger zerolog.Logger) *Server {
	set.BaseURL = strings.TrimRight(set.BaseURL, "/")
	if set.InstanceTitle == "" {
		set.InstanceTitle = "Passerelle"
	}
	s := &Server{
		set:      set,
		store:    store,
		pub:      pub,
		fed:      fed,
		links:    fed.Links(),
		mod:      set.Moderation,
		push:     set.Push,
		team:     set.Team,
		log:      logger,
		now:      time.Now,
		accounts: map[string]config.Account{},
		logins:   ratelimit.NewWindows(loginAttempts, loginWindow, limiterKeys),
		guesses:  ratelimit.NewWindows(loginCodeGuesses, LoginCodeTTL, limiterKeys),
		apps:     ratelimit.NewWindows(appRegistrations, appWindow, limiterKeys),
		burnt:    map[string]time.Time{},
		created:  map[string]time.Time{},
	}
	for _, a := range set.Accounts {
		name := strings.ToLower(a.Username)
		if _, dup := s.accounts[name]; dup {
			continue
		}
		s.accounts[name] = a
		s.order = append(s.order, name)
	}
	return s
}

// SetClock replaces the clock (tests).
func (s *Server) SetClock(now func() time.Time) { s.now = now }

// Routes registers the API on mux. Each route states the scope it needs.
// Everything but the HTML login page answers cross-origin requests (web
// clients run on other origins; tokens are bearer headers, never cookies).
func (s *Server) Routes(mux *http.ServeMux) {
	handle := func(pattern string, h http.HandlerFunc) { mux.Handle(pattern, cors(h)) }

	// OAuth and apps.
	handle("POST /api/v1/apps", s.createApp)
	handle("GET /api/v1/apps/verify_credentials", s.anyToken("", s.verifyApp))
	// With a trailing slash too: Debian's toot sends /oauth/authorize/.
	for _, p := range []string{"/oauth/authorize", "/oauth/authorize/{$}"} {
		mux.HandleFunc("GET "+p, s.authorizePage)
		mux.HandleFunc("POST "+p, s.authorize)
	}
	handle("POST /oauth/token", s.token)
	handle("POST /oauth/revoke", s.revoke)
	handle("GET /.well-known/oauth-authorization-server", s.oauthMetadata)
	for _, p := range []string{"/api/", "/oauth/token", "/oauth/revoke", "/.well-known/oauth-authorization-server", "/media/"} {
		handle("OPTIONS "+p, preflight)
	}
	// Unknown API paths answer Mastodon's JSON 404, never the mux's
	// plain-text 404 or 405: clients (masto.js among them) treat a
	// non-JSON answer as a broken server, not as a missing feature. The
	// GET catch-all needs three segments or more (/api/VERSION/...): "GET
	// /api/" would clash with the web pages' "GET /{at}/{id}".
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		handle(m+" /api/", s.unknownRoute)
	}
	handle("GET /api/{version}/{rest...}", s.unknownRoute)

	// Statuses.
	handle("POST /api/v1/statuses", s.user("write:statuses", s.contributorDrafts(s.audited("status.create", s.createStatus), s.audited("draft.create", s.createStatus))))
	handle("GET /api/v1/statuses/{id}", s.optional("read:statuses", s.getStatus))
	handle("GET /api/v1/polls/{id}", s.user("read:statuses", s.getPoll))
	handle("POST /api/v1/polls/{id}/votes", s.user("write:statuses", s.votePoll))
	handle("PUT /api/v1/statuses/{id}", s.user("write:statuses", s.editorOnly(s.audited("status.edit", s.editStatus))))
	handle("DELETE /api/v1/statuses/{id}", s.user("write:statuses", s.editorOnly(s.audited("status.delete", s.deleteStatus))))
	handle("POST /api/v1/statuses/{id}/pin", s.user("write:accounts", s.editorOnly(s.audited("status.pin", s.pinStatus(true)))))
	handle("POST /api/v1/statuses/{id}/unpin", s.user("write:accounts", s.editorOnly(s.audited("status.unpin", s.pinStatus(false)))))
	handle("GET /api/v1/statuses/{id}/source", s.user("read:statuses", s.statusSource))
	handle("GET /api/v1/statuses/{id}/context", s.optional("read:statuses", s.statusContext))
	handle("GET /api/v1/passerelle/statuses/{id}/delivery", s.user("read:statuses", s.delivery))
	s.interactionRoutes(handle) // notifications, raids, blocks, mutes, domain blocks, filters (notifications.go)
	s.scheduledRoutes(handle)   // scheduled.go
	s.presenceRoutes(handle)    // search, boosts, favourites, who reacted, history (presence.go)
	s.followRoutes(handle)      // follow, followers, following, follow requests (follows.go)
	s.blueskyRoutes(handle)     // reports of Bluesky accounts (bluesky_actions.go)
	s.crisisRoutes(handle)      // crisis mode (crisis.go)

	// Accounts.
	handle("GET /api/v1/accounts/verify_credentials", s.user("read:accounts|profile", s.verifyCredentials))
	handle("GET /api/v1/accounts/lookup", s.optional("read:accounts", s.lookupAccount))
	handle("GET /api/v1/accounts/{id}", s.optional("read:accounts", s.getAccount))
	handle("GET /api/v1/accounts/{id}/statuses", s.optional("read:statuses", s.accountStatuses))
	handle("GET /api/v1/timelines/home", s.user("read:statuses", s.homeTimeline))
	handle("GET /api/v1/preferences", s.user("read:accounts", s.preferences))

	// Media.
	handle("POST /api/v2/media", s.user("write:media", s.uploadMedia))
	handle("POST /api/v1/media", s.user("write:media", s.uploadMedia))
	handle("GET /api/v1/media/{id}", s.user("write:media", s.getMedia))
	handle("PUT /api/v1/media/{id}", s.user("write:media", s.updateMedia))
	handle("GET /media/{file}", s.mediaFile)
	handle("GET /media/{id}/poster.jpg", s.mediaPoster)
	handle("GET /static/avatar.png", serveStatic(avatarPNG))
	handle("GET /static/header.png", serveStatic(headerPNG))

	// Instance.
	handle("GET /api/v1/instance", s.instanceV1)
	handle("GET /api/v2/instance", s.instanceV2)

	// What apps call at login or around a status, answered empty so that
	// they do not error out: this server has no timelines, notifications
	// or social graph of its own.
	for path, scope := range map[string]string{
		"/api/v1/conversations": "read:statuses",
		"/api/v1/filters":       "read:filters",
		"/api/v1/lists":         "read:lists",
		"/api/v1/followed_tags": "read:follows",
		"/api/v1/bookmarks":     "read:bookmarks",
		"/api/v1/favourites":    "read:favourites",
		"/api/v1/featured_tags": "read:accounts",
		"/api/v1/endorsements":  "read:accounts",
		"/api/v2/suggestions":   "read",
	} {
		handle("GET "+path, s.user(scope, s.emptyList))
	}
	// The same, for what Mastodon also serves without a token.
	for path, scope := range map[string]string{
		"/api/v1/timelines/public":            "read:statuses",
		"/api/v1/timelines/tag/{tag}":         "read:statuses",
		"/api/v1/accounts/{id}/featured_tags": "read:accounts",
		"/api/v1/announcements":               "read",
		"/api/v1/suggestions":                 "read",
		"/api/v1/trends/tags":                 "read",
		"/api/v1/trends/statuses":             "read",
		"/api/v1/trends/links":                "read",
		"/api/v1/instance/rules":              "read",
		"/api/v1/custom_emojis":               "read",
	} {
		handle("GET "+path, s.optional(scope, s.emptyList))
	}
	handle("GET /api/v1/markers", s.user("read:statuses", s.emptyObject))
	handle("POST /api/v1/markers", s.user("write:statuses", s.emptyObject))
	s.pushRoutes(handle) // Web Push subscriptions (push.go)
}

// cors lets web clients on other origins call the API, as Mastodon does.
func cors(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			hd := w.Header()
			hd.Set("Access-Control-Allow-Origin", "*")
			hd.Set("Access-Control-Expose-Headers", "Link, Idempotency-Key, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Request-Id")
		}
		h(w, r)
	})
}

// preflight answers CORS preflight requests.
func preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS")
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h.Set("Access-Control-Allow-Headers", req)
	}
	h.Set("Access-Control-Max-Age", "86400")
	h.Add("Vary", "Access-Control-Request-Headers")
	w.WriteHeader(http.StatusNoContent)
}

// unknownRoute answers API paths we do not serve as Mastodon does.
func (s *Server) unknownRoute(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, errNotFound)
}

// apiError is an error answered to the client as is.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

var (
	errInvalidToken = &apiError{http.StatusUnauthorized, "The access token is invalid"}
	errScope        = &apiError{http.StatusForbidden, "This action is outside the authorized scopes"}
	errNotFound     = &apiError{http.StatusNotFound, "Record not found"}
	errNeedsUser    = &apiError{http.StatusUnprocessableEntity, "This method requires an authenticated user"}
	errBodyTooLarge = &apiError{http.StatusRequestEntityTooLarge, "Request body is too large"}
)

func unprocessable(msg string) error { return &apiError{http.StatusUnprocessableEntity, msg} }

// fail answers err as Mastodon does: {"error": "..."} with the status
// code that its kind calls for. Unexpected errors are logged here, once,
// and answered with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var (
		ae  *apiError
		ve  *publish.ValidationError
		me  *publish.MediaError
		mbe *http.MaxBytesError
	)
	code, msg := http.StatusInternalServerError, "Internal server error"
	switch {
	case errors.As(err, &ae):
		code, msg = ae.code, ae.msg
	case errors.As(err, &ve):
		code, msg = http.StatusUnprocessableEntity, ve.Msg
	case errors.As(err, &me):
		code, msg = http.StatusUnprocessableEntity, me.Msg
		if me.TooLarge {
			code = http.StatusRequestEntityTooLarge
		}
	case errors.As(err, &mbe):
		code, msg = http.StatusRequestEntityTooLarge, errBodyTooLarge.msg
	case errors.Is(err, publish.ErrNotFound), errors.Is(err, storage.ErrNotFound):
		code, msg = http.StatusNotFound, errNotFound.msg
	case errors.Is(err, publish.ErrUnreachable):
		code, msg = http.StatusServiceUnavailable, "The author's server cannot be reached; nothing was sent, try again later"
		reqlog.Logger(r.Context(), s.log).Warn().Err(err).Str("path", r.URL.Path).Msg("client API request: remote server unreachable")
	default:
		reqlog.Logger(r.Context(), s.log).Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("client API request failed")
	}
	if code == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="Passerelle", error="invalid_token", error_description="`+msg+`"`)
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

// writeJSON writes v as the JSON response.
func writeJSON(w http.ResponseWriter, code int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		code, body = http.StatusInternalServerError, []byte(`{"error":"Internal server error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(body)
}

func (s *Server) emptyList(w http.ResponseWriter, r *http.Request, c *caller) {
	writeJSON(w, http.StatusOK, []any{})
}

func (s *Server) emptyObject(w http.ResponseWriter, r *http.Request, c *caller) {
	writeJSON(w, http.StatusOK, map[string]any{})
}

// account returns one of our accounts by username (its API id).
func (s *Server) account(id string) (config.Account, bool) {
	a, ok := s.accounts[strings.ToLower(id)]
	return a, ok
}

// secureCookies reports whether the public URL is HTTPS.
func (s *Server) secureCookies() bool {
	u, err := url.Parse(s.set.BaseURL)
	return err == nil && u.Scheme == "https"
}
