package storagetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

func testTeamRemovals(t *testing.T, s storage.Store) {
	ctx := context.Background()
	alice := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "alice@x.example"}))(t)
	bob := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "bob@x.example"}))(t)
	for _, r := range []storage.TeamRole{{MemberID: alice, Account: "news", Role: "editor"}, {MemberID: alice, Account: "events", Role: "admin"},
		{MemberID: bob, Account: "news", Role: "editor"}} {
		if err := s.SetTeamRole(ctx, r.MemberID, r.Account, r.Role); err != nil {
			t.Fatal(err)
		}
	}
	if ok := must(s.DeleteTeamRole(ctx, alice, "News"))(t); !ok {
		t.Fatal("DeleteTeamRole = false, want true")
	}
	if ok := must(s.DeleteTeamRole(ctx, alice, "news"))(t); ok {
		t.Fatal("DeleteTeamRole twice = true")
	}
	if roles := must(s.TeamRoles(ctx, alice))(t); len(roles) != 1 || roles[0].Account != "events" {
		t.Fatalf("roles after removal = %+v", roles)
	}
	if roles := must(s.TeamRoles(ctx, bob))(t); len(roles) != 1 {
		t.Fatalf("bob's roles changed: %+v", roles)
	}

	for i, m := range []int64{alice, alice, bob} {
		if err := s.InsertTeamSession(ctx, storage.TeamSession{Hash: "s" + string(rune('a'+i)), MemberID: m, ExpiresAt: base().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if n := must(s.DeleteTeamSessions(ctx, alice))(t); n != 2 {
		t.Fatalf("DeleteTeamSessions = %d, want 2", n)
	}
	for _, h := range []string{"sa", "sb"} {
		_, err := s.GetTeamSession(ctx, h, base())
		wantErr(t, err, storage.ErrNotFound)
	}
	if _, err := s.GetTeamSession(ctx, "sc", base()); err != nil {
		t.Fatalf("bob's session: %v", err)
	}

	key := must(s.InsertTeamPasskey(ctx, storage.TeamPasskey{MemberID: alice, CredentialID: "c1", Credential: "{}"}))(t)
	wantErr(t, s.DeleteTeamPasskey(ctx, bob, key), storage.ErrNotFound) // another member's
	if err := s.DeleteTeamPasskey(ctx, alice, key); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DeleteTeamPasskey(ctx, alice, key), storage.ErrNotFound)
	if keys := must(s.TeamPasskeys(ctx, alice))(t); len(keys) != 0 {
		t.Fatalf("passkeys left: %+v", keys)
	}
}

func testTeamDrafts(t *testing.T, s storage.Store) {
	ctx := context.Background()
	t0 := base()
	carol := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "carol@x.example"}))(t)
	dave := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "dave@x.example"}))(t)
	_, err := s.InsertTeamDraft(ctx, storage.TeamDraft{Account: "news", MemberID: carol})
	if err == nil {
		t.Fatal("a draft without payload was stored")
	}
	first := must(s.InsertTeamDraft(ctx, storage.TeamDraft{Account: "News", MemberID: carol, AppID: 3, TokenID: 4,
		Payload: `{"text":"one"}`, Text: "one", CreatedAt: t0}))(t)
	second := must(s.InsertTeamDraft(ctx, storage.TeamDraft{Account: "news", MemberID: dave, Payload: `{"text":"two"}`, Text: "two",
		ScheduledAt: t0.Add(time.Hour), CreatedAt: t0.Add(time.Second)}))(t)
	must(s.InsertTeamDraft(ctx, storage.TeamDraft{Account: "events", MemberID: carol, Payload: `{}`, Text: "three"}))(t)

	d := must(s.GetTeamDraft(ctx, first))(t)
	want := storage.TeamDraft{ID: first, Account: "news", MemberID: carol, Email: "carol@x.example", AppID: 3, TokenID: 4,
		Payload: `{"text":"one"}`, Text: "one", State: storage.DraftPending, CreatedAt: t0}
	if d != want {
		t.Fatalf("GetTeamDraft = %+v\nwant %+v", d, want)
	}
	if d := must(s.GetTeamDraft(ctx, second))(t); !d.ScheduledAt.Equal(t0.Add(time.Hour)) || d.AppID != 0 {
		t.Fatalf("second draft = %+v", d)
	}
	_, err = s.GetTeamDraft(ctx, second+100)
	wantErr(t, err, storage.ErrNotFound)

	list := must(s.ListTeamDrafts(ctx, storage.TeamDraftQuery{Accounts: []string{"news"}}))(t)
	if len(list) != 2 || list[0].ID != second || list[1].ID != first {
		t.Fatalf("ListTeamDrafts(news) = %+v", list)
	}
	if l := must(s.ListTeamDrafts(ctx, storage.TeamDraftQuery{Accounts: []string{"news", "events"}, MemberID: carol}))(t); len(l) != 2 || l[0].Text != "three" {
		t.Fatalf("ListTeamDrafts(carol) = %+v", l)
	}
	if l := must(s.ListTeamDrafts(ctx, storage.TeamDraftQuery{}))(t); len(l) != 0 {
		t.Fatalf("ListTeamDrafts(no account) = %+v", l)
	}
	if n := must(s.CountPendingTeamDrafts(ctx, []string{"news"}))(t); n != 2 {
		t.Fatalf("CountPendingTeamDrafts = %d, want 2", n)
	}

	// Another account's draft is not decided through this one.
	wantErr(t, s.DecideTeamDraft(ctx, storage.DraftDecision{DraftID: first, Account: "events", State: storage.DraftApproved, By: dave}), storage.ErrNotFound)
	if err := s.DecideTeamDraft(ctx, storage.DraftDecision{DraftID: first, Account: "news", State: "published", By: dave}); err == nil {
		t.Fatal("an unknown state was accepted")
	}
	if err := s.DecideTeamDraft(ctx, storage.DraftDecision{DraftID: first, Account: "news", State: storage.DraftApproved, By: dave,
		StatusID: 77, At: t0.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.DecideTeamDraft(ctx, storage.DraftDecision{DraftID: first, Account: "news", State: storage.DraftRejected, By: dave}), storage.ErrNotFound)
	if err := s.DecideTeamDraft(ctx, storage.DraftDecision{DraftID: second, Account: "news", State: storage.DraftRejected, By: carol,
		Reason: "not today", At: t0.Add(2 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	d = must(s.GetTeamDraft(ctx, first))(t)
	if d.State != storage.DraftApproved || d.DecidedBy != dave || d.StatusID != 77 || !d.DecidedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("approved draft = %+v", d)
	}
	if d := must(s.GetTeamDraft(ctx, second))(t); d.State != storage.DraftRejected || d.Reason != "not today" || d.StatusID != 0 || d.DecidedBy != carol {
		t.Fatalf("rejected draft = %+v", d)
	}
	if l := must(s.ListTeamDrafts(ctx, storage.TeamDraftQuery{Accounts: []string{"news"}, State: storage.DraftPending}))(t); len(l) != 0 {
		t.Fatalf("pending after decisions = %+v", l)
	}
	if n := must(s.CountPendingTeamDrafts(ctx, []string{"news", "events"}))(t); n != 1 {
		t.Fatalf("CountPendingTeamDrafts = %d, want 1", n)
	}
}

// testTeamDraftDecidedOnce: of editors deciding at once, one wins.
func testTeamDraftDecidedOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	m := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "c@x.example"}))(t)
	id := must(s.InsertTeamDraft(ctx, storage.TeamDraft{Account: "news", MemberID: m, Payload: "{}"}))(t)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			state := storage.DraftApproved
			if i%2 == 1 {
				state = storage.DraftRejected
			}
			err := s.InTx(ctx, func(q storage.Queries) error {
				return q.DecideTeamDraft(ctx, storage.DraftDecision{DraftID: id, Account: "news", State: state, By: m})
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, storage.ErrNotFound):
				t.Errorf("DecideTeamDraft: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d decisions succeeded, want 1", wins)
	}
}

