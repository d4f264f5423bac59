package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"

	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// What the fediverse says to our accounts, in the comms team's usual app:
// Mastodon's notifications (mentions and replies, favourites, boosts,
// quotes), v1 and v2 (grouped), with keyword filters and the blocks and
// mutes of the account applied.

// Notification is Mastodon's Notification entity.
type Notification struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	CreatedAt string  `json:"created_at"`
	GroupKey  string  `json:"group_key"`
	Account   Account `json:"account"`
	Status    *Status `json:"status,omitempty"`
}

// interactionRoutes registers notifications, raids, safety tools and
// filters (notifications.go, safety.go, filters.go).
func (s *Server) interactionRoutes(handle func(string, http.HandlerFunc)) {
	s.notificationRoutes(handle)
	s.safetyRoutes(handle)
	s.filterRoutes(handle)
}

func (s *Server) notificationRoutes(handle func(string, http.HandlerFunc)) {
	handle("GET /api/v1/notifications", s.user("read:notifications", s.listNotifications))
	handle("GET /api/v1/notifications/unread_count", s.user("read:notifications", s.unreadCount))
	handle("GET /api/v1/notifications/{id}", s.user("read:notifications", s.getNotification))
	handle("POST /api/v1/notifications/clear", s.user("write:notifications", s.clearNotifications))
	handle("POST /api/v1/notifications/{id}/dismiss", s.user("write:notifications", s.dismissNotification))
	handle("GET /api/v2/notifications", s.user("read:notifications", s.groupedNotifications))
	handle("GET /api/v1/passerelle/raids", s.user("read:notifications", s.listRaids))
	handle("POST /api/v1/passerelle/raids/{id}/block", s.user("write:blocks", s.audited("raid.block", s.blockRaid)))
}

// notificationPage reads paging, types[] and exclude_types[].
func notificationPage(r *http.Request, c *caller) storage.NotificationPage {
	sp := pageParams(r)
	p := storage.NotificationPage{Account: c.name, MaxID: sp.MaxID, SinceID: sp.SinceID, MinID: sp.MinID, Limit: sp.Limit}
	q := r.URL.Query()
	for _, k := range []string{"types[]", "types"} {
		p.Types = append(p.Types, q[k]...)
	}
	for _, k := range []string{"exclude_types[]", "exclude_types"} {
		p.ExcludeTypes = append(p.ExcludeTypes, q[k]...)
	}
	return p
}

// notificationView renders one account's notifications.
type notificationView struct {
	s        *Server
	c        *caller
	ps       *profiles
	filter   *keywordFilter
	statuses *statusView
}

func (s *Server) newNotificationView(ctx context.Context, c *caller) (*notificationView, error) {
	kf, err := s.keywordFilter(ctx, c.name, "notifications")
	if err != nil {
		return nil, err
	}
	sv, err := s.newStatusView(ctx, c.name, c)
	if err != nil {
		return nil, err
	}
	return &notificationView{s: s, c: c, ps: s.newProfiles(), filter: kf, statuses: sv}, nil
}

// entity builds a Notification; ok is false when it is not to be shown
// (its post is gone, or a keyword filter hides it).
func (v *notificationView) entity(ctx context.Context, n storage.Notification) (Notification, bool, error) {
	var acc Account
	var err error
	if n.Type == storage.NotificationPoll {
		acc = v.statuses.account // our own poll ended: its author is the account
	} else if acc, err = v.ps.account(ctx, n.ActorID); err != nil {
		return Notification{}, false, err
	}
	out := Notification{ID: idString(n.ID), Type: n.Type, CreatedAt: timeString(n.CreatedAt), GroupKey: n.GroupKey, Account: acc}
	if v.filter.hides(acc.DisplayName, acc.Acct) {
		return Notification{}, false, nil
	}
	switch n.Type {
	case storage.NotificationMention, storage.NotificationQuote:
		rs, err := v.s.store.GetRemoteStatus(ctx, n.RemoteStatusID)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && !rs.DeletedAt.IsZero()) {
			return Notification{}, false, nil
		}
		if err != nil {
			return Notification{}, false, err
		}
		if v.filter.hides(sanitize.Plain(rs.ContentHTML), rs.SpoilerText) {
			return Notification{}, false, nil
		}
		st, err := v.s.remoteStatus(ctx, v.ps, rs)
		if err != nil {
			return Notification{}, false, err
		}
		out.Status = &st
	case storage.NotificationFollow, storage.NotificationFollowRequest: // no status
	default:
		st, media, err := v.s.loadStatus(ctx, idString(n.StatusID), v.c)
		if errors.Is(err, errNotFound) || errors.Is(err, storage.ErrNotFound) {
			return Notification{}, false, nil
		}
		if err != nil {
			return Notification{}, false, err
		}
		e, err := v.statuses.status(ctx, st, media)
		if err != nil {
			return Notification{}, false, err
		}
		out.Status = &e
	}
	return out, true, nil
}

// page reads one page of notifications and renders the shown ones; last
// and first are the page's bounds (for the Link header), whatever was
// hidden.
func (v *notificationView) page(ctx context.Context, p storage.NotificationPage) (out []Notification, first, last int64, err error) {
	rows, err := v.s.store.ListNotifications(ctx, p)
	if err != nil {
		return nil, 0, 0, err
	}
	out = []Notification{}
	for _, n := range rows {
		e, ok, err := v.entity(ctx, n)
		if err != nil {
			return nil, 0, 0, err
		}
		if ok {
			out = append(out, e)
		}
	}
	if len(rows) > 0 {
		first, last = rows[0].ID, rows[len(rows)-1].ID
	}
	return out, first, last, nil
}

