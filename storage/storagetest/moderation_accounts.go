package storagetest

import (
	"context"
	"slices"
	"testing"

	"github.com/passerelle/passerelle/storage"
)

// RunAccountDomainBlocks runs the conformance tests of the domain blocks
// of one account (client API), kept apart from the instance's.
func RunAccountDomainBlocks(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("PutListDelete", func(t *testing.T) { testAccountDomainBlocks(t, open(t)) })
	t.Run("DeleteAccountFollowersByDomain", func(t *testing.T) { testDeleteAccountFollowersByDomain(t, open(t)) })
	t.Run("HideNotifications", func(t *testing.T) { testAccountDomainBlocksHideNotifications(t, open(t)) })
}

func accountBlockKeys(bs []storage.AccountDomainBlock) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Account+"|"+b.Domain)
	}
	return out
}

func testAccountDomainBlocks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	steps := []struct {
		name        string
		block       storage.AccountDomainBlock
		wantCreated bool
	}{
		{"news blocks spam", storage.AccountDomainBlock{Account: "news", Domain: "spam.example", CreatedAt: now}, true},
		{"again", storage.AccountDomainBlock{Account: "news", Domain: "spam.example", CreatedAt: now.Add(1)}, false},
		{"mayor blocks spam too", storage.AccountDomainBlock{Account: "mayor", Domain: "spam.example", CreatedAt: now}, true},
		{"news blocks another", storage.AccountDomainBlock{Account: "news", Domain: "loud.example", CreatedAt: now}, true},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := must(s.DomainBlocksVersion(ctx))(t)
			if got := must(s.PutAccountDomainBlock(ctx, st.block))(t); got != st.wantCreated {
				t.Errorf("created = %v, want %v", got, st.wantCreated)
			}
			after := must(s.DomainBlocksVersion(ctx))(t)
			if st.wantCreated && after == before {
				t.Errorf("version unchanged (%d) by a new block", after)
			}
		})
	}
	if _, err := s.PutAccountDomainBlock(ctx, storage.AccountDomainBlock{Account: "news"}); err == nil {
		t.Error("a block without domain was stored")
	}
	if got, want := accountBlockKeys(must(s.ListAccountDomainBlocks(ctx, "news"))(t)), []string{"news|loud.example", "news|spam.example"}; !slices.Equal(got, want) {
		t.Errorf("ListAccountDomainBlocks(news) = %v, want %v", got, want)
	}
	if got, want := accountBlockKeys(must(s.ListAccountDomainBlocks(ctx, ""))(t)), []string{"mayor|spam.example", "news|loud.example", "news|spam.example"}; !slices.Equal(got, want) {
		t.Errorf("ListAccountDomainBlocks(all) = %v, want %v", got, want)
	}
	if got := must(s.ListAccountDomainBlocks(ctx, "news"))(t); !got[1].CreatedAt.Equal(now) {
		t.Errorf("created_at %v, want %v (kept from the first block)", got[1].CreatedAt, now)
	}
	// The instance's blocks are another list.
	if got := must(s.ListDomainBlocks(ctx, ""))(t); len(got) != 0 {
		t.Errorf("instance blocks %v after account blocks", blockKeys(got))
	}
	before := must(s.DomainBlocksVersion(ctx))(t)
	if !must(s.DeleteAccountDomainBlock(ctx, "news", "spam.example"))(t) {
		t.Error("delete of an existing block reported none")
	}
	if must(s.DomainBlocksVersion(ctx))(t) == before {
		t.Error("version unchanged by a delete")
	}
	if must(s.DeleteAccountDomainBlock(ctx, "news", "spam.example"))(t) {
		t.Error("second delete reported a block")
	}
	if got, want := accountBlockKeys(must(s.ListAccountDomainBlocks(ctx, ""))(t)), []string{"mayor|spam.example", "news|loud.example"}; !slices.Equal(got, want) {
		t.Errorf("after delete: %v, want %v", got, want)
	}
}

func testDeleteAccountFollowersByDomain(t *testing.T, s storage.Store) {
	ctx := context.Background()
	add := func(account, actor, inbox, shared string) {
		t.Helper()
		f := follower(account, actor, storage.FollowerAccepted, base())
		f.Inbox, f.SharedInbox = inbox, shared
		must(s.UpsertFollower(ctx, f))(t)
	}
	add("news", "https://spam.example/users/a", "https://spam.example/users/a/inbox", "https://spam.example/inbox")
	add("mayor", "https://spam.example/users/a", "https://spam.example/users/a/inbox", "")
	add("news", "https://sub.spam.example:8443/u/b", "https://sub.spam.example:8443/u/b/inbox", "")
	add("news", "https://other.example/users/c", "https://other.example/users/c/inbox", "")
	add("news", "https://notspam.example/users/d", "https://notspam.example/users/d/inbox", "")
	if n := must(s.DeleteAccountFollowersByDomain(ctx, "news", "spam.example"))(t); n != 2 {
		t.Errorf("removed %d followers, want 2", n)
	}
	if n := must(s.DeleteAccountFollowersByDomain(ctx, "news", ""))(t); n != 0 {
		t.Errorf("empty domain removed %d followers", n)
	}
	var left []string
	for _, f := range must(s.ListAllFollowers(ctx, "", "", 100))(t) {
		left = append(left, f.Account+" "+f.ActorID)
	}
	want := []string{
		"mayor https://spam.example/users/a",
		"news https://notspam.example/users/d",
		"news https://other.example/users/c",
	}
	if !slices.Equal(left, want) {
		t.Errorf("followers left %q, want %q", left, want)
	}
}

func testAccountDomainBlocksHideNotifications(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	for _, n := range []storage.Notification{
		notification("news", storage.NotificationMention, "https://spam.example/notes/1", "https://spam.example/users/a", "spam.example", now),
		notification("news", storage.NotificationMention, "https://sub.spam.example/notes/2", "https://sub.spam.example/users/b", "sub.spam.example", now),
		notification("news", storage.NotificationMention, "https://notspam.example/notes/3", "https://notspam.example/users/c", "notspam.example", now),
		notification("mayor", storage.NotificationMention, "https://spam.example/notes/1", "https://spam.example/users/a", "spam.example", now),
	} {
		must2(s.InsertNotification(ctx, n))(t)
	}
	must(s.PutAccountDomainBlock(ctx, storage.AccountDomainBlock{Account: "news", Domain: "spam.example", CreatedAt: now}))(t)
	var got []string
	for _, n := range must(s.ListNotifications(ctx, storage.NotificationPage{Account: "news", Limit: 10}))(t) {
		got = append(got, n.ActorDomain)
	}
	if !slices.Equal(got, []string{"notspam.example"}) {
		t.Errorf("news sees notifications from %v, want only notspam.example", got)
	}
	if n := must(s.CountNotifications(ctx, "news", 0, nil, 0))(t); n != 1 {
		t.Errorf("CountNotifications(news) = %d, want 1", n)
	}
	if n := must(s.CountNotifications(ctx, "mayor", 0, nil, 0))(t); n != 1 {
		t.Errorf("CountNotifications(mayor) = %d, want 1 (news' block is news' own)", n)
	}
}
