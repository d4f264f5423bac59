package api

import (
	"cmp"
	"context"
	"net/http"
	"slices"

	"github.com/passerelle/passerelle/publish"
)

// Scheduled statuses (POST /api/v1/statuses with scheduled_at) are listed,
// moved and cancelled through /api/v1/scheduled_statuses, as on Mastodon.
// They are durable jobs of package publish: they survive restarts, and
// once their time has come (the scheduler claimed them) they are no longer
// listed and answer 404.

// scheduledRoutes registers the scheduled statuses' routes.
func (s *Server) scheduledRoutes(handle func(pattern string, h http.HandlerFunc)) {
	handle("GET /api/v1/scheduled_statuses", s.user("read:statuses", s.listScheduled))
	handle("GET /api/v1/scheduled_statuses/{id}", s.user("read:statuses", s.getScheduled))
	handle("PUT /api/v1/scheduled_statuses/{id}", s.user("write:statuses", s.editorOnly(s.audited("scheduled.edit", s.updateScheduled))))
	handle("DELETE /api/v1/scheduled_statuses/{id}", s.user("write:statuses", s.editorOnly(s.audited("scheduled.cancel", s.cancelScheduled))))
}

// ScheduledPoll is the poll of a scheduled status's params, as Mastodon
// keeps it.
type ScheduledPoll struct {
	Options    []string `json:"options"`
	ExpiresIn  int      `json:"expires_in"`
	Multiple   bool     `json:"multiple"`
	HideTotals bool     `json:"hide_totals"`
}

// scheduledEntity is Mastodon's ScheduledStatus for sc.
func (s *Server) scheduledEntity(ctx context.Context, c *caller, sc publish.Scheduled) ScheduledStatus {
	d := sc.Draft
	out := ScheduledStatus{
		ID: idString(sc.ID), ScheduledAt: timeString(sc.ScheduledAt), MediaAttachments: []MediaAttachment{},
		Params: ScheduledParams{
			Text: d.Text, MediaIDs: []string{}, Sensitive: d.Sensitive || d.SpoilerText != "",
			SpoilerText: optString(d.SpoilerText), Visibility: d.Visibility, Language: optString(d.Language),
			Idempotency: optString(d.IdempotencyKey),
		},
	}
	if d.InReplyToID != 0 {
		out.Params.InReplyToID = optString(idString(d.InReplyToID))
	}
	if p := d.Poll; p != nil {
		out.Params.Poll = ScheduledPoll{Options: p.Options, ExpiresIn: p.ExpiresIn, Multiple: p.Multiple, HideTotals: p.HideTotals}
	}
	for _, id := range d.MediaIDs {
		out.Params.MediaIDs = append(out.Params.MediaIDs, idString(id))
		if m, err := s.pub.Media(ctx, c.name, id); err == nil {
			out.MediaAttachments = append(out.MediaAttachments, s.mediaEntity(m))
		}
	}
	return out
}

// listScheduled answers the caller's scheduled statuses, soonest first,
// with Mastodon's paging by id (max_id, since_id, min_id, limit) and Link
// header.
func (s *Server) listScheduled(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	all, err := s.pub.ListScheduled(ctx, c.name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := pageParams(r)
	// Mastodon orders by id, newest first, and pages by id.
	slices.SortFunc(all, func(a, b publish.Scheduled) int { return cmp.Compare(b.ID, a.ID) })
	var page []publish.Scheduled
	for _, sc := range all {
		if (p.MaxID != 0 && sc.ID >= p.MaxID) || (p.SinceID != 0 && sc.ID <= p.SinceID) || (p.MinID != 0 && sc.ID <= p.MinID) {
			continue
		}
		page = append(page, sc)
	}
	if len(page) > p.Limit {
		if p.MinID != 0 { // the oldest ones above min_id
			page = page[len(page)-p.Limit:]
		} else {
			page = page[:p.Limit]
		}
	}
	out := make([]ScheduledStatus, 0, len(page))
	for _, sc := range page {
		out = append(out, s.scheduledEntity(ctx, c, sc))
	}
	if len(out) > 0 {
		link := func(key, id string) string {
			q := r.URL.Query()
			for _, k := range []string{"max_id", "since_id", "min_id"} {
				q.Del(k)
			}
			q.Set(key, id)
			return "<" + s.set.BaseURL + r.URL.Path + "?" + q.Encode() + ">"
		}
		w.Header().Set("Link", link("max_id", out[len(out)-1].ID)+`; rel="next", `+link("min_id", out[0].ID)+`; rel="prev"`)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) scheduledID(r *http.Request) (int64, bool) {
	return parseID(r.PathValue("id"))
}

func (s *Server) getScheduled(w http.ResponseWriter, r *http.Request, c *caller) {
	id, ok := s.scheduledID(r)
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	sc, err := s.pub.GetScheduled(r.Context(), c.name, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.scheduledEntity(r.Context(), c, sc))
}

// updateScheduled moves a scheduled status (Mastodon changes only
// scheduled_at).
func (s *Server) updateScheduled(w http.ResponseWriter, r *http.Request, c *caller) {
	id, ok := s.scheduledID(r)
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	at := p.str("scheduled_at")
	if at == "" {
		s.fail(w, r, unprocessable("Validation failed: Scheduled at can't be blank"))
		return
	}
	when, err := parseScheduledAt(at)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sc, err := s.pub.Reschedule(r.Context(), c.name, id, when)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.scheduledEntity(r.Context(), c, sc))
}

// cancelScheduled deletes a scheduled status; Mastodon answers {}.
func (s *Server) cancelScheduled(w http.ResponseWriter, r *http.Request, c *caller) {
	id, ok := s.scheduledID(r)
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	if err := s.pub.CancelScheduled(r.Context(), c.name, id); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}
