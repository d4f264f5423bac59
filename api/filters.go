package api

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// Keyword filters: Mastodon's v2 filters API (title, contexts, action,
// expiry, keywords). On this server they hide what matches: remote posts
// in notifications ("notifications") and in a post's replies ("thread"),
// whatever their action (an app shows "warn" as hidden too).

// Filter is Mastodon's Filter entity (v2).
type Filter struct {
	ID           string          `json:"id"`
	Title        string          `json:"title"`
	Context      []string        `json:"context"`
	ExpiresAt    *string         `json:"expires_at"`
	FilterAction string          `json:"filter_action"`
	Keywords     []FilterKeyword `json:"keywords"`
	Statuses     []any           `json:"statuses"`
}

// FilterKeyword is Mastodon's FilterKeyword entity.
type FilterKeyword struct {
	ID        string `json:"id"`
	Keyword   string `json:"keyword"`
	WholeWord bool   `json:"whole_word"`
}

// Limits of filters.
const (
	maxFilters      = 100
	maxKeywords     = 100
	maxFilterTitle  = 256
	maxKeywordChars = 512
)

var (
	filterContexts = []string{"home", "notifications", "public", "thread", "account"}
	filterActions  = []string{"warn", "hide", "blur"}
)

func filterEntity(f storage.Filter) Filter {
	out := Filter{ID: idString(f.ID), Title: f.Title, Context: f.Context, ExpiresAt: optTime(f.ExpiresAt),
		FilterAction: f.Action, Keywords: []FilterKeyword{}, Statuses: []any{}}
	if out.Context == nil {
		out.Context = []string{}
	}
	for _, k := range f.Keywords {
		out.Keywords = append(out.Keywords, FilterKeyword{ID: idString(k.ID), Keyword: k.Keyword, WholeWord: k.WholeWord})
	}
	return out
}

func (s *Server) filterRoutes(handle func(string, http.HandlerFunc)) {
	handle("GET /api/v2/filters", s.user("read:filters", s.listFilters))
	handle("POST /api/v2/filters", s.user("write:filters", s.createFilter))
	handle("GET /api/v2/filters/{id}", s.user("read:filters", s.getFilter))
	handle("PUT /api/v2/filters/{id}", s.user("write:filters", s.updateFilter))
	handle("DELETE /api/v2/filters/{id}", s.user("write:filters", s.deleteFilter))
}

func (s *Server) listFilters(w http.ResponseWriter, r *http.Request, c *caller) {
	fs, err := s.store.ListFilters(r.Context(), c.name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]Filter, 0, len(fs))
	for _, f := range fs {
		out = append(out, filterEntity(f))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) ownFilter(ctx context.Context, c *caller, idText string) (storage.Filter, error) {
	id, ok := parseID(idText)
	if !ok {
		return storage.Filter{}, errNotFound
	}
	return s.store.GetFilter(ctx, c.name, id)
}

func (s *Server) getFilter(w http.ResponseWriter, r *http.Request, c *caller) {
	f, err := s.ownFilter(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, filterEntity(f))
}

// filterParams applies the request's fields to f; keywords_attributes
// entries add a keyword, or, with an id, change (or, with _destroy,
// remove) one.
func (s *Server) filterParams(p *params, f *storage.Filter, creating bool) error {
	if v, ok := p.get("title"); ok || creating {
		v = sanitize.Name(v, maxFilterTitle)
		if v == "" {
			return unprocessable("Validation failed: Title can't be blank")
		}
		f.Title = v
	}
	if ctxs, ok := p.list("context"); ok || creating {
		f.Context = nil
		for _, v := range ctxs {
			if !slices.Contains(filterContexts, v) {
				return unprocessable("Validation failed: Context contains an unknown value " + strconv.Quote(v))
			}
			if !slices.Contains(f.Context, v) {
				f.Context = append(f.Context, v)
			}
		}
		if len(f.Context) == 0 {
			return unprocessable("Validation failed: Context can't be blank")
		}
	}
	if v, ok := p.get("filter_action"); ok || creating {
		if v == "" {
			v = "warn"
		}
		if !slices.Contains(filterActions, v) {
			return unprocessable("Validation failed: Filter action is not included in the list")
		}
		f.Action = v
	}
	if v, ok := p.get("expires_in"); ok {
		if v == "" {
			f.ExpiresAt = time.Time{}
		} else {
			secs, err := strconv.ParseInt(v, 10, 64)
			if err != nil || secs <= 0 || secs > 10*365*86400 {
				return unprocessable("Validation failed: Expires in is not a valid number of seconds")
			}
			f.ExpiresAt = s.now().UTC().Add(time.Duration(secs) * time.Second)
		}
	}
	for _, kw := range p.objects("keywords_attributes") {
		id, hasID := parseID(kw["id"])
		i := slices.IndexFunc(f.Keywords, func(k storage.FilterKeyword) bool { return hasID && k.ID == id })
		if hasID && i < 0 {
			return unprocessable("Validation failed: keyword " + kw["id"] + " not found")
		}
		if boolParam(kw["_destroy"]) {
			if i >= 0 {
				f.Keywords = slices.Delete(f.Keywords, i, i+1)
			}
			continue
		}
		k := storage.FilterKeyword{}
		if i >= 0 {
			k = f.Keywords[i]
		}
		if v, ok := kw["keyword"]; ok || i < 0 {
			v = strings.TrimSpace(sanitize.Name(v, maxKeywordChars))
			if v == "" {
				return unprocessable("Validation failed: Keyword can't be blank")
			}
			k.Keyword = v
		}
		if v, ok := kw["whole_word"]; ok {
			k.WholeWord = boolParam(v)
		} else if i < 0 {
			k.WholeWord = true // Mastodon's default
		}
		if i >= 0 {
			f.Keywords[i] = k
		} else {
			f.Keywords = append(f.Keywords, k)
		}
	}
	if len(f.Keywords) > maxKeywords {
		return unprocessable("Validation failed: too many keywords")
	}
	return nil
}

func (s *Server) createFilter(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	existing, err := s.store.ListFilters(ctx, c.name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(existing) >= maxFilters {
		s.fail(w, r, unprocessable("Validation failed: too many filters"))
		return
	}
	f := storage.Filter{Account: c.name, CreatedAt: s.now().UTC()}
	if err := s.filterParams(p, &f, true); err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := s.store.InsertFilter(ctx, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeFilter(w, r, c, id)
}

func (s *Server) writeFilter(w http.ResponseWriter, r *http.Request, c *caller, id int64) {
	f, err := s.store.GetFilter(r.Context(), c.name, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, filterEntity(f))
}

func (s *Server) updateFilter(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	f, err := s.ownFilter(ctx, c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.filterParams(p, &f, false); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.UpdateFilter(ctx, f); err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeFilter(w, r, c, f.ID)
}

func (s *Server) deleteFilter(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	f, err := s.ownFilter(ctx, c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.DeleteFilter(ctx, c.name, f.ID); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// keywordFilter hides texts matching an account's live filters of one
// context (moderation.KeywordFilter, which push applies too).
type keywordFilter struct{ *moderation.KeywordFilter }

func (s *Server) keywordFilter(ctx context.Context, account, context string) (*keywordFilter, error) {
	fs, err := s.store.ListFilters(ctx, account)
	if err != nil {
		return nil, err
	}
	return &keywordFilter{moderation.NewKeywordFilter(fs, context, s.now())}, nil
}

// hides reports whether any of texts (plain text) matches a keyword.
func (kf *keywordFilter) hides(texts ...string) bool {
	return kf != nil && kf.KeywordFilter.Hides(texts...)
}
