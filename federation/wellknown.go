package federation

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/passerelle/passerelle/hostport"
)

// Routes registers the federation endpoints on mux.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /.well-known/webfinger", s.webfinger)
	mux.HandleFunc("GET /.well-known/host-meta", s.hostMeta)
	mux.HandleFunc("GET /.well-known/host-meta.json", s.hostMetaJSON)
	mux.HandleFunc("GET /.well-known/nodeinfo", s.nodeinfoDiscovery)
	mux.HandleFunc("GET /nodeinfo/2.1", s.nodeinfo)
	mux.HandleFunc("GET /actor", s.instanceActor)
	mux.HandleFunc("GET /actor/outbox", s.instanceOutbox)
	mux.HandleFunc("GET /actor/ed25519-key", s.instanceKey)
	mux.HandleFunc("GET /users/{name}", s.actor)
	mux.HandleFunc("GET /users/{name}/ed25519-key", s.accountKey)
	mux.HandleFunc("GET /users/{name}/followers", s.followers)
	mux.HandleFunc("GET /users/{name}/following", s.following) // follows.go
	mux.HandleFunc("GET /users/{name}/outbox", s.outbox)
	mux.HandleFunc("GET /users/{name}/collections/featured", s.featured)
	mux.HandleFunc("GET /users/{name}/statuses/{id}", s.note)
	mux.HandleFunc("GET /users/{name}/statuses/{id}/activity", s.noteActivity)
	mux.HandleFunc("GET /users/{name}/statuses/{id}/quotes/{qid}", s.quoteAuthorization)                 // interactions.go
	mux.HandleFunc("GET /users/{name}/statuses/{id}/authorizations/{aid}", s.authorization)              // approvals.go
	mux.HandleFunc("GET /users/{name}/statuses/{id}/authorizations/{aid}/accept", s.authorizationAccept) // approvals.go
	mux.HandleFunc("GET /users/{name}/{asset}", s.profileAssetFile)
	mux.HandleFunc("POST /users/{name}/inbox", s.inbox)
	mux.HandleFunc("POST /actor/inbox", s.inbox)
	mux.HandleFunc("POST /inbox", s.inbox)
}

// onAccountDomain reports whether the request came to the account domain
// (when it is not the public host): its discovery documents redirect to the
// public host, as Mastodon and GoToSocial expect.
func (s *Service) redirectFromAccountDomain(w http.ResponseWriter, r *http.Request) bool {
	if s.set.Federation.AccountDomain == "" || strings.EqualFold(r.Host, s.publicHost) {
		return false
	}
	if !strings.EqualFold(hostport.Host(r.Host), hostport.Host(s.handleDomain)) {
		return false
	}
	http.Redirect(w, r, s.set.BaseURL+r.URL.RequestURI(), http.StatusMovedPermanently)
	return true
}

func (s *Service) webfinger(w http.ResponseWriter, r *http.Request) {
	if s.redirectFromAccountDomain(w, r) {
		return
	}
	resource := r.URL.Query().Get("resource")
	if resource == "" {
		writeError(w, http.StatusBadRequest, "missing resource parameter")
		return
	}
	la := s.lookupResource(resource)
	if la == nil {
		writeError(w, http.StatusNotFound, "no such account")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jrd+json; charset=utf-8")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cache-Control", "max-age=3600, public")
	w.Write(la.jrd)
}

// lookupResource resolves a WebFinger resource: acct:user@domain (the user
// part case-insensitive; the domain the handle domain or the public host),
// or one of our actor or profile URLs.
func (s *Service) lookupResource(resource string) *localActor {
	if strings.HasPrefix(resource, "http://") || strings.HasPrefix(resource, "https://") {
		u, err := url.Parse(resource)
		if err != nil || !strings.EqualFold(u.Host, s.publicHost) {
			return nil
		}
		switch {
		case u.Path == "/actor":
			return s.instance
		case strings.HasPrefix(u.Path, "/users/"):
			return s.accounts[strings.ToLower(strings.TrimPrefix(u.Path, "/users/"))]
		case strings.HasPrefix(u.Path, "/@"):
			return s.accounts[strings.ToLower(strings.TrimPrefix(u.Path, "/@"))]
		}
		return nil
	}
	acct := strings.TrimPrefix(resource, "acct:")
	acct = strings.TrimPrefix(acct, "@")
	user, domain, ok := strings.Cut(acct, "@")
	if !ok || user == "" {
		return nil
	}
	if !strings.EqualFold(domain, s.handleDomain) && !strings.EqualFold(domain, s.publicHost) {
		return nil
	}
	if strings.EqualFold(user, s.instance.name) {
		return s.instance
	}
	return s.accounts[strings.ToLower(user)]
}

