package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// maxIdempotencyKey: longer keys are stored as their hash.
const maxIdempotencyKey = 128

// draft reads a status draft from p. For an edit, old gives the values of
// the fields the request leaves out (Mastodon changes only what is sent).
func draft(p *params, old *storage.Status) (publish.Draft, error) {
	var d publish.Draft
	if old != nil {
		d = publish.Draft{
			Text: old.Text, SpoilerText: old.SpoilerText, Sensitive: old.Sensitive,
			Language: old.Language, MediaIDs: old.MediaIDs,
		}
	}
	if v, ok := p.get("status"); ok || old == nil {
		d.Text = v
	}
	if v, ok := p.get("spoiler_text"); ok || old == nil {
		d.SpoilerText = v
	}
	if v, ok := p.get("sensitive"); ok || old == nil {
		d.Sensitive = boolParam(v)
	}
	if v, ok := p.get("language"); ok || old == nil {
		d.Language = v
	}
	if old == nil {
		poll, err := pollDraft(p) // polls.go; an edit keeps the poll
		if err != nil {
			return publish.Draft{}, err
		}
		d.Poll = poll
		d.Visibility = p.str("visibility")
		if v := p.str("in_reply_to_id"); v != "" {
			id, ok := parseID(v)
			if !ok {
				return publish.Draft{}, unprocessable("Validation failed: in_reply_to_id must be one of this account's posts")
			}
			d.InReplyToID = id
		}
	}
	if ids, ok := p.list("media_ids"); ok || old == nil {
		d.MediaIDs = nil
		for _, v := range ids {
			id, ok := parseID(v)
			if !ok {
				return publish.Draft{}, unprocessable(fmt.Sprintf("Validation failed: media %s not found", v))
			}
			d.MediaIDs = append(d.MediaIDs, id)
		}
	}
	return d, nil
}

func (s *Server) createStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := draft(p, nil)
	if err == nil {
		err = interactionPolicyParams(p, &d) // interaction.go
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		if len(key) > maxIdempotencyKey {
			key = "sha256:" + HashSecret(key)
		}
		d.IdempotencyKey = key
	}
	// Who made it, recorded with the status (and kept with a scheduled
	// one until it is published).
	d.By = &storage.StatusAttribution{MemberID: c.token.MemberID, AppID: c.token.AppID, TokenID: c.token.ID}
	if c.role == storage.RoleContributor {
		s.submitDraft(w, r, c, d, p.str("scheduled_at")) // team.go
		return
	}
	if at := p.str("scheduled_at"); at != "" {
		s.scheduleStatus(w, r, c, d, at)
		return
	}
	st, err := s.pub.Create(r.Context(), c.name, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	auditTarget(r, idString(st.ID))
	s.writeStatus(w, r, c, st, nil, false)
}

// ScheduledStatus is Mastodon's ScheduledStatus entity.
type ScheduledStatus struct {
	ID               string            `json:"id"`
	ScheduledAt      string            `json:"scheduled_at"`
	Params           ScheduledParams   `json:"params"`
	MediaAttachments []MediaAttachment `json:"media_attachments"`
}

// ScheduledParams are the parameters a scheduled status will be posted
// with.
type ScheduledParams struct {
	Text          string   `json:"text"`
	Poll          any      `json:"poll"`
	MediaIDs      []string `json:"media_ids"`
	Sensitive     bool     `json:"sensitive"`
	SpoilerText   *string  `json:"spoiler_text"`
	Visibility    string   `json:"visibility"`
	InReplyToID   *string  `json:"in_reply_to_id"` // a string: status ids exceed 2^53
	Language      *string  `json:"language"`
	ApplicationID *int64   `json:"application_id"`
	ScheduledAt   any      `json:"scheduled_at"`
	Idempotency   *string  `json:"idempotency"`
	WithRateLimit bool     `json:"with_rate_limit"`
}

// parseScheduledAt reads an ISO 8601 datetime (a date alone is midnight
// UTC, as in Rails).
func parseScheduledAt(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, unprocessable("Validation failed: Scheduled at is not a valid date and time")
}

