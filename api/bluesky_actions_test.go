package api_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/atproto"
	"github.com/passerelle/passerelle/storage"
)

// fakeBluesky stands in for the mirror's actions (the real ones are in
// TestAppViewAnswer, against the reference PDS): it records the calls and
// refuses when told to.
type fakeBluesky struct {
	refuse  bool
	calls   []string
	reasons []string
	shields [][2]time.Time
}

type refusal struct{}

func (refusal) Error() string          { return "XRPC ERROR 400: InvalidRequest" }
func (refusal) BlueskyMessage() string { return "Bluesky refused the block: no" }

func (f *fakeBluesky) Mirrors(account string) bool { return account == "news" }
func (f *fakeBluesky) act(what string) error {
	f.calls = append(f.calls, what)
	if f.refuse {
		return refusal{}
	}
	return nil
}
func (f *fakeBluesky) BlockActor(_ context.Context, _, did string, on bool) error {
	return f.act("block " + did)
}
func (f *fakeBluesky) MuteActor(_ context.Context, _, did string, on bool) error {
	return f.act("mute " + did)
}
func (f *fakeBluesky) Report(_ context.Context, _, did string, uris []string, reason, _ string) (int, error) {
	f.reasons = append(f.reasons, reason)
	return len(uris), f.act("report " + did + " " + strings.Join(uris, ","))
}

func (f *fakeBluesky) ShieldRaid(_ context.Context, account string, from, to time.Time) (atproto.ShieldResult, error) {
	f.shields = append(f.shields, [2]time.Time{from, to})
	return atproto.ShieldResult{Threads: 1, HiddenReplies: 2, Accounts: 3, Blocked: 3}, f.act("shield " + account)
}

// TestBlueskyActionsBadInput: blocks and reports of Bluesky accounts are
// asked of Bluesky first, and nothing is recorded when it refuses (502);
// reports take Bluesky accounts only, a known category, and posts of the
// reported account; an account not mirrored cannot act on Bluesky.
func TestBlueskyActionsBadInput(t *testing.T) {
	fake := &fakeBluesky{}
	e := newEnv(t, envOptions{bluesky: fake})
	ctx := context.Background()
	const did = "did:plc:alice123"
	if err := e.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: did, Acct: "alice.bsky.social", Domain: "alice.bsky.social",
		UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: "https://fedi.example/users/bob", Acct: "bob@fedi.example",
		Domain: "fedi.example", UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	news := e.token(t, "news", "read write")
	mayor := e.token(t, "mayor", "read write")
	form := func(tok, path string, v url.Values) response {
		return e.do(t, request{method: "POST", path: path, token: tok, contentType: "application/x-www-form-urlencoded", body: []byte(v.Encode())})
	}

	fake.refuse = true
	if r := form(news, "/api/v1/accounts/alice.bsky.social/block", nil); r.code != 502 || !strings.Contains(string(r.body), "Bluesky refused the block") {
		t.Errorf("refused block: %d %s", r.code, r.body)
	}
	if kinds, err := e.store.AccountBlockKinds(ctx, "news", did); err != nil || len(kinds) != 0 {
		t.Errorf("a block Bluesky refused was recorded: %v, %v", kinds, err)
	}
	fake.refuse = false
	if r := form(news, "/api/v1/accounts/alice.bsky.social/mute", nil); r.code != 200 {
		t.Errorf("mute: %d %s", r.code, r.body)
	}
	if kinds, _ := e.store.AccountBlockKinds(ctx, "news", did); len(kinds) != 1 || kinds[0] != storage.BlockKindMute {
		t.Errorf("mute recorded as %v", kinds)
	}
	if r := form(mayor, "/api/v1/accounts/alice.bsky.social/block", nil); r.code != 422 {
		t.Errorf("block by an account not mirrored: %d %s", r.code, r.body)
	}

	for _, c := range []struct {
		name string
		tok  string
		v    url.Values
		code int
	}{
		{"no account", news, url.Values{}, 422},
		{"unknown account", news, url.Values{"account_id": {"nobody.bsky.social"}}, 404},
		{"fediverse account", news, url.Values{"account_id": {"bob@fedi.example"}}, 422},
		{"unknown category", news, url.Values{"account_id": {"alice.bsky.social"}, "category": {"rude"}}, 422},
		{"not a post of the account", news, url.Values{"account_id": {"alice.bsky.social"}, "status_ids[]": {"12345"}}, 422},
		{"not mirrored", mayor, url.Values{"account_id": {"alice.bsky.social"}}, 422},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := len(fake.calls)
			if r := form(c.tok, "/api/v1/reports", c.v); r.code != c.code {
				t.Errorf("%d %s, want %d", r.code, r.body, c.code)
			}
			if len(fake.calls) != n {
				t.Errorf("sent to Bluesky: %v", fake.calls[n:])
			}
		})
	}
	r := form(news, "/api/v1/reports", url.Values{"account_id": {"alice.bsky.social"}, "category": {"spam"}, "comment": {"pourriel"}})
	if r.code != 200 || !strings.Contains(string(r.body), `"forwarded":true`) {
		t.Errorf("report: %d %s", r.code, r.body)
	}
	if len(fake.reasons) != 1 || fake.reasons[0] != "com.atproto.moderation.defs#reasonSpam" {
		t.Errorf("reasons %v", fake.reasons)
	}
}