type jrdLink struct {
	Rel      string `json:"rel"`
	Type     string `json:"type,omitempty"`
	Href     string `json:"href,omitempty"`
	Template string `json:"template,omitempty"`
}

func (s *Service) encodeJRD(la *localActor, actorID, profileURL string) ([]byte, error) {
	doc := struct {
		Subject string    `json:"subject"`
		Aliases []string  `json:"aliases"`
		Links   []jrdLink `json:"links"`
	}{Subject: "acct:" + la.name + "@" + s.handleDomain, Aliases: []string{actorID}}
	if profileURL != "" {
		doc.Aliases = append(doc.Aliases, profileURL)
		doc.Links = append(doc.Links, jrdLink{Rel: "http://webfinger.net/rel/profile-page", Type: "text/html", Href: profileURL})
	}
	doc.Links = append(doc.Links, jrdLink{Rel: "self", Type: contentTypeAS2, Href: actorID})
	return json.Marshal(doc)
}

func (s *Service) lrddTemplate() string {
	return s.set.BaseURL + "/.well-known/webfinger?resource={uri}"
}

func (s *Service) hostMeta(w http.ResponseWriter, r *http.Request) {
	if s.redirectFromAccountDomain(w, r) {
		return
	}
	if strings.Contains(r.Header.Get("Accept"), "json") {
		s.hostMetaJSON(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/xrd+xml; charset=utf-8")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">` + "\n" +
		`  <Link rel="lrdd" template="` + xmlEscape(s.lrddTemplate()) + `"/>` + "\n" +
		`</XRD>` + "\n"))
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

func (s *Service) hostMetaJSON(w http.ResponseWriter, r *http.Request) {
	if s.redirectFromAccountDomain(w, r) {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, "application/json", map[string]any{
		"links": []jrdLink{{Rel: "lrdd", Template: s.lrddTemplate()}},
	})
}

const nodeinfoSchema = "http://nodeinfo.diaspora.software/ns/schema/2.1"

func (s *Service) nodeinfoDiscovery(w http.ResponseWriter, r *http.Request) {
	if s.redirectFromAccountDomain(w, r) {
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, "application/json", map[string]any{
		"links": []jrdLink{{Rel: nodeinfoSchema, Href: s.set.BaseURL + "/nodeinfo/2.1"}},
	})
}

func (s *Service) nodeinfo(w http.ResponseWriter, r *http.Request) {
	users := len(s.accounts)
	var posts int64
	for _, la := range s.accounts {
		n, err := s.store.CountStatuses(r.Context(), la.name, publicVisibilities)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		posts += n
	}
	w.Header().Set("Access-Control-Allow-Origin", "*")
	writeJSON(w, `application/json; profile="`+nodeinfoSchema+`#"`, map[string]any{
		"version": "2.1",
		"software": map[string]any{
			"name":       "passerelle",
			"version":    s.set.Version,
			"repository": "https://github.com/passerelle/passerelle",
			"homepage":   "https://github.com/passerelle/passerelle",
		},
		"protocols":         []string{"activitypub"},
		"services":          map[string]any{"inbound": []string{}, "outbound": []string{}},
		"openRegistrations": false,
		"usage": map[string]any{
			"users":      map[string]int{"total": users, "activeMonth": users, "activeHalfyear": users},
			"localPosts": posts,
		},
		"metadata": map[string]any{"nodeName": s.handleDomain},
	})
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Write(b)
}

// writeError answers with a short, client-safe reason.
func writeError(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	b, _ := json.Marshal(map[string]string{"error": reason})
	w.Write(b)
}