// scheduleStatus stores the draft to be published at `at` by publish's
// scheduler: nothing is published now.
func (s *Server) scheduleStatus(w http.ResponseWriter, r *http.Request, c *caller, d publish.Draft, at string) {
	ctx := r.Context()
	when, err := parseScheduledAt(at)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sc, err := s.pub.Schedule(ctx, c.name, d, when)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.scheduledEntity(ctx, c, sc)) // scheduled.go
}

// writeStatus answers one status (its media loaded unless given);
// deleted answers with its source text instead of its content.
func (s *Server) writeStatus(w http.ResponseWriter, r *http.Request, c *caller, st storage.Status, media []storage.Media, deleted bool) {
	ctx := r.Context()
	var err error
	if media == nil && !deleted {
		if media, err = s.store.ListStatusMedia(ctx, st.ID); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	v, err := s.newStatusView(ctx, st.Account, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, err := v.status(ctx, st, media)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if deleted {
		out.Content, out.Text = nil, &st.Text
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	st, media, err := s.loadStatus(r.Context(), r.PathValue("id"), c)
	if errors.Is(err, errNotFound) && c != nil {
		s.writeRemoteStatus(w, r, c) // a remote post (safety.go)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeStatus(w, r, c, st, media, false)
}

// ownStatus loads a live status of the caller, else 404.
func (s *Server) ownStatus(ctx context.Context, c *caller, idText string) (storage.Status, []storage.Media, error) {
	id, ok := parseID(idText)
	if !ok {
		return storage.Status{}, nil, errNotFound
	}
	return s.pub.Status(ctx, c.name, id)
}

func (s *Server) editStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	old, _, err := s.ownStatus(ctx, c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := draft(p, &old)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.applyMediaAttributes(ctx, c, p, d.MediaIDs); err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.pub.Edit(ctx, c.name, old.ID, d)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.writeStatus(w, r, c, st, nil, false)
}

// applyMediaAttributes applies media_attributes[] (alt text and focus of
// the attached media, edited with the status). Every entry is checked
// before any is written.
func (s *Server) applyMediaAttributes(ctx context.Context, c *caller, p *params, attached []int64) error {
	type change struct {
		id    int64
		desc  *string
		focus *[2]float64
	}
	var changes []change
	for _, attr := range p.objects("media_attributes") {
		id, ok := parseID(attr["id"])
		if !ok || !containsID(attached, id) {
			return unprocessable(fmt.Sprintf("Validation failed: media %s not found", attr["id"]))
		}
		if _, err := s.pub.Media(ctx, c.name, id); err != nil {
			return unprocessable(fmt.Sprintf("Validation failed: media %d not found", id))
		}
		ch := change{id: id}
		if v, ok := attr["description"]; ok {
			if len([]rune(v)) > maxDescription {
				return unprocessable("Validation failed: Description is too long (maximum is 1500 characters)")
			}
			ch.desc = &v
		}
		if v, ok := attr["focus"]; ok && v != "" {
			f, err := parseFocus(v)
			if err != nil {
				return err
			}
			ch.focus = &f
		}
		changes = append(changes, ch)
	}
	for _, ch := range changes {
		if _, err := s.pub.UpdateMedia(ctx, c.name, ch.id, ch.desc, ch.focus); err != nil {
			return err
		}
	}
	return nil
}

func containsID(ids []int64, id int64) bool {
	for _, v := range ids {
		if v == id {
			return true
		}
	}
	return false
}

func (s *Server) deleteStatus(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	old, media, err := s.ownStatus(ctx, c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st, err := s.pub.Delete(ctx, c.name, old.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if media == nil {
		media = []storage.Media{}
	}
	s.writeStatus(w, r, c, st, media, true)
}

func (s *Server) pinStatus(pinned bool) handler {
	return func(w http.ResponseWriter, r *http.Request, c *caller) {
		ctx := r.Context()
		old, _, err := s.ownStatus(ctx, c, r.PathValue("id"))
		if err != nil {
			s.fail(w, r, err)
			return
		}
		st, err := s.pub.SetPinned(ctx, c.name, old.ID, pinned)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.writeStatus(w, r, c, st, nil, false)
	}
}

func (s *Server) statusSource(w http.ResponseWriter, r *http.Request, c *caller) {
	st, _, err := s.ownStatus(r.Context(), c, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, StatusSource{ID: idString(st.ID), Text: st.Text, SpoilerText: st.SpoilerText})
}

// Delivery is how far a status's delivery went.
type Delivery struct {
	ServersReached int64 `json:"servers_reached"`
	Pending        int64 `json:"pending"`
	Failed         int64 `json:"failed"`
	FanoutPending  bool  `json:"fanout_pending"`
	// Bluesky is the post's Bluesky mirror (absent when not mirrored);
	// after a delete its state is "deleted" once the records are gone.
	Bluesky *atproto.PostStatus `json:"bluesky,omitempty"`
	// DeletedAt and Deletion are set once the status is deleted: when,
	// and how far the delivery of its Delete went.
	DeletedAt *time.Time     `json:"deleted_at,omitempty"`
	Deletion  *DeliveryStats `json:"deletion,omitempty"`
}

// DeliveryStats is how far the delivery of one activity went.
type DeliveryStats struct {
	ServersReached int64 `json:"servers_reached"`
	Pending        int64 `json:"pending"`
	Failed         int64 `json:"failed"`
	FanoutPending  bool  `json:"fanout_pending"`
}

// delivery reports a status's delivery, deleted statuses included: after
// a delete the team sees whether the Delete reached the servers and the
// Bluesky records were removed.
func (s *Server) delivery(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	st, err := s.pub.StatusOrTombstone(ctx, c.name, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pd, err := publish.DeliveryOf(ctx, s.store, st)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	bsky, err := atproto.StatusOf(ctx, s.store, st.ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	d := Delivery{ServersReached: pd.Done, Pending: pd.Pending, Failed: pd.Failed, FanoutPending: pd.FanoutPending, Bluesky: bsky}
	if del := pd.Deletion; del != nil {
		at := st.DeletedAt.UTC()
		d.DeletedAt = &at
		d.Deletion = &DeliveryStats{ServersReached: del.Done, Pending: del.Pending, Failed: del.Failed, FanoutPending: pd.DeletionFanoutPending}
	}
	writeJSON(w, http.StatusOK, d)
}

// Paging, as Mastodon: limit (default 20, at most 40), max_id, since_id,
// min_id, and a Link header with the next (older) and prev (newer) pages.
const (
	defaultPage = 20
	maxPage     = 40
)

func pageParams(r *http.Request) storage.StatusPage {
	q := r.URL.Query()
	p := storage.StatusPage{Limit: defaultPage}
	if n, err := strconv.Atoi(q.Get("limit")); err == nil && n > 0 {
		p.Limit = min(n, maxPage)
	}
	p.MaxID, _ = parseID(q.Get("max_id"))
	p.SinceID, _ = parseID(q.Get("since_id"))
	p.MinID, _ = parseID(q.Get("min_id"))
	return p
}

// setLink sets the Link header of a page of statuses (newest first).
func (s *Server) setLink(w http.ResponseWriter, r *http.Request, page []Status) {
	if len(page) == 0 {
		return
	}
	link := func(key, id string) string {
		q := r.URL.Query()
		for _, k := range []string{"max_id", "since_id", "min_id"} {
			q.Del(k)
		}
		q.Set(key, id)
		return "<" + s.set.BaseURL + r.URL.Path + "?" + q.Encode() + ">"
	}
	w.Header().Set("Link", link("max_id", page[len(page)-1].ID)+`; rel="next", `+link("min_id", page[0].ID)+`; rel="prev"`)
}

// accountStatuses lists an account's statuses and boosts, newest
// first: all of its statuses for the owner, public and unlisted ones for
// others; exclude_reblogs leaves the boosts out. A remote account's are
// the posts of it we hold (presence.go).
func (s *Server) accountStatuses(w http.ResponseWriter, r *http.Request, c *caller) {
	acc, ok := s.account(r.PathValue("id"))
	if !ok {
		s.remoteAccountStatuses(w, r, c, r.PathValue("id")) // presence.go
		return
	}
	s.listStatuses(w, r, c, strings.ToLower(acc.Username))
}

// homeTimeline is the caller's own statuses and boosts, and the posts
// and boosts of the accounts it follows (follows.go).
func (s *Server) homeTimeline(w http.ResponseWriter, r *http.Request, c *caller) {
	s.listStatusesHome(w, r, c, c.name, true)
}

func (s *Server) listStatuses(w http.ResponseWriter, r *http.Request, c *caller, name string) {
	s.listStatusesHome(w, r, c, name, false)
}

func (s *Server) listStatusesHome(w http.ResponseWriter, r *http.Request, c *caller, name string, home bool) {
	ctx := r.Context()
	q := r.URL.Query()
	page := pageParams(r)
	page.Account = name
	if !c.owns(name) {
		page.Visibilities = []string{storage.VisibilityPublic, storage.VisibilityUnlisted}
	}
	var rows []storage.Status
	var err error
	if boolParam(q.Get("pinned")) {
		rows, err = s.store.ListPinned(ctx, name)
		rows = pinnedPage(visibleOnly(rows, page.Visibilities), page)
	} else {
		rows, err = s.pageStatuses(ctx, page, boolParam(q.Get("only_media")), q.Get("tagged"))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.newStatusView(ctx, name, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := v.preload(ctx, rows); err != nil {
		s.fail(w, r, err)
		return
	}
	var reblogs []storage.OwnReaction
	if !boolParam(q.Get("pinned")) && !boolParam(q.Get("only_media")) && q.Get("tagged") == "" && !boolParam(q.Get("exclude_reblogs")) {
		if reblogs, err = s.store.ListOwnReblogs(ctx, page); err != nil { // the account's boosts, among its statuses
			s.fail(w, r, err)
			return
		}
	}
	out := make([]Status, 0, len(rows)+len(reblogs))
	for len(out) < page.Limit && (len(rows) > 0 || len(reblogs) > 0) {
		if len(reblogs) > 0 && (len(rows) == 0 || reblogs[0].ID > rows[0].ID) {
			e, ok, err := s.reblogEntity(ctx, c, reblogs[0])
			if err != nil {
				s.fail(w, r, err)
				return
			}
			if ok {
				out = append(out, e)
			}
			reblogs = reblogs[1:]
			continue
		}
		st := rows[0]
		rows = rows[1:]
		media, err := s.store.ListStatusMedia(ctx, st.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		e, err := v.status(ctx, st, media)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, e)
	}
	if home {
		theirs, err := s.homeEntries(ctx, c, page) // follows.go
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = mergeByID(out, theirs, page)
	}
	if !boolParam(q.Get("pinned")) {
		s.setLink(w, r, out)
	}
	writeJSON(w, http.StatusOK, out)
}

func visibleOnly(rows []storage.Status, vis []string) []storage.Status {
	if vis == nil {
		return rows
	}
	out := rows[:0]
	for _, st := range rows {
		for _, v := range vis {
			if st.Visibility == v {
				out = append(out, st)
				break
			}
		}
	}
	return out
}

// pinnedPage applies the paging bounds to the pinned statuses (a few,
// listed whole): a client paging with max_id gets an empty next page.
func pinnedPage(rows []storage.Status, p storage.StatusPage) []storage.Status {
	out := rows[:0]
	for _, st := range rows {
		if (p.MaxID != 0 && st.ID >= p.MaxID) || (p.SinceID != 0 && st.ID <= p.SinceID) || (p.MinID != 0 && st.ID <= p.MinID) {
			continue
		}
		out = append(out, st)
	}
	return out
}

// pageStatuses reads one page; with only_media or tagged it reads further
// pages (at most 10) until the page is full of matching statuses.
func (s *Server) pageStatuses(ctx context.Context, page storage.StatusPage, onlyMedia bool, tagged string) ([]storage.Status, error) {
	if !onlyMedia && tagged == "" {
		return s.store.ListStatuses(ctx, page)
	}
	tagged = strings.TrimPrefix(tagged, "#")
	match := func(st storage.Status) bool {
		if onlyMedia && len(st.MediaIDs) == 0 {
			return false
		}
		if tagged == "" {
			return true
		}
		for _, t := range st.Tags {
			if strings.EqualFold(t.Name, tagged) {
				return true
			}
		}
		return false
	}
	var out []storage.Status
	for i := 0; i < 10 && len(out) < page.Limit; i++ {
		rows, err := s.store.ListStatuses(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, st := range rows {
			if match(st) && len(out) < page.Limit {
				out = append(out, st)
			}
		}
		if len(rows) < page.Limit || page.MinID != 0 {
			break
		}
		page.MaxID = rows[len(rows)-1].ID
	}
	return out, nil
}
