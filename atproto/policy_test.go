package atproto

import (
	"context"
	"slices"
	"testing"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// TestPostPolicyOverridesAccount: a post's own interaction policy (set
// through the client API) decides its threadgate and postgate.
func TestPostPolicyOverridesAccount(t *testing.T) {
	store := storagetest.OpenSQLite(t)
	m := &Mirror{store: store, log: zerolog.Nop()}
	a := &account{Account: Account{Username: "news", Replies: "everyone"}}
	a.Bluesky.Quotes = config.QuotesAllow
	ctx := context.Background()
	if err := store.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: 7, Replies: "nobody", Quotes: "disallow"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		status      int64
		root        bool
		wantReplies string
		wantGates   []string
	}{
		{"account policy", 1, true, "everyone", []string{storage.BlueskyKindThreadgate}},
		{"post override", 7, true, "nobody", []string{storage.BlueskyKindThreadgate, storage.BlueskyKindPostgate}},
		{"post override, not the root", 7, false, "nobody", []string{storage.BlueskyKindPostgate}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := m.postPolicy(ctx, a, tc.status)
			if err != nil {
				t.Fatal(err)
			}
			if p.replies != tc.wantReplies {
				t.Errorf("replies %q, want %q", p.replies, tc.wantReplies)
			}
			g, err := m.gateRule(ctx, a, tc.status)
			if err != nil {
				t.Fatal(err)
			}
			if g := g.kinds(tc.root); !slices.Equal(g, tc.wantGates) {
				t.Errorf("gates %v, want %v", g, tc.wantGates)
			}
		})
	}
}
