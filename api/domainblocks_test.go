package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// TestDomainBlocksBelongToTheAccount: a client-API domain block is the
// calling account's (as a Mastodon user's), never the instance's; public
// suffixes and single labels are refused; the operator's blocks can be
// neither lifted nor listed through it (issue 13).
func TestDomainBlocksBelongToTheAccount(t *testing.T) {
	ctx := context.Background()
	var mod *moderation.Service
	e := newEnv(t, envOptions{moderation: func(store storage.Store) api.DomainModerator {
		client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second})
		m, err := moderation.New(ctx, config.Moderation{DomainBlocks: []string{"config.example"}}, store, client, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		mod = m
		return m
	}})
	if _, err := mod.BlockDomains(ctx, []string{"cli.example"}, "bridge blocks add"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []storage.Follower{
		{Account: "news", ActorID: "https://spam.example/users/a", Inbox: "https://spam.example/users/a/inbox", State: storage.FollowerAccepted},
		{Account: "mayor", ActorID: "https://spam.example/users/a", Inbox: "https://spam.example/users/a/inbox", State: storage.FollowerAccepted},
		{Account: "news", ActorID: "https://mastodon.social/users/b", Inbox: "https://mastodon.social/users/b/inbox", State: storage.FollowerAccepted},
		{Account: "mayor", ActorID: "https://mastodon.social/users/b", Inbox: "https://mastodon.social/users/b/inbox", State: storage.FollowerAccepted},
	} {
		if _, err := e.store.UpsertFollower(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	mayor := e.token(t, "mayor", "read write")
	news := e.token(t, "news", "read write")
	followers := func(account string) []string {
		t.Helper()
		fs, err := e.store.ListFollowers(ctx, account, "", "", 100)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, f := range fs {
			out = append(out, f.ActorID)
		}
		return out
	}
	domains := func(tok string) []string {
		t.Helper()
		r := e.get(t, "/api/v1/domain_blocks", tok)
		var out []string
		if r.code != 200 || json.Unmarshal(r.body, &out) != nil {
			t.Fatalf("GET domain_blocks: %d %s", r.code, r.body)
		}
		return out
	}

	// Refused: a bare TLD, public suffixes, a single label. Nobody loses
	// followers.
	for _, d := range []string{"social", "co.uk", "github.io", "localhost", "*.social"} {
		r := e.form(t, http.MethodPost, "/api/v1/domain_blocks", mayor, url.Values{"domain": {d}})
		if r.code != http.StatusUnprocessableEntity || !strings.Contains(r.errorText(t), "not a server's domain") {
			t.Errorf("block %q: %d %s, want 422", d, r.code, r.body)
		}
	}
	if got := followers("news"); len(got) != 2 {
		t.Fatalf("news' followers after refused blocks: %v", got)
	}

	// The mayor blocks spam.example: the mayor's follower there goes,
	// news keeps its own; the instance does not block it.
	if r := e.form(t, http.MethodPost, "/api/v1/domain_blocks", mayor, url.Values{"domain": {"spam.example"}}); r.code != 200 {
		t.Fatalf("POST domain_blocks: %d %s", r.code, r.body)
	}
	if got := followers("mayor"); !slices.Equal(got, []string{"https://mastodon.social/users/b"}) {
		t.Errorf("mayor's followers %v", got)
	}
	if got := followers("news"); len(got) != 2 {
		t.Errorf("news lost followers to the mayor's block: %v", got)
	}
	if mod.Blocked("spam.example") {
		t.Error("the mayor's block became the instance's")
	}

	// Each account lists its own blocks, never the operator's.
	if got := domains(mayor); !slices.Equal(got, []string{"spam.example"}) {
		t.Errorf("mayor's domain_blocks = %v", got)
	}
	if got := domains(news); len(got) != 0 {
		t.Errorf("news' domain_blocks = %v", got)
	}

	// An account cannot lift the operator's blocks, nor another account's.
	for _, d := range []string{"cli.example", "config.example"} {
		if r := e.form(t, http.MethodDelete, "/api/v1/domain_blocks", mayor, url.Values{"domain": {d}}); r.code != 200 {
			t.Errorf("DELETE %s: %d %s", d, r.code, r.body)
		}
		if !mod.Blocked(d) {
			t.Errorf("the operator's block of %s was lifted through the client API", d)
		}
	}
	if r := e.form(t, http.MethodDelete, "/api/v1/domain_blocks", news, url.Values{"domain": {"spam.example"}}); r.code != 200 {
		t.Errorf("news DELETE: %d", r.code)
	}
	if !mod.BlockedFor("mayor", "spam.example") {
		t.Error("news lifted the mayor's block")
	}
	if r := e.form(t, http.MethodDelete, "/api/v1/domain_blocks", mayor, url.Values{"domain": {"spam.example"}}); r.code != 200 {
		t.Errorf("mayor DELETE: %d", r.code)
	}
	if mod.BlockedFor("mayor", "spam.example") || len(domains(mayor)) != 0 {
		t.Error("the mayor's block is still there")
	}
}
