package admin

// Reach at a glance (issue "The comms team's console"), its first part:
// the X exit notice page's funnel of each account of the member (counts
// only: every role sees them), day by day over the last 30 days (web/funnel.go counts it).

import (
	"net/http"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// reachDays is how far back the reach page looks.
const reachDays = 30

type reachDay struct {
	storage.NoticeFunnelDay
	Total, QR int64 // visits in all, and through the notice QR code
}

type reachAccount struct {
	Account string
	Days    []reachDay
	Sum     reachDay
}

func (c *Console) reach(w http.ResponseWriter, r *http.Request, s *session) {
	accounts := s.accountsWith(storage.RoleAdmin, storage.RoleEditor, storage.RoleContributor)
	since := storage.FunnelDay(c.now().AddDate(0, 0, -(reachDays - 1)))
	var out []reachAccount
	for _, a := range accounts {
		days, err := c.store.NoticeFunnelDays(r.Context(), a, since)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		ra := reachAccount{Account: a}
		for _, d := range days {
			rd := reachDay{NoticeFunnelDay: d, QR: d.Visits["qr"]}
			for _, n := range d.Visits {
				rd.Total += n
			}
			ra.Days = append(ra.Days, rd)
			ra.Sum.Total += rd.Total
			ra.Sum.QR += rd.QR
			ra.Sum.Starts += d.Starts
			ra.Sum.Follows += d.Follows
		}
		out = append(out, ra)
	}
	c.render(w, r, http.StatusOK, "reach.html", pageData{Title: "reach", Session: s,
		Body: struct {
			Accounts []reachAccount
			Days     int
			Now      time.Time
		}{out, reachDays, c.now()}})
}
