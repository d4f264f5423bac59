package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunPush runs the conformance tests of the Web Push subscriptions.
func RunPush(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("PushSubscriptionPerToken", func(t *testing.T) { testPushSubscriptionPerToken(t, open(t)) })
	t.Run("PushSubscriptionsLiveTokens", func(t *testing.T) { testPushSubscriptionsLiveTokens(t, open(t)) })
	t.Run("PushSubscriptionGone", func(t *testing.T) { testPushSubscriptionGone(t, open(t)) })
	t.Run("PushRaidClaims", func(t *testing.T) { testPushRaidClaims(t, open(t)) })
}

func pushToken(t *testing.T, s storage.Store, account, hash string) int64 {
	t.Helper()
	return must(s.InsertToken(context.Background(), storage.Token{Hash: hash, Account: account, Scopes: "push", CreatedAt: base()}))(t)
}

func testPushSubscriptionPerToken(t *testing.T, s storage.Store) {
	ctx := context.Background()
	tok := pushToken(t, s, "news", "h1")
	_, err := s.GetPushSubscription(ctx, tok)
	wantErr(t, err, storage.ErrNotFound)
	if has := must(s.HasPushSubscriptions(ctx, "news", time.Time{}))(t); has {
		t.Fatal("HasPushSubscriptions before any = true")
	}

	first := must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: "news",
		Endpoint: "https://push.example/a", P256dh: "key-a", Auth: "auth-a",
		Alerts: []string{"mention", "follow"}, Policy: storage.PushPolicyAll, CreatedAt: base()}))(t)
	if first.ID == 0 || first.Endpoint != "https://push.example/a" || !slices.Equal(first.Alerts, []string{"mention", "follow"}) ||
		first.Policy != "all" || !first.RaidUntil.IsZero() {
		t.Fatalf("PutPushSubscription = %+v", first)
	}
	if _, err := s.ClaimPushRaid(ctx, first.ID, base(), base().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}

	// A second POST with the same token replaces the subscription: still
	// one, new endpoint and keys, raid state reset.
	second := must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: "news",
		Endpoint: "https://push.example/b", P256dh: "key-b", Auth: "auth-b", Policy: storage.PushPolicyFollower}))(t)
	if second.Endpoint != "https://push.example/b" || second.P256dh != "key-b" || second.Auth != "auth-b" ||
		len(second.Alerts) != 0 || second.Policy != "follower" || !second.RaidUntil.IsZero() {
		t.Fatalf("replaced subscription = %+v", second)
	}
	if got := must(s.ListPushSubscriptions(ctx, "news", base()))(t); len(got) != 1 || got[0].Endpoint != second.Endpoint {
		t.Fatalf("ListPushSubscriptions = %+v, want the replaced one only", got)
	}

	upd := must(s.UpdatePushSubscriptionData(ctx, tok, []string{"favourite"}, storage.PushPolicyNone))(t)
	if !slices.Equal(upd.Alerts, []string{"favourite"}) || upd.Policy != "none" || upd.Endpoint != second.Endpoint {
		t.Fatalf("UpdatePushSubscriptionData = %+v", upd)
	}
	byID := must(s.GetPushSubscriptionByID(ctx, upd.ID))(t)
	if byID.TokenID != tok || byID.Policy != "none" {
		t.Fatalf("GetPushSubscriptionByID = %+v", byID)
	}
	other := pushToken(t, s, "news", "h2")
	_, err = s.UpdatePushSubscriptionData(ctx, other, nil, "all")
	wantErr(t, err, storage.ErrNotFound)

	if gone := must(s.DeletePushSubscription(ctx, tok))(t); !gone {
		t.Fatal("DeletePushSubscription = false")
	}
	if gone := must(s.DeletePushSubscription(ctx, tok))(t); gone {
		t.Fatal("second DeletePushSubscription = true")
	}
	_, err = s.GetPushSubscription(ctx, tok)
	wantErr(t, err, storage.ErrNotFound)
}

