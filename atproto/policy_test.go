package atproto

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/policy"
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

// TestGateRecords: the one builder of a post's gates gives crisis mode's
// strictest policy a threadgate allowing nobody ([]) and a postgate
// disabling quotes, and an open policy a threadgate without an allow
// list and no postgate; a post that is not its thread's root gets no
// threadgate.
func TestGateRecords(t *testing.T) {
	at := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	uri := "at://did:plc:abc/app.bsky.feed.post/3k"
	tests := []struct {
		name string
		pol  postPolicy
		root bool
		want string // the records, as JSON
	}{
		{"strictest, root", postPolicy{replies: "nobody", quotes: "disallow"}, true,
			`threadgate {"$type":"app.bsky.feed.threadgate","allow":[],"createdAt":"2026-12-06T12:00:00Z","post":"` + uri + `"}` +
				`|postgate {"$type":"app.bsky.feed.postgate","createdAt":"2026-12-06T12:00:00Z","embeddingRules":[{"$type":"app.bsky.feed.postgate#disableRule"}],"post":"` + uri + `"}`},
		{"strictest, not the root", postPolicy{replies: "nobody", quotes: "disallow"}, false,
			`postgate {"$type":"app.bsky.feed.postgate","createdAt":"2026-12-06T12:00:00Z","embeddingRules":[{"$type":"app.bsky.feed.postgate#disableRule"}],"post":"` + uri + `"}`},
		{"open", postPolicy{replies: "everyone", quotes: "allow"}, true,
			`threadgate {"$type":"app.bsky.feed.threadgate","createdAt":"2026-12-06T12:00:00Z","post":"` + uri + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			tg, pg := buildGates(gateRule{replies: policy.Replies(tc.pol.replies), quotes: policy.Quotes(tc.pol.quotes)}, uri, tc.root, at)
			for _, g := range []struct {
				kind string
				rec  any
				ok   bool
			}{{"threadgate", tg, tg != nil}, {"postgate", pg, pg != nil}} {
				if !g.ok {
					continue
				}
				b, err := json.Marshal(g.rec)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, g.kind+" "+string(b))
			}
			if s := strings.Join(got, "|"); s != tc.want {
				t.Errorf("gate records:\n%s\nwant:\n%s", s, tc.want)
			}
		})
	}
}
