package web

import (
	"context"
	"net/http"

	"github.com/passerelle/passerelle/federation"
)

// Pages of an account that moved to another server
// (docs/history.md#moving-accounts): its profile redirects to the new
// profile (301), its posts stay with a notice pointing there.

// movedTo returns where the account moved, or nil. The federation service
// caches the answer for a few seconds.
func (p *Pages) movedTo(ctx context.Context, username string) *federation.MovedTo {
	if p.fed == nil {
		return nil
	}
	m, ok := p.fed.Moved(ctx, username)
	if !ok {
		return nil
	}
	return &m
}

// redirectMoved answers the profile of a moved account with a permanent
// redirect to its new profile, and reports whether it did.
func (p *Pages) redirectMoved(w http.ResponseWriter, r *http.Request, username string) bool {
	m := p.movedTo(r.Context(), username)
	if m == nil {
		return false
	}
	http.Redirect(w, r, m.ProfileURL, http.StatusMovedPermanently)
	return true
}
