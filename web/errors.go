package web

// Styled error pages in the visitor's language: 400, 404, 410 (a deleted
// post, with its Tombstone's date), 429 and 500. The pages of an account
// use its languages and footer; others the site's.

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/passerelle/passerelle/reqlog"
)

type errorView struct {
	Status      int
	Title, Text string
}

// errorPage renders the error page of status for account ap (nil: none).
// extra are placeholders of the text ("date", "seconds").
func (p *Pages) errorPage(r *http.Request, ap *accountPages, status int, extra ...string) (*rendered, error) {
	loc := p.site
	if ap != nil {
		loc = ap.locale
	}
	lang := langOf(r, loc)
	v := p.baseView(ap, lang, "")
	code := strconv.Itoa(status)
	v.Error = &errorView{Status: status, Title: v.T("error_title_" + code), Text: v.T("error_text_"+code, extra...)}
	v.Title = v.Error.Title
	h := http.Header{}
	h.Set("Content-Language", lang)
	h.Set("Vary", "Accept-Language")
	return p.page(status, "error.html", v, h)
}

func (p *Pages) writeError(w http.ResponseWriter, r *http.Request, ap *accountPages, status int, extra ...string) {
	page, err := p.errorPage(r, ap, status, extra...)
	if err != nil {
		reqlog.Logger(r.Context(), p.log).Error().Err(err).Int("status", status).Msg("render error page")
		http.Error(w, http.StatusText(status), status)
		return
	}
	if status >= 500 || status == http.StatusTooManyRequests {
		page.header.Set("Cache-Control", "no-store")
	}
	page.write(w, r)
}

func (p *Pages) notFound(w http.ResponseWriter, r *http.Request, ap *accountPages) {
	p.writeError(w, r, ap, http.StatusNotFound)
}

func (p *Pages) badRequest(w http.ResponseWriter, r *http.Request, ap *accountPages) {
	p.writeError(w, r, ap, http.StatusBadRequest)
}

func (p *Pages) serverError(w http.ResponseWriter, r *http.Request, ap *accountPages) {
	p.writeError(w, r, ap, http.StatusInternalServerError)
}

// fail logs an error once and answers the styled 500.
func (p *Pages) fail(w http.ResponseWriter, r *http.Request, err error) {
	reqlog.Logger(r.Context(), p.log).Error().Err(err).Msg("page")
	p.serverError(w, r, nil)
}

// tooMany answers 429 with Retry-After.
func (p *Pages) tooMany(w http.ResponseWriter, r *http.Request, ap *accountPages, wait time.Duration) {
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	p.writeError(w, r, ap, http.StatusTooManyRequests, "seconds", strconv.Itoa(secs))
}

// allow takes a token of limiter for the request's client address, and
// answers 429 when there is none.
func (p *Pages) allow(w http.ResponseWriter, r *http.Request, ap *accountPages, limiter interface {
	Take(string, time.Time) (bool, time.Duration)
}) bool {
	ok, wait := limiter.Take(clientKey(r), p.now())
	if !ok {
		p.tooMany(w, r, ap, wait)
	}
	return ok
}

// clientKey is the client's address (the frontend has already replaced
// a trusted proxy's by the client's).
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
