package moderation

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
)

// Safety rules of a refresh: a list that suddenly lost most of its
// entries is more likely broken (an error page served with 200, a
// truncated download) than a mass unblocking; it is not applied, and the
// refusal is logged and shown by `bridge blocks preview`.
const (
	// shrinkGuardMin: lists with fewer entries than this are applied
	// whatever they lose.
	shrinkGuardMin = 20
	// shrinkGuardRatio: more than this fraction of the entries removed at
	// once is refused.
	shrinkGuardRatio = 0.5
	// refreshLock serialises refreshes between replicas.
	refreshLock    = "moderation-subscriptions"
	refreshLockTTL = 5 * time.Minute
)

// Change is what a refresh of one subscription does (or would do).
type Change struct {
	URL        string
	Entries    int // valid entries in the downloaded list
	Add        []ListEntry
	Update     []ListEntry // severity or reason changed
	Remove     []string
	Skipped    []Skipped
	NotDue     bool   // Refresh only: not fetched, not due yet
	Unmodified bool   // the server answered 304
	Refused    string // why the change is not applied (safety rule); empty: applied
	Err        error  // the fetch or the parse failed
}

// Preview fetches every subscription and tells what a refresh would
// change, without changing anything.
func (s *Service) Preview(ctx context.Context) ([]Change, error) {
	var out []Change
	for _, sub := range s.cfg.Subscriptions {
		ch, _, _ := s.diff(ctx, sub, storage.BlocklistState{})
		out = append(out, ch)
	}
	return out, nil
}

// Refresh fetches the subscriptions that are due (all of them with
// force) and applies what changed. Between replicas, one refreshes at a
// time.
func (s *Service) Refresh(ctx context.Context, force bool) ([]Change, error) {
	host, _ := os.Hostname()
	owner := host + "-" + strconv.Itoa(os.Getpid())
	ok, err := s.store.AcquireLock(ctx, refreshLock, owner, s.now(), refreshLockTTL)
	if err != nil {
		return nil, fmt.Errorf("moderation: refresh: %w", err)
	}
	if !ok {
		return nil, nil // another replica is at it
	}
	defer func() {
		if err := s.store.ReleaseLock(context.WithoutCancel(ctx), refreshLock, owner); err != nil {
			s.log.Warn().Err(err).Msg("release the blocklist refresh lock")
		}
	}()
	var (
		out     []Change
		anyDone bool
	)
	for _, sub := range s.cfg.Subscriptions {
		st, err := s.store.GetBlocklistState(ctx, sub.URL)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return out, fmt.Errorf("moderation: refresh: %w", err)
		}
		st.URL = sub.URL
		if !force && !st.CheckedAt.IsZero() && s.now().Before(st.CheckedAt.Add(sub.RefreshOrDefault())) {
			out = append(out, Change{URL: sub.URL, NotDue: true})
			continue
		}
		ch, next, body := s.diff(ctx, sub, st)
		next.CheckedAt = s.now()
		switch {
		case ch.Err != nil:
			next.LastError = truncateRunes(ch.Err.Error(), 500)
			s.log.Warn().Err(ch.Err).Str("url", sub.URL).Msg("blocklist refresh failed")
		case ch.Refused != "":
			next.LastError = "not applied: " + ch.Refused
			s.log.Warn().Str("url", sub.URL).Str("refused", ch.Refused).Int("remove", len(ch.Remove)).Msg("blocklist refresh not applied")
		case ch.Unmodified:
			next.LastError = ""
		default:
			if err := s.apply(ctx, sub, ch); err != nil {
				return out, err
			}
			next.ETag, next.LastModified = body.etag, body.lastModified
			next.UpdatedAt, next.Domains, next.LastError = s.now(), int64(ch.Entries), ""
			anyDone = anyDone || len(ch.Add)+len(ch.Update)+len(ch.Remove) > 0
			s.log.Info().Str("url", sub.URL).Int("entries", ch.Entries).Int("added", len(ch.Add)).Int("updated", len(ch.Update)).
				Int("removed", len(ch.Remove)).Int("skipped", len(ch.Skipped)).Msg("blocklist refreshed")
		}
		if err := s.store.PutBlocklistState(ctx, next); err != nil {
			return out, fmt.Errorf("moderation: refresh: %w", err)
		}
		out = append(out, ch)
	}
	if anyDone {
		added, err := s.Reload(ctx)
		if err != nil {
			return out, err
		}
		if _, _, err := s.enforce(ctx, added); err != nil {
			return out, err
		}
	}
	return out, nil
}

// apply stores one subscription's change in one transaction.
func (s *Service) apply(ctx context.Context, sub config.BlocklistSubscription, ch Change) error {
	source := storage.BlockSourceSubscription + sub.URL
	now := s.now()
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		for _, e := range append(append([]ListEntry(nil), ch.Add...), ch.Update...) {
			if _, err := q.UpsertDomainBlock(ctx, storage.DomainBlock{Domain: e.Domain, Source: source, Severity: e.Severity, Reason: e.Reason, CreatedAt: now}); err != nil {
				return err
			}
		}
		for _, d := range ch.Remove {
			if _, err := q.DeleteDomainBlock(ctx, d, source); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("moderation: apply %s: %w", sub.URL, err)
	}
	return nil
}

