package federation

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/passerelle/passerelle/reqlog"
)

// wantsAS2 reports whether the client asked for ActivityStreams rather than
// HTML.
func wantsAS2(r *http.Request) bool {
	a := r.Header.Get("Accept")
	return strings.Contains(a, "application/activity+json") || strings.Contains(a, "application/ld+json")
}

func (s *Service) account(w http.ResponseWriter, r *http.Request) *localActor {
	la := s.accounts[strings.ToLower(r.PathValue("name"))]
	if la == nil {
		writeError(w, http.StatusNotFound, "no such account")
	} else if !s.allowFetch(w, r, la) { // guard.go: refused domains, authorized fetch
		return nil
	}
	return la
}

func writeAS2(w http.ResponseWriter, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentTypeAS2+"; charset=utf-8")
	h.Set("Vary", "Accept")
	if h.Get("Cache-Control") == "" { // private when signed (guard.go)
		h.Set("Cache-Control", "max-age=180, public")
	}
	w.Write(body)
}

func (s *Service) actor(w http.ResponseWriter, r *http.Request) {
	la := s.account(w, r)
	if la == nil {
		return
	}
	if !wantsAS2(r) {
		// Browsers get the HTML profile.
		w.Header().Set("Vary", "Accept")
		http.Redirect(w, r, s.links.Profile(la.name), http.StatusFound)
		return
	}
	writeAS2(w, s.currentActorDoc(r.Context(), la)) // moves.go: movedTo, resolved alsoKnownAs
}

func (s *Service) instanceActor(w http.ResponseWriter, r *http.Request) {
	writeAS2(w, s.instance.doc)
}

// accountKey serves an account's Ed25519 key at its id (federation.go):
// to anyone, as the public key it is (verifiers fetch it unsigned too).
func (s *Service) accountKey(w http.ResponseWriter, r *http.Request) {
	la := s.accounts[strings.ToLower(r.PathValue("name"))]
	if la == nil || la.edKeyDoc == nil {
		writeError(w, http.StatusNotFound, "no such key")
		return
	}
	writeAS2(w, la.edKeyDoc)
}

func (s *Service) instanceKey(w http.ResponseWriter, r *http.Request) {
	writeAS2(w, s.instance.edKeyDoc)
}

// instanceOutbox serves the instance actor's outbox, which its document
// advertises: always empty (it posts nothing).
func (s *Service) instanceOutbox(w http.ResponseWriter, r *http.Request) {
	id := s.instance.id + "/outbox"
	body, err := EncodeOrderedCollectionPage(id, id, "", 0, nil)
	if _, ok := r.URL.Query()["page"]; !ok {
		body, err = EncodeOrderedCollection(id, 0, "")
	}
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

// followers serves the followers collection: its size always, and pages of
// actor ids (cursor = last actor id of the previous page) when
// followers_page_size is above zero.
func (s *Service) followers(w http.ResponseWriter, r *http.Request) {
	la := s.account(w, r)
	if la == nil {
		return
	}
	ctx := r.Context()
	id := la.id + "/followers"
	total, err := s.store.CountFollowers(ctx, la.name, "accepted")
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	size := s.set.Federation.FollowersPageSize
	page, hasPage := r.URL.Query()["page"]
	if !hasPage || size <= 0 {
		first := ""
		if size > 0 {
			first = id + "?page=true"
		}
		body, err := EncodeOrderedCollection(id, total, first)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		writeAS2(w, body)
		return
	}
	after := r.URL.Query().Get("after")
	rows, err := s.store.ListFollowers(ctx, la.name, "accepted", after, size+1)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	next := ""
	if len(rows) > size {
		rows = rows[:size]
		next = id + "?page=true&after=" + url.QueryEscape(rows[len(rows)-1].ActorID)
	}
	items := make([]string, len(rows))
	for i, f := range rows {
		items[i] = f.ActorID
	}
	pageID := id + "?page=" + url.QueryEscape(strings.Join(page, ""))
	if after != "" {
		pageID += "&after=" + url.QueryEscape(after)
	}
	body, err := EncodeOrderedCollectionPage(pageID, id, next, total, items)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

// profileAssetFile serves an avatar or header configured as a local file.
func (s *Service) profileAssetFile(w http.ResponseWriter, r *http.Request) {
	la := s.account(w, r)
	if la == nil {
		return
	}
	a, ok := la.assets[r.PathValue("asset")]
	if !ok || a.path == "" {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	w.Header().Set("Content-Type", a.mediaType)
	w.Header().Set("Cache-Control", "max-age=86400, public")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeFile(w, r, a.path)
}

func (s *Service) internalError(w http.ResponseWriter, r *http.Request, err error) {
	reqlog.Logger(r.Context(), s.log).Error().Err(err).Str("path", r.URL.Path).Msg("request failed")
	writeError(w, http.StatusInternalServerError, "internal error")
}
