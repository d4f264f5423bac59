package federation

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/storage"
)

// outboxPageSize is the number of activities per outbox page.
const outboxPageSize = 20

var publicVisibilities = []string{storage.VisibilityPublic, storage.VisibilityUnlisted}

// publicStatus loads a status of the account named in the path that may be
// shown to anyone; it answers 404/410 itself otherwise.
func (s *Service) publicStatus(w http.ResponseWriter, r *http.Request) (*localActor, storage.Status, bool) {
	la := s.account(w, r)
	if la == nil {
		return nil, storage.Status{}, false
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusNotFound, "no such status")
		return nil, storage.Status{}, false
	}
	st, err := s.store.GetStatus(r.Context(), id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (st.Account != la.name || !slices.Contains(publicVisibilities, st.Visibility))) {
		writeError(w, http.StatusNotFound, "no such status")
		return nil, storage.Status{}, false
	}
	if err != nil {
		s.internalError(w, r, err)
		return nil, storage.Status{}, false
	}
	if !st.DeletedAt.IsZero() {
		body, err := EncodeTombstone(s.links.Note(la.name, st.ID), st.DeletedAt)
		if err != nil {
			s.internalError(w, r, err)
			return nil, storage.Status{}, false
		}
		w.Header().Set("Content-Type", contentTypeAS2+"; charset=utf-8")
		w.WriteHeader(http.StatusGone)
		w.Write(body)
		return nil, storage.Status{}, false
	}
	return la, st, true
}

// note serves a status as an AS2 Note, or redirects a browser to its
// permalink.
func (s *Service) note(w http.ResponseWriter, r *http.Request) {
	la, st, ok := s.publicStatus(w, r)
	if !ok {
		return
	}
	if !wantsAS2(r) {
		w.Header().Set("Vary", "Accept")
		http.Redirect(w, r, s.links.NoteURL(la.name, st.ID), http.StatusFound)
		return
	}
	n, err := s.noteOf(r, st)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	body, err := EncodeNote(n)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

// noteActivity serves the Create of a status.
func (s *Service) noteActivity(w http.ResponseWriter, r *http.Request) {
	_, st, ok := s.publicStatus(w, r)
	if !ok {
		return
	}
	n, err := s.noteOf(r, st)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	body, err := EncodeNoteActivity("Create", n)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

func (s *Service) noteOf(r *http.Request, st storage.Status) (Note, error) {
	var media []storage.Media
	if len(st.MediaIDs) > 0 {
		var err error
		if media, err = s.store.ListStatusMedia(r.Context(), st.ID); err != nil {
			return Note{}, err
		}
	}
	n, err := s.NoteFromStatus(st, media)
	if err != nil {
		return Note{}, err
	}
	if err := s.applyPoll(r.Context(), s.store, &n, st.ID); err != nil { // polls.go
		return Note{}, err
	}
	return n, s.ApplyStatusPolicy(r.Context(), s.store, &n, st.ID) // interactions.go
}

// outbox serves the public and unlisted statuses as Create activities,
// and the account's boosts as Announces, newest first, paged by max_id.
func (s *Service) outbox(w http.ResponseWriter, r *http.Request) {
	la := s.account(w, r)
	if la == nil {
		return
	}
	ctx := r.Context()
	id := la.id + "/outbox"
	total, err := s.store.CountStatuses(ctx, la.name, publicVisibilities)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	boosts, err := s.store.CountOwnReblogs(ctx, la.name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	total += boosts
	q := r.URL.Query()
	if _, ok := q["page"]; !ok {
		body, err := EncodeOrderedCollection(id, total, id+"?page=true")
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		writeAS2(w, body)
		return
	}
	maxID, _ := strconv.ParseInt(q.Get("max_id"), 10, 64)
	page := storage.StatusPage{Account: la.name, MaxID: maxID, Limit: outboxPageSize, Visibilities: publicVisibilities}
	rows, err := s.store.ListStatuses(ctx, page)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	reblogs, err := s.store.ListOwnReblogs(ctx, page)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	// Reposts of Bluesky posts (at:// objects) were made on Bluesky only.
	reblogs = slices.DeleteFunc(reblogs, func(rb storage.OwnReaction) bool { return strings.HasPrefix(rb.ObjectURI, "at://") })
	items := make([]any, 0, outboxPageSize)
	var last int64
	for len(items) < outboxPageSize && (len(rows) > 0 || len(reblogs) > 0) {
		if len(reblogs) == 0 || (len(rows) > 0 && rows[0].ID > reblogs[0].ID) {
			n, err := s.noteOf(r, rows[0])
			if err != nil {
				s.internalError(w, r, err)
				return
			}
			items = append(items, noteActivity("Create", n))
			last, rows = rows[0].ID, rows[1:]
			continue
		}
		rb := reblogs[0]
		author := la.id
		if rb.RemoteStatusID != 0 {
			rs, err := s.store.GetRemoteStatus(ctx, rb.RemoteStatusID)
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				s.internalError(w, r, err)
				return
			}
			author = rs.ActorID
		}
		items = append(items, reactionJSON(s.reactionDoc(Reaction{OwnReaction: rb, Author: author})))
		last, reblogs = rb.ID, reblogs[1:]
	}
	out := map[string]any{
		"@context":     noteContext,
		"id":           id + "?" + r.URL.RawQuery,
		"type":         "OrderedCollectionPage",
		"partOf":       id,
		"totalItems":   total,
		"orderedItems": items,
	}
	if len(items) == outboxPageSize {
		out["next"] = id + "?page=true&max_id=" + strconv.FormatInt(last, 10)
	}
	body, err := marshalJSON(out)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}

// featured serves the pinned statuses, embedded, most recently pinned first.
func (s *Service) featured(w http.ResponseWriter, r *http.Request) {
	la := s.account(w, r)
	if la == nil {
		return
	}
	rows, err := s.store.ListPinned(r.Context(), la.name)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	items := make([]any, 0, len(rows))
	for _, st := range rows {
		if !slices.Contains(publicVisibilities, st.Visibility) {
			continue
		}
		n, err := s.noteOf(r, st)
		if err != nil {
			s.internalError(w, r, err)
			return
		}
		items = append(items, noteDoc(n))
	}
	body, err := marshalJSON(map[string]any{
		"@context":     noteContext,
		"id":           la.id + "/collections/featured",
		"type":         "OrderedCollection",
		"totalItems":   len(items),
		"orderedItems": items,
	})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	writeAS2(w, body)
}
