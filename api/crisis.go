package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/publish"
)

// Crisis mode through the client API (package publish, crisis.go): the
// calling account's own, never another's. Reading needs read:accounts;
// turning it on or off write:accounts, and a contributor's token is
// refused (admins and editors may).

func (s *Server) crisisRoutes(handle func(string, http.HandlerFunc)) {
	handle("GET /api/v1/passerelle/crisis", s.user("read:accounts", s.getCrisis))
	handle("POST /api/v1/passerelle/crisis", s.user("write:accounts", s.editorOnly(s.audited("crisis.set", s.setCrisis))))
}

// Crisis is the account's crisis mode.
type Crisis struct {
	Active bool    `json:"active"`
	Since  *string `json:"since"` // while active
	// RecentPosts is how many recent posts it was asked to close when
	// turned on; ClosedPosts how many posts it holds closed (those and
	// the ones published since).
	RecentPosts int `json:"recent_posts"`
	ClosedPosts int `json:"closed_posts"`
	// Changed (POST only): how many posts got a new policy by this call.
	Changed *int   `json:"changed,omitempty"`
	Message string `json:"message,omitempty"`
}

func crisisEntity(res publish.CrisisResult) Crisis {
	out := Crisis{Active: res.On}
	if res.On {
		v := res.Crisis.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z")
		out.Since = &v
		out.RecentPosts, out.ClosedPosts = res.Crisis.Posts, res.Posts
	}
	return out
}

func (s *Server) getCrisis(w http.ResponseWriter, r *http.Request, c *caller) {
	res, err := s.pub.CrisisStatus(r.Context(), c.name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, crisisEntity(res))
}

// setCrisis turns crisis mode on (mode=on, posts=N: the last N posts
// too, 20 by default) or off (mode=off).
func (s *Server) setCrisis(w http.ResponseWriter, r *http.Request, c *caller) {
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	var (
		res publish.CrisisResult
		msg string
	)
	switch mode := strings.ToLower(strings.TrimSpace(p.str("mode"))); mode {
	case "on":
		n := publish.CrisisDefaultPosts
		if v, ok := p.get("posts"); ok {
			if n, err = strconv.Atoi(strings.TrimSpace(v)); err != nil {
				s.fail(w, r, unprocessable("Validation failed: posts must be a number"))
				return
			}
		}
		if res, err = s.pub.CrisisOn(ctx, c.name, n); err != nil {
			s.fail(w, r, err)
			return
		}
		msg = fmt.Sprintf("Crisis mode is on: nobody but this account may reply to or quote its new posts and its last %d.", n)
		if res.Already {
			msg = "Crisis mode was already on."
		}
	case "off":
		if res, err = s.pub.CrisisOff(ctx, c.name); err != nil {
			s.fail(w, r, err)
			return
		}
		msg = "Crisis mode is off: the posts it closed have their replies and quotes policy back."
		if res.Already {
			msg = "Crisis mode was not on: nothing changed."
		}
		res.On = false
	default:
		s.fail(w, r, unprocessable("Validation failed: mode must be on or off"))
		return
	}
	auditTarget(r, "crisis "+p.str("mode"))
	out := crisisEntity(res)
	changed := res.Changed
	out.Changed, out.Message = &changed, msg
	writeJSON(w, http.StatusOK, out)
}