func testPushSubscriptionsLiveTokens(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	put := func(account, hash string) (int64, storage.PushSubscription) {
		tok := pushToken(t, s, account, hash)
		return tok, must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: account,
			Endpoint: "https://push.example/" + hash, P256dh: "k", Auth: "a", Policy: "all"}))(t)
	}
	live, _ := put("news", "live")
	revoked, _ := put("news", "revoked")
	second, _ := put("news", "second")
	put("other", "other")
	check(t, s.RevokeToken(ctx, revoked, now))
	exp := must(s.InsertToken(ctx, storage.Token{Hash: "expired", Account: "news", Scopes: "push",
		CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}))(t)
	must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: exp, Account: "news",
		Endpoint: "https://push.example/expired", P256dh: "k", Auth: "a", Policy: "all"}))(t)

	got := must(s.ListPushSubscriptions(ctx, "news", now))(t)
	var tokens []int64
	for _, p := range got {
		tokens = append(tokens, p.TokenID)
	}
	if !slices.Equal(tokens, []int64{live, second}) {
		t.Errorf("ListPushSubscriptions tokens = %v, want the live ones %v (not revoked %d nor expired %d)", tokens, []int64{live, second}, revoked, exp)
	}
	if has := must(s.HasPushSubscriptions(ctx, "news", time.Time{}))(t); !has {
		t.Error("HasPushSubscriptions = false")
	}
	if has := must(s.HasPushSubscriptions(ctx, "nobody", time.Time{}))(t); has {
		t.Error("HasPushSubscriptions(nobody) = true")
	}
}

func testPushSubscriptionGone(t *testing.T, s storage.Store) {
	ctx := context.Background()
	tok := pushToken(t, s, "news", "h")
	sub := must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: "news",
		Endpoint: "https://push.example/old", P256dh: "k", Auth: "a", Policy: "all"}))(t)
	// The client subscribed again meanwhile: the old endpoint's 410 must
	// not remove the new subscription.
	must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: "news",
		Endpoint: "https://push.example/new", P256dh: "k", Auth: "a", Policy: "all"}))(t)
	if gone := must(s.DeleteGonePushSubscription(ctx, sub.ID, "https://push.example/old"))(t); gone {
		t.Fatal("DeleteGonePushSubscription removed a subscription whose endpoint changed")
	}
	if gone := must(s.DeleteGonePushSubscription(ctx, sub.ID, "https://push.example/new"))(t); !gone {
		t.Fatal("DeleteGonePushSubscription kept the gone subscription")
	}
	_, err := s.GetPushSubscriptionByID(ctx, sub.ID)
	wantErr(t, err, storage.ErrNotFound)
}

func testPushRaidClaims(t *testing.T, s storage.Store) {
	ctx := context.Background()
	tok := pushToken(t, s, "news", "h")
	sub := must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: "news",
		Endpoint: "https://push.example/a", P256dh: "k", Auth: "a", Policy: "all"}))(t)
	t0 := base().Truncate(time.Minute)
	steps := []struct {
		name      string
		from, end time.Duration
		want      bool
		wantUntil time.Duration
	}{
		{"a first raid is new", 0, 20 * time.Minute, true, 20 * time.Minute},
		{"the same raid again is not", 0, 20 * time.Minute, false, 20 * time.Minute},
		{"the raid goes on: its end moves, still not new", 0, 40 * time.Minute, false, 40 * time.Minute},
		{"an older view of it does not move the end back", 0, 30 * time.Minute, false, 40 * time.Minute},
		{"a raid starting before the known end is the same", 30 * time.Minute, 50 * time.Minute, false, 50 * time.Minute},
		{"a raid starting at or after the end is a new one", 50 * time.Minute, 70 * time.Minute, true, 70 * time.Minute},
	}
	if has := must(s.HasPushSubscriptions(ctx, "news", t0))(t); !has {
		t.Error("HasPushSubscriptions before any raid = false")
	}
	for _, st := range steps {
		got, err := s.ClaimPushRaid(ctx, sub.ID, t0.Add(st.from), t0.Add(st.end))
		check(t, err)
		if got != st.want {
			t.Errorf("%s: ClaimPushRaid = %v, want %v", st.name, got, st.want)
		}
		if until := must(s.GetPushSubscriptionByID(ctx, sub.ID))(t).RaidUntil; !until.Equal(t0.Add(st.wantUntil)) {
			t.Errorf("%s: RaidUntil = %v, want %v", st.name, until, t0.Add(st.wantUntil))
		}
	}
	// Told of a raid that lasts until +70 min: a mention before then
	// finds no subscription to tell, one at the end does.
	if has := must(s.HasPushSubscriptions(ctx, "news", t0.Add(69*time.Minute)))(t); has {
		t.Error("HasPushSubscriptions during a raid told = true")
	}
	if has := must(s.HasPushSubscriptions(ctx, "news", t0.Add(70*time.Minute)))(t); !has {
		t.Error("HasPushSubscriptions at the raid's known end = false")
	}
	if has := must(s.HasPushSubscriptions(ctx, "news", time.Time{}))(t); !has {
		t.Error("HasPushSubscriptions(any) = false")
	}
}
