package admin

// Reach at a glance (issue "The comms team's console"), for each account
// of the member (every role; one account never sees another's):
//   - /admin/reach: followers over time on both networks (a chart and
//     its table: package reach samples them), delivery failures by
//     server with the last error, the raids of the last day, and the X
//     exit notice page's funnel (web/funnel.go counts it);
//   - /admin/reach/posts/{account}: the account's posts, newest first and
//     paged, with the fediverse servers reached, pending and failed, the
//     Bluesky records' state, and replies, boosts and likes on both
//     networks.
// The figures come from the code the delivery API, the raids API and
// `bridge status` use (publish, atproto, federation, moderation).

import (
	"context"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// What the reach pages look back on.
const (
	reachDays     = 30                 // the notice page's funnel
	followerDays  = 90                 // the follower chart
	failureWindow = 7 * 24 * time.Hour // delivery failures
	reachPage     = 20                 // posts per page
	excerptRunes  = 120
)

type reachDay struct {
	storage.NoticeFunnelDay
	Total, QR int64 // visits in all, and through the notice QR code
}

type reachAccount struct {
	Account  string
	Days     []reachDay
	Sum      reachDay
	Chart    *followerChart
	Failures []federation.HostFailure
	Raids    []moderation.Raid
}

func (c *Console) reach(w http.ResponseWriter, r *http.Request, s *session) {
	accounts := s.accountsWith(storage.RoleAdmin, storage.RoleEditor, storage.RoleContributor)
	var out []reachAccount
	for _, a := range accounts {
		ra, err := c.reachOf(r.Context(), a)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		out = append(out, ra)
	}
	c.render(w, r, http.StatusOK, "reach.html", pageData{Title: "reach", Session: s,
		Body: struct {
			Accounts                   []reachAccount
			Days, FollowerDays, Window int
			Now                        time.Time
		}{out, reachDays, followerDays, int(failureWindow / (24 * time.Hour)), c.now()}})
}

// reachOf reads one account's figures.
func (c *Console) reachOf(ctx context.Context, a string) (reachAccount, error) {
	now := c.now().UTC()
	ra := reachAccount{Account: a}
	days, err := c.store.NoticeFunnelDays(ctx, a, storage.FunnelDay(now.AddDate(0, 0, -(reachDays-1))))
	if err != nil {
		return ra, err
	}
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
	from := storage.FunnelDay(now.AddDate(0, 0, -(followerDays - 1)))
	snaps, err := c.store.FollowerSnapshots(ctx, a, from)
	if err != nil {
		return ra, err
	}
	if len(snaps) > 0 { // the chart starts at the first sample
		ra.Chart = newFollowerChart(snaps, snaps[0].Day, storage.FunnelDay(now))
	}
	if ra.Failures, err = federation.DeliveryFailures(ctx, c.store, a, now.Add(-failureWindow)); err != nil {
		return ra, err
	}
	if ra.Raids, err = moderation.RecentRaids(ctx, c.store, a, now, moderation.RaidThreshold); err != nil {
		return ra, err
	}
	for i := range ra.Raids {
		ra.Raids[i].Servers = raidServers(ra.Raids[i].Servers)
	}
	return ra, nil
}

// reachPost is one post's row.
type reachPost struct {
	storage.Status
	Excerpt  string
	Delivery publish.Delivery
	Bluesky  *atproto.PostStatus // nil: not mirrored
	Counts   storage.StatusCounts
}

// Fediverse is the part of the counts that did not come from Bluesky.
func (p reachPost) Fediverse() storage.InteractionCounts {
	b := p.Counts.Bluesky
	return storage.InteractionCounts{Replies: p.Counts.Replies - b.Replies, Reblogs: p.Counts.Reblogs - b.Reblogs,
		Favourites: p.Counts.Favourites - b.Favourites}
}

// reachPosts lists an account's posts with their delivery and
// interactions, reachPage a page, older pages through ?max_id=.
func (c *Console) reachPosts(w http.ResponseWriter, r *http.Request, s *session) {
	ctx := r.Context()
	account := strings.ToLower(r.PathValue("account"))
	if s.role(account) == "" { // not one of the member's accounts: as if it did not exist
		c.fail(w, r, http.StatusNotFound, "err.notfound", nil)
		return
	}
	maxID, _ := strconv.ParseInt(r.URL.Query().Get("max_id"), 10, 64)
	sts, err := c.store.ListStatuses(ctx, storage.StatusPage{Account: account, MaxID: max(maxID, 0), Limit: reachPage})
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	ids := make([]int64, len(sts))
	for i, st := range sts {
		ids[i] = st.ID
	}
	counts, err := c.store.StatusCounts(ctx, ids)
	if err != nil {
		c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
		return
	}
	posts := make([]reachPost, 0, len(sts))
	for _, st := range sts {
		p := reachPost{Status: st, Excerpt: excerpt(st), Counts: counts[st.ID]}
		if p.Delivery, err = publish.DeliveryOf(ctx, c.store, st); err == nil {
			p.Bluesky, err = atproto.StatusOf(ctx, c.store, st.ID)
		}
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, "err.internal", err)
			return
		}
		posts = append(posts, p)
	}
	var older int64
	if len(sts) == reachPage {
		older = sts[len(sts)-1].ID
	}
	c.render(w, r, http.StatusOK, "reach_posts.html", pageData{Title: "reach.posts", Session: s,
		Body: struct {
			Account string
			Posts   []reachPost
			Older   int64
			Paged   bool
		}{account, posts, older, maxID > 0}})
}

// excerpt is the beginning of a status's text (its content warning when
// it has one).
func excerpt(st storage.Status) string {
	t := st.Text
	if st.SpoilerText != "" {
		t = st.SpoilerText
	}
	t = strings.Join(strings.Fields(t), " ")
	if utf8.RuneCountInString(t) <= excerptRunes {
		return t
	}
	rs := []rune(t)
	return strings.TrimSpace(string(rs[:excerptRunes])) + "…"
}

// raidServers sorts a raid's servers by mentions, the most first.
func raidServers(servers []storage.DomainCount) []storage.DomainCount {
	out := slices.Clone(servers)
	slices.SortStableFunc(out, func(a, b storage.DomainCount) int { return int(b.Notifications - a.Notifications) })
	return out
}