type download struct {
	data               []byte
	etag, lastModified string
	notModified        bool
}

// diff fetches one subscription (conditionally, with st's validators)
// and compares it with the stored entries of its source.
func (s *Service) diff(ctx context.Context, sub config.BlocklistSubscription, st storage.BlocklistState) (Change, storage.BlocklistState, download) {
	ch := Change{URL: sub.URL}
	body, err := s.fetch(ctx, sub.URL, st)
	if err != nil {
		ch.Err = err
		return ch, st, body
	}
	if body.notModified {
		ch.Unmodified = true
		return ch, st, body
	}
	entries, skipped, err := ParseList(bytes.NewReader(body.data))
	if err != nil {
		ch.Err = err
		return ch, st, body
	}
	ch.Entries, ch.Skipped = len(entries), skipped
	stored, err := s.store.ListDomainBlocks(ctx, storage.BlockSourceSubscription+sub.URL)
	if err != nil {
		ch.Err = err
		return ch, st, body
	}
	old := make(map[string]storage.DomainBlock, len(stored))
	for _, b := range stored {
		old[b.Domain] = b
	}
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		seen[e.Domain] = true
		b, ok := old[e.Domain]
		switch {
		case !ok:
			ch.Add = append(ch.Add, e)
		case b.Severity != e.Severity || b.Reason != e.Reason:
			ch.Update = append(ch.Update, e)
		}
	}
	for _, b := range stored {
		if !seen[b.Domain] {
			ch.Remove = append(ch.Remove, b.Domain)
		}
	}
	if n := len(stored); n >= shrinkGuardMin && float64(len(ch.Remove)) > shrinkGuardRatio*float64(n) {
		ch.Refused = fmt.Sprintf("the list would lose %d of its %d entries at once (more than %.0f%%); check the list, then apply with `bridge blocks refresh --force`",
			len(ch.Remove), n, shrinkGuardRatio*100)
	}
	return ch, st, body
}

// fetch downloads a blocklist through the SSRF-safe client.
func (s *Service) fetch(ctx context.Context, u string, st storage.BlocklistState) (download, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return download{}, fmt.Errorf("moderation: fetch %s: %w", u, err)
	}
	req.Header.Set("Accept", "text/csv, text/plain;q=0.9, */*;q=0.1")
	if st.ETag != "" {
		req.Header.Set("If-None-Match", st.ETag)
	}
	if st.LastModified != "" {
		req.Header.Set("If-Modified-Since", st.LastModified)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return download{}, fmt.Errorf("moderation: fetch %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return download{notModified: true}, nil
	case resp.StatusCode != http.StatusOK:
		return download{}, fmt.Errorf("moderation: fetch %s: status %d", u, resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
		return download{}, fmt.Errorf("moderation: fetch %s: got an HTML page (%s), not a blocklist", u, ct)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxListBytes+1))
	if err != nil {
		return download{}, fmt.Errorf("moderation: fetch %s: %w", u, err)
	}
	if len(data) > MaxListBytes {
		return download{}, fmt.Errorf("moderation: fetch %s: larger than %d MiB", u, MaxListBytes>>20)
	}
	return download{data: data, etag: resp.Header.Get("ETag"), lastModified: resp.Header.Get("Last-Modified")}, nil
}

// RefreshForce fetches and applies every subscription now, even a list
// that lost most of its entries (the shrink guard of Refresh). For
// `bridge blocks refresh --force`, after checking the list.
func (s *Service) RefreshForce(ctx context.Context) ([]Change, error) {
	var out []Change
	for _, sub := range s.cfg.Subscriptions {
		ch, st, body := s.diff(ctx, sub, storage.BlocklistState{URL: sub.URL})
		st.URL, st.CheckedAt = sub.URL, s.now()
		if ch.Err == nil {
			ch.Refused = ""
			if err := s.apply(ctx, sub, ch); err != nil {
				return out, err
			}
			st.ETag, st.LastModified, st.UpdatedAt, st.Domains = body.etag, body.lastModified, s.now(), int64(ch.Entries)
		} else {
			st.LastError = truncateRunes(ch.Err.Error(), 500)
		}
		if err := s.store.PutBlocklistState(ctx, st); err != nil {
			return out, fmt.Errorf("moderation: refresh: %w", err)
		}
		out = append(out, ch)
	}
	added, err := s.Reload(ctx)
	if err != nil {
		return out, err
	}
	_, _, err = s.enforce(ctx, added)
	return out, err
}

// pruneSubscriptions forgets the blocks of subscriptions that are no
// longer configured (they are already left out of the matcher).
func (s *Service) pruneSubscriptions(ctx context.Context) error {
	rows, err := s.store.ListDomainBlocks(ctx, "")
	if err != nil {
		return err
	}
	gone := 0
	for _, r := range rows {
		if !strings.HasPrefix(r.Source, storage.BlockSourceSubscription) || s.subs[r.Source].URL != "" {
			continue
		}
		if _, err := s.store.DeleteDomainBlock(ctx, r.Domain, r.Source); err != nil {
			return err
		}
		gone++
	}
	if gone > 0 {
		s.log.Info().Int("blocks", gone).Msg("blocks of unsubscribed blocklists forgotten")
	}
	return nil
}
