package web

// The remote-follow form of the profile and post pages (POST
// /@NAME/follow): the notice page's form (package notice parses what the
// visitor typed and finds their server's follow page), with the pages'
// texts.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/passerelle/passerelle/notice"
	"github.com/passerelle/passerelle/reqlog"
)

// remoteFollow answers a remote-follow form: a redirect (303) to the
// visitor's server, or onError with the visitor's language, what they
// typed, the message and the status (422, 502).
func (p *Pages) remoteFollow(w http.ResponseWriter, r *http.Request, pr Profile, loc *locale, onError func(lang, input, msg string, status int), ap *accountPages) {
	if !p.allow(w, r, ap, p.followLimit) {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		p.badRequest(w, r, ap)
		return
	}
	lang := loc.match(r.PostForm.Get("lang"), r.Header.Get("Accept-Language"))
	t := loc.in(lang)
	input := r.PostForm.Get("server")
	shown := input
	if len(shown) > notice.MaxRemoteInput {
		shown = shown[:notice.MaxRemoteInput]
	}
	rem, err := notice.ParseRemote(input, p.allowPrivate)
	if err != nil {
		key := "error_invalid"
		if errors.Is(err, notice.ErrPrivateRemote) {
			key = "error_private"
		}
		onError(lang, shown, t.T(key, "input", strings.TrimSpace(shown)), http.StatusUnprocessableEntity)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 8*time.Second)
	defer cancel()
	target, err := p.lookup(ctx, rem, pr.ActorURL)
	switch {
	case errors.Is(err, notice.ErrPrivateRemote):
		onError(lang, shown, t.T("error_private", "input", strings.TrimSpace(shown)), http.StatusUnprocessableEntity)
		return
	case err != nil:
		reqlog.Logger(ctx, p.log).Info().Err(err).Str("server", rem.Host).Msg("remote follow: server unreachable")
		onError(lang, shown, t.T("error_unreachable", "server", rem.Host), http.StatusBadGateway)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// lookup runs one remote-follow lookup, waiting for a free slot.
func (p *Pages) lookup(ctx context.Context, rem notice.Remote, actor string) (string, error) {
	select {
	case p.lookups <- struct{}{}:
		defer func() { <-p.lookups }()
	case <-ctx.Done():
		return "", fmt.Errorf("%w: %w", notice.ErrUnreachable, ctx.Err())
	}
	return p.follower.FollowURL(ctx, rem, actor)
}