func testEditorPushSubscriptions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	editor := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "e@x.example"}))(t)
	admin := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "a@x.example"}))(t)
	contributor := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "c@x.example"}))(t)
	otherEditor := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "o@x.example"}))(t) // editor of events only
	for _, r := range []storage.TeamRole{{MemberID: editor, Account: "news", Role: "editor"}, {MemberID: admin, Account: "news", Role: "admin"},
		{MemberID: contributor, Account: "news", Role: "contributor"}, {MemberID: otherEditor, Account: "events", Role: "editor"}} {
		if err := s.SetTeamRole(ctx, r.MemberID, r.Account, r.Role); err != nil {
			t.Fatal(err)
		}
	}
	sub := func(hash string, member int64, account string) int64 {
		tok := must(s.InsertToken(ctx, storage.Token{Hash: hash, Account: account, Scopes: "push", MemberID: member}))(t)
		p := must(s.PutPushSubscription(ctx, storage.PushSubscription{TokenID: tok, Account: account, Endpoint: "https://push.example/" + hash,
			P256dh: "k", Auth: "a", Alerts: []string{"mention"}, Policy: storage.PushPolicyAll}))(t)
		return p.ID
	}
	e := sub("t-editor", editor, "news")
	a := sub("t-admin", admin, "news")
	sub("t-contributor", contributor, "news")
	sub("t-cli", 0, "news")
	sub("t-other", otherEditor, "news") // a token on news of a member who edits events only
	sub("t-events", otherEditor, "events")
	sub("t-revoked", editor, "news")
	if err := s.RevokeTokenByHash(ctx, "t-revoked", base()); err != nil {
		t.Fatal(err)
	}
	got := must(s.ListEditorPushSubscriptions(ctx, "news", base().Add(time.Hour)))(t)
	var ids []int64
	for _, p := range got {
		ids = append(ids, p.ID)
	}
	if len(ids) != 2 || ids[0] != e || ids[1] != a {
		t.Fatalf("ListEditorPushSubscriptions(news) = %v, want [%d %d]", ids, e, a)
	}
}
