package moderation_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/moderation"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

func TestCheckAccountBlockable(t *testing.T) {
	tests := []struct {
		domain string
		ok     bool
	}{
		{"mastodon.social", true},
		{"spam.example", true},
		{"sub.spam.co.uk", true},
		{"someone.github.io", true},
		{"social", false},    // a TLD
		{"com", false},       // a TLD
		{"co.uk", false},     // an ICANN public suffix
		{"github.io", false}, // a private public suffix
		{"localhost", false}, // a single label
		{"nope", false},      // a single label, no such TLD
		{"xn--p1ai", false},  // .рф, in punycode
	}
	for _, tc := range tests {
		t.Run(tc.domain, func(t *testing.T) {
			err := moderation.CheckAccountBlockable(tc.domain)
			if (err == nil) != tc.ok {
				t.Errorf("CheckAccountBlockable(%q) = %v, want ok %v", tc.domain, err, tc.ok)
			}
			if err != nil && !errors.Is(err, moderation.ErrNotBlockable) {
				t.Errorf("error %v is not ErrNotBlockable", err)
			}
		})
	}
}

func TestAccountDomainBlocks(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	for _, f := range []storage.Follower{
		{Account: "news", ActorID: "https://spam.example/users/a", Inbox: "https://spam.example/users/a/inbox", State: storage.FollowerAccepted},
		{Account: "news", ActorID: "https://sub.spam.example/users/b", Inbox: "https://sub.spam.example/users/b/inbox", State: storage.FollowerAccepted},
		{Account: "mayor", ActorID: "https://spam.example/users/a", Inbox: "https://spam.example/users/a/inbox", State: storage.FollowerAccepted},
		{Account: "news", ActorID: "https://friendly.example/users/c", Inbox: "https://friendly.example/users/c/inbox", State: storage.FollowerAccepted},
	} {
		if _, err := store.UpsertFollower(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	s := newService(t, store, config.Moderation{DomainBlocks: []string{"config.example"}})
	if _, err := s.BlockDomains(ctx, []string{"cli.example"}, "by the operator"); err != nil {
		t.Fatal(err)
	}

	// Refused: public suffixes, bare TLDs, single labels. Nothing stored.
	for _, d := range []string{"social", "co.uk", "github.io", "localhost"} {
		if _, err := s.BlockDomainsFor(ctx, "news", []string{d}); !errors.Is(err, moderation.ErrNotBlockable) {
			t.Errorf("BlockDomainsFor(%q) = %v, want ErrNotBlockable", d, err)
		}
	}
	if _, err := s.BlockDomainsFor(ctx, "news", []string{"ok.example", "social"}); err == nil {
		t.Error("a list with a TLD was accepted")
	}
	if got := s.DomainBlocksOf("news"); len(got) != 0 {
		t.Fatalf("refused blocks were stored: %v", got)
	}

	res, err := s.BlockDomainsFor(ctx, "news", []string{"SPAM.example:443"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Domains, []string{"spam.example"}) || res.FollowersRemoved != 2 {
		t.Errorf("result %+v, want spam.example and 2 followers removed", res)
	}
	checks := []struct {
		name, account, host string
		want                bool
	}{
		{"news, the domain", "news", "spam.example", true},
		{"news, a subdomain with port", "News", "a.spam.example:8443", true},
		{"news, another domain", "news", "friendly.example", false},
		{"mayor is not affected", "mayor", "spam.example", false},
		{"instance block applies to every account", "mayor", "cli.example", true},
		{"configured block applies to every account", "news", "x.config.example", true},
	}
	for _, c := range checks {
		if got := s.BlockedFor(c.account, c.host); got != c.want {
			t.Errorf("%s: BlockedFor(%q, %q) = %v, want %v", c.name, c.account, c.host, got, c.want)
		}
	}
	if s.Blocked("spam.example") {
		t.Error("an account's block became an instance block")
	}
	var left []string
	fs, _ := store.ListAllFollowers(ctx, "", "", 100)
	for _, f := range fs {
		left = append(left, f.Account+" "+f.ActorID)
	}
	if want := []string{"mayor https://spam.example/users/a", "news https://friendly.example/users/c"}; !slices.Equal(left, want) {
		t.Errorf("followers left %q, want %q", left, want)
	}
	if got := s.DomainBlocksOf("news"); !slices.Equal(got, []string{"spam.example"}) {
		t.Errorf("DomainBlocksOf(news) = %v", got)
	}
	if got := s.DomainBlocksOf("mayor"); len(got) != 0 {
		t.Errorf("DomainBlocksOf(mayor) = %v", got)
	}

	// An account cannot lift the instance's blocks.
	if removed, err := s.UnblockDomainFor(ctx, "news", "cli.example"); err != nil || removed {
		t.Errorf("UnblockDomainFor(cli.example) = %v, %v", removed, err)
	}
	if !s.Blocked("cli.example") {
		t.Error("the operator's block was removed by an account")
	}
	if removed, err := s.UnblockDomainFor(ctx, "mayor", "spam.example"); err != nil || removed {
		t.Errorf("mayor lifted news' block: %v, %v", removed, err)
	}
	if removed, err := s.UnblockDomainFor(ctx, "news", "spam.example"); err != nil || !removed {
		t.Errorf("UnblockDomainFor(news, spam.example) = %v, %v", removed, err)
	}
	if s.BlockedFor("news", "spam.example") {
		t.Error("still blocked after the unblock")
	}

	// Another process sees the blocks after a reload.
	if _, err := s.BlockDomainsFor(ctx, "news", []string{"raid.example"}); err != nil {
		t.Fatal(err)
	}
	other := newService(t, store, config.Moderation{})
	if !other.BlockedFor("news", "raid.example") || other.BlockedFor("mayor", "raid.example") {
		t.Error("a second process does not see the account's block")
	}
}

func TestSweepAccountDomainBlocks(t *testing.T) {
	ctx := context.Background()
	store := storagetest.OpenSQLite(t)
	s := newService(t, store, config.Moderation{})
	if _, err := s.BlockDomainsFor(ctx, "news", []string{"spam.example"}); err != nil {
		t.Fatal(err)
	}
	// A follower recorded after the block (by a process that did not
	// check it) goes at the next sweep; another account's stays.
	for _, acc := range []string{"news", "mayor"} {
		f := storage.Follower{Account: acc, ActorID: "https://spam.example/users/late", Inbox: "https://spam.example/users/late/inbox", State: storage.FollowerAccepted}
		if _, err := store.UpsertFollower(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.Sweep(ctx)
	if err != nil || n != 1 {
		t.Errorf("Sweep = %d, %v; want 1", n, err)
	}
	if _, err := store.GetFollower(ctx, "mayor", "https://spam.example/users/late"); err != nil {
		t.Errorf("mayor's follower: %v", err)
	}
}

func TestBlockedForAllocations(t *testing.T) {
	ctx := context.Background()
	s := newService(t, storagetest.OpenSQLite(t), config.Moderation{DomainBlocks: []string{"cli.example"}})
	if _, err := s.BlockDomainsFor(ctx, "news", []string{"spam.example"}); err != nil {
		t.Fatal(err)
	}
	if !s.BlockedFor("news", "deep.sub.spam.example:443") || s.BlockedFor("news", "mastodon.social") {
		t.Fatal("BlockedFor is wrong")
	}
	if n := testing.AllocsPerRun(100, func() {
		s.BlockedFor("news", "deep.sub.spam.example:443")
		s.BlockedFor("mayor", "mastodon.social")
	}); n != 0 {
		t.Errorf("BlockedFor allocates %v times per call (it is on the inbox's hot path)", n)
	}
}