// setPageLink sets the Link header of a page whose ids run from first
// (newest) to last (oldest).
func (s *Server) setPageLink(w http.ResponseWriter, r *http.Request, first, last int64) {
	if first == 0 {
		return
	}
	link := func(key string, id int64) string {
		q := r.URL.Query()
		for _, k := range []string{"max_id", "since_id", "min_id"} {
			q.Del(k)
		}
		q.Set(key, idString(id))
		return "<" + s.set.BaseURL + r.URL.Path + "?" + q.Encode() + ">"
	}
	w.Header().Set("Link", link("max_id", last)+`; rel="next", `+link("min_id", first)+`; rel="prev"`)
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	v, err := s.newNotificationView(ctx, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out, first, last, err := v.page(ctx, notificationPage(r, c))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.setPageLink(w, r, first, last)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getNotification(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	n, err := s.store.GetNotification(ctx, c.name, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.newNotificationView(ctx, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	e, shown, err := v.entity(ctx, n)
	if err == nil && !shown {
		err = errNotFound
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// unreadCount: without a markers store every live notification is unread
// (at most limit, default 100, at most 1000, as Mastodon).
func (s *Server) unreadCount(w http.ResponseWriter, r *http.Request, c *caller) {
	limit := 100
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		limit = min(n, 1000)
	}
	p := notificationPage(r, c)
	n, err := s.store.CountNotifications(r.Context(), c.name, 0, p.Types, limit)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]int64{"count": n})
}

func (s *Server) clearNotifications(w http.ResponseWriter, r *http.Request, c *caller) {
	if _, err := s.store.ClearNotifications(r.Context(), c.name, s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

func (s *Server) dismissNotification(w http.ResponseWriter, r *http.Request, c *caller) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	if err := s.store.DismissNotification(r.Context(), c.name, id, s.now()); err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{})
}

// NotificationGroup is Mastodon 4.3's NotificationGroup entity.
type NotificationGroup struct {
	GroupKey                 string   `json:"group_key"`
	NotificationsCount       int      `json:"notifications_count"`
	Type                     string   `json:"type"`
	MostRecentNotificationID string   `json:"most_recent_notification_id"`
	PageMinID                string   `json:"page_min_id"`
	PageMaxID                string   `json:"page_max_id"`
	LatestPageNotificationAt string   `json:"latest_page_notification_at"`
	SampleAccountIDs         []string `json:"sample_account_ids"`
	StatusID                 *string  `json:"status_id"`
}

// GroupedNotifications is the answer of GET /api/v2/notifications.
type GroupedNotifications struct {
	Accounts           []Account           `json:"accounts"`
	Statuses           []Status            `json:"statuses"`
	NotificationGroups []NotificationGroup `json:"notification_groups"`
}

// groupedNotifications is Mastodon 4.3's grouped notifications: within a
// page, the notifications of the grouped_types (default favourite and
// reblog) that share a group key (same post, same day) make one group.
func (s *Server) groupedNotifications(w http.ResponseWriter, r *http.Request, c *caller) {
	ctx := r.Context()
	v, err := s.newNotificationView(ctx, c)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := notificationPage(r, c)
	if n, err := strconv.Atoi(r.URL.Query().Get("limit")); err == nil && n > 0 {
		p.Limit = min(n, 80)
	}
	grouped := r.URL.Query()["grouped_types[]"]
	if len(grouped) == 0 {
		grouped = []string{storage.NotificationFavourite, storage.NotificationReblog}
	}
	page, first, last, err := v.page(ctx, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := GroupedNotifications{Accounts: []Account{}, Statuses: []Status{}, NotificationGroups: []NotificationGroup{}}
	seenAccount, seenStatus := map[string]bool{}, map[string]bool{}
	index := map[string]int{}
	for _, n := range page {
		key := n.GroupKey
		if !slices.Contains(grouped, n.Type) {
			key = "ungrouped-" + n.ID
		}
		i, ok := index[key]
		if !ok {
			g := NotificationGroup{GroupKey: key, Type: n.Type, MostRecentNotificationID: n.ID,
				PageMaxID: n.ID, LatestPageNotificationAt: n.CreatedAt, SampleAccountIDs: []string{}}
			if n.Status != nil {
				id := n.Status.ID
				g.StatusID = &id
			}
			out.NotificationGroups = append(out.NotificationGroups, g)
			i = len(out.NotificationGroups) - 1
			index[key] = i
		}
		g := &out.NotificationGroups[i]
		g.NotificationsCount++
		g.PageMinID = n.ID
		if len(g.SampleAccountIDs) < 8 && !slices.Contains(g.SampleAccountIDs, n.Account.ID) {
			g.SampleAccountIDs = append(g.SampleAccountIDs, n.Account.ID)
		}
		if !seenAccount[n.Account.ID] {
			seenAccount[n.Account.ID] = true
			out.Accounts = append(out.Accounts, n.Account)
		}
		if n.Status != nil && !seenStatus[n.Status.ID] {
			seenStatus[n.Status.ID] = true
			out.Statuses = append(out.Statuses, *n.Status)
		}
	}
	s.setPageLink(w, r, first, last)
	writeJSON(w, http.StatusOK, out)
}
