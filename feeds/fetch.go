package feeds

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/passerelle/passerelle/safehttp"
)

// Fetch limits.
const (
	// DefaultMaxBody bounds a feed document (real feeds are a few hundred
	// kilobytes at most).
	DefaultMaxBody = 5 << 20
	// MaxRedirects is the longest chain of redirects followed.
	MaxRedirects = 5
)

// Validators are a response's cache validators, sent back on the next
// request so that an unchanged feed costs a 304 and no body.
type Validators struct {
	ETag         string
	LastModified string
}

// fetched is the outcome of one conditional GET.
type fetched struct {
	notModified bool
	body        []byte
	url         *url.URL // after redirects
	validators  Validators
}

// feedClient returns a copy of the SSRF-safe client (same transport, hence
// the same address checks on every connection, redirects included) whose
// redirect policy also stops loops with ErrRedirectLoop.
func feedClient(c *http.Client) *http.Client {
	cc := *c
	next := c.CheckRedirect
	cc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		for _, v := range via {
			if v.URL.String() == req.URL.String() {
				return fmt.Errorf("%w: %s redirects back to %s", ErrRedirectLoop, via[len(via)-1].URL, req.URL)
			}
		}
		if len(via) >= MaxRedirects {
			return fmt.Errorf("%w: more than %d redirects from %s", ErrRedirectLoop, MaxRedirects, via[0].URL)
		}
		if next != nil {
			return next(req, via)
		}
		return nil
	}
	return &cc
}

// fetch GETs the feed with its validators.
func fetch(ctx context.Context, client *http.Client, feedURL string, v Validators, maxBody int64) (fetched, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, feedURL, nil)
	if err != nil {
		return fetched{}, fmt.Errorf("feeds: %w", err)
	}
	req.Header.Set("Accept", "application/rss+xml, application/atom+xml, application/feed+json;q=0.9, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.1")
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Err != nil {
			err = ue.Err // the cause, without repeating the URL
		}
		return fetched{}, fmt.Errorf("feeds: fetch: %w", err)
	}
	defer resp.Body.Close()
	out := fetched{url: resp.Request.URL}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		out.notModified = true
		out.validators = v
		return out, nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		return fetched{}, fmt.Errorf("feeds: fetch: the server answered %s", resp.Status)
	}
	if out.body, err = safehttp.LimitedBody(resp, maxBody); err != nil {
		return fetched{}, fmt.Errorf("feeds: fetch: %w", err)
	}
	out.validators = Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")}
	return out, nil
}
