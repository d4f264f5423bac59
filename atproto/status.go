package atproto

import (
	"context"
	"errors"
	"fmt"

	"github.com/bluesky-social/indigo/atproto/atclient"

	"github.com/passerelle/passerelle/storage"
)

// PostStatus is a status's Bluesky mirror state, for the admin: shown next
// to its fediverse delivery by `bridge status` and the API.
type PostStatus struct {
	State string   `json:"state"` // storage.Bluesky*: pending, mirrored, failed, deleted, skipped
	URIs  []string `json:"uris"`  // AT-URIs of the posts of its thread, in order
	Error string   `json:"error"` // empty unless failed, or retrying
}

// StatusOf reads a status's mirror state; nil when the status was never
// mirrored (its account is not, or it predates the mirror).
func StatusOf(ctx context.Context, q storage.Queries, statusID int64) (*PostStatus, error) {
	p, err := q.GetBlueskyPost(ctx, statusID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	recs, err := q.ListBlueskyRecords(ctx, statusID)
	if err != nil {
		return nil, err
	}
	ps := &PostStatus{State: p.State, URIs: []string{}, Error: p.LastError}
	for _, r := range recs {
		if r.Kind == storage.BlueskyKindPost && r.URI != "" {
			ps.URIs = append(ps.URIs, r.URI)
		}
	}
	return ps, nil
}

// AccountStatus is an account's mirror health.
type AccountStatus struct {
	Account string `json:"account"`
	DID     string `json:"did,omitempty"`
	Handle  string `json:"handle,omitempty"`
	State   string `json:"state"` // active, login failed, rate limited, PDS unreachable; "never logged in"
	Error   string `json:"error,omitempty"`
}

// AccountStatusOf reads an account's mirror health.
func AccountStatusOf(ctx context.Context, q storage.Queries, account string) (AccountStatus, error) {
	s, err := q.GetBlueskySession(ctx, account)
	if errors.Is(err, storage.ErrNotFound) {
		return AccountStatus{Account: account, State: "never logged in"}, nil
	}
	if err != nil {
		return AccountStatus{}, err
	}
	return AccountStatus{Account: account, DID: s.DID, Handle: s.Handle, State: s.State, Error: s.LastError}, nil
}

// FollowersCount reads the account's follower count on Bluesky:
// app.bsky.actor.getProfile through the account's PDS (which asks its
// AppView), with the account's session and rate limiter. The console's
// follower chart samples it (package reach).
func (m *Mirror) FollowersCount(ctx context.Context, username string) (int64, error) {
	a := m.accounts[lower(username)]
	if a == nil {
		return 0, fmt.Errorf("atproto: account %s is not mirrored to Bluesky", username)
	}
	var out struct {
		DID            string `json:"did"`
		FollowersCount *int64 `json:"followersCount"`
	}
	err := m.call(ctx, a, func(c *atclient.APIClient) error {
		actor := string(m.DID(ctx, a.Username))
		if actor == "" && c.AccountDID != nil {
			actor = c.AccountDID.String()
		}
		if actor == "" {
			actor = a.Bluesky.Identifier
		}
		return getJSON(ctx, c, "app.bsky.actor.getProfile", map[string]any{"actor": actor}, &out)
	})
	if err != nil {
		return 0, fmt.Errorf("atproto: getProfile of %s: %w", a.Username, err)
	}
	if out.FollowersCount == nil || *out.FollowersCount < 0 {
		return 0, fmt.Errorf("atproto: getProfile of %s: no followersCount", a.Username)
	}
	return *out.FollowersCount, nil
}
