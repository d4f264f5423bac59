package storagetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunTeam runs the conformance tests of the comms team's console.
func RunTeam(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("TeamMembersAndRoles", func(t *testing.T) { testTeamMembersAndRoles(t, open(t)) })
	t.Run("TOTPStepOnce", func(t *testing.T) { testTOTPStepOnce(t, open(t)) })
	t.Run("TeamInvites", func(t *testing.T) { testTeamInvites(t, open(t)) })
	t.Run("TeamSessions", func(t *testing.T) { testTeamSessions(t, open(t)) })
	t.Run("TokenAndCodeMember", func(t *testing.T) { testTokenAndCodeMember(t, open(t)) })
	t.Run("StatusAttributions", func(t *testing.T) { testStatusAttributions(t, open(t)) })
	t.Run("AuditLog", func(t *testing.T) { testAuditLog(t, open(t)) })
	t.Run("TeamPasskeys", func(t *testing.T) { testTeamPasskeys(t, open(t)) })
	t.Run("TeamRemovals", func(t *testing.T) { testTeamRemovals(t, open(t)) })
	t.Run("TeamDrafts", func(t *testing.T) { testTeamDrafts(t, open(t)) })
	t.Run("TeamDraftDecidedOnce", func(t *testing.T) { testTeamDraftDecidedOnce(t, open(t)) })
	t.Run("EditorPushSubscriptions", func(t *testing.T) { testEditorPushSubscriptions(t, open(t)) })
}

func testTeamMembersAndRoles(t *testing.T, s storage.Store) {
	ctx := context.Background()
	id := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: " Alice@City.Example ", PasswordHash: "h", TOTPSecret: "S", CreatedAt: base()}))(t)
	_, err := s.InsertTeamMember(ctx, storage.TeamMember{Email: "alice@city.example", PasswordHash: "x"})
	wantErr(t, err, storage.ErrAlreadyExists)
	m := must(s.GetTeamMemberByEmail(ctx, "ALICE@city.example"))(t)
	if m.ID != id || m.Email != "alice@city.example" || m.PasswordHash != "h" || m.TOTPSecret != "S" {
		t.Fatalf("GetTeamMemberByEmail = %+v", m)
	}
	if got := must(s.GetTeamMember(ctx, id))(t); got != m {
		t.Fatalf("GetTeamMember = %+v, want %+v", got, m)
	}
	_, err = s.GetTeamMember(ctx, id+100)
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetTeamMemberByEmail(ctx, "nobody@city.example")
	wantErr(t, err, storage.ErrNotFound)

	bob := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "bob@city.example"}))(t)
	for _, r := range []storage.TeamRole{
		{MemberID: id, Account: "News", Role: storage.RoleEditor},
		{MemberID: id, Account: "news", Role: storage.RoleAdmin}, // replaces
		{MemberID: id, Account: "events", Role: storage.RoleContributor},
		{MemberID: bob, Account: "news", Role: storage.RoleContributor},
	} {
		if err := s.SetTeamRole(ctx, r.MemberID, r.Account, r.Role); err != nil {
			t.Fatal(err)
		}
	}
	roles := must(s.TeamRoles(ctx, id))(t)
	if fmt.Sprint(roles) != fmt.Sprint([]storage.TeamRole{
		{MemberID: id, Email: "alice@city.example", Account: "events", Role: "contributor"},
		{MemberID: id, Email: "alice@city.example", Account: "news", Role: "admin"},
	}) {
		t.Fatalf("TeamRoles = %+v", roles)
	}
	news := must(s.ListTeamRoles(ctx, []string{"news"}))(t)
	if len(news) != 2 || news[0].Email != "alice@city.example" || news[1].Email != "bob@city.example" || news[1].Role != "contributor" {
		t.Fatalf("ListTeamRoles(news) = %+v", news)
	}
	if all := must(s.ListTeamRoles(ctx, nil))(t); len(all) != 3 {
		t.Fatalf("ListTeamRoles(nil) = %+v", all)
	}
	if none := must(s.ListTeamRoles(ctx, []string{}))(t); len(none) != 0 {
		t.Fatalf("ListTeamRoles([]) = %+v", none)
	}
}

func testTOTPStepOnce(t *testing.T, s storage.Store) {
	ctx := context.Background()
	id := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "a@x.example"}))(t)
	for _, c := range []struct {
		name string
		step int64
		want bool
	}{
		{"first", 100, true},
		{"same step again", 100, false},
		{"an earlier step", 99, false},
		{"the next step", 101, true},
	} {
		if got := must(s.UseTOTPStep(ctx, id, c.step))(t); got != c.want {
			t.Errorf("%s: UseTOTPStep(%d) = %v, want %v", c.name, c.step, got, c.want)
		}
	}
	// Concurrent uses of one step: exactly one wins.
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		wins int
	)
	for range 8 {
		wg.Go(func() {
			ok, err := s.UseTOTPStep(ctx, id, 200)
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("concurrent UseTOTPStep winners = %d, want 1", wins)
	}
}

func testTeamInvites(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	inv := storage.TeamInvite{Hash: "h1", Email: "New@City.example", Account: "News", Role: "editor", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.InsertTeamInvite(ctx, inv); err != nil {
		t.Fatal(err)
	}
	wantErr(t, s.InsertTeamInvite(ctx, inv), storage.ErrAlreadyExists)
	got := must(s.GetTeamInvite(ctx, "h1"))(t)
	if got.Email != "new@city.example" || got.Account != "news" || got.Role != "editor" || !got.ExpiresAt.Equal(now.Add(time.Hour)) || !got.UsedAt.IsZero() {
		t.Fatalf("GetTeamInvite = %+v", got)
	}
	_, err := s.UseTeamInvite(ctx, "h1", now.Add(2*time.Hour))
	wantErr(t, err, storage.ErrNotFound) // expired
	used := must(s.UseTeamInvite(ctx, "h1", now.Add(time.Minute)))(t)
	if !used.UsedAt.Equal(now.Add(time.Minute)) || used.Email != "new@city.example" {
		t.Fatalf("UseTeamInvite = %+v", used)
	}
	_, err = s.UseTeamInvite(ctx, "h1", now.Add(2*time.Minute))
	wantErr(t, err, storage.ErrNotFound) // used once
	_, err = s.UseTeamInvite(ctx, "unknown", now)
	wantErr(t, err, storage.ErrNotFound)
	if got := must(s.GetTeamInvite(ctx, "h1"))(t); !got.UsedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("used invitation = %+v", got)
	}
}

func testTeamSessions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	id := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "a@x.example"}))(t)
	if err := s.InsertTeamSession(ctx, storage.TeamSession{Hash: "s1", MemberID: id, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	got := must(s.GetTeamSession(ctx, "s1", now))(t)
	if got.MemberID != id || !got.ExpiresAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("GetTeamSession = %+v", got)
	}
	_, err := s.GetTeamSession(ctx, "s1", now.Add(time.Hour))
	wantErr(t, err, storage.ErrNotFound) // expired
	if err := s.DeleteTeamSession(ctx, "s1"); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetTeamSession(ctx, "s1", now)
	wantErr(t, err, storage.ErrNotFound)
	if err := s.DeleteTeamSession(ctx, "s1"); err != nil {
		t.Fatalf("deleting a deleted session: %v", err)
	}
}

func testTokenAndCodeMember(t *testing.T, s storage.Store) {
	ctx := context.Background()
	id := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "a@x.example"}))(t)
	tok := must(s.InsertToken(ctx, storage.Token{Hash: "t-member", Account: "news", Scopes: "read", MemberID: id}))(t)
	if got := must(s.GetTokenByHash(ctx, "t-member"))(t); got.ID != tok || got.MemberID != id {
		t.Fatalf("token = %+v, want member %d", got, id)
	}
	must(s.InsertToken(ctx, storage.Token{Hash: "t-cli", Account: "news", Scopes: "read"}))(t)
	if got := must(s.GetTokenByHash(ctx, "t-cli"))(t); got.MemberID != 0 {
		t.Fatalf("CLI token member = %d, want 0", got.MemberID)
	}
	if err := s.InsertAuthCode(ctx, storage.AuthCode{Hash: "c1", AppID: 3, Account: "news", RedirectURI: "x", ExpiresAt: base().Add(time.Minute), MemberID: id}); err != nil {
		t.Fatal(err)
	}
	if c := must(s.TakeAuthCode(ctx, "c1"))(t); c.MemberID != id {
		t.Fatalf("auth code member = %d, want %d", c.MemberID, id)
	}
}

func testStatusAttributions(t *testing.T, s storage.Store) {
	ctx := context.Background()
	app := must(s.InsertApp(ctx, storage.App{ClientID: "cid", SecretHash: "x", Name: "Tusky", Website: "https://tusky.app", RedirectURIs: "x", Scopes: "read"}))(t)
	st := insertStatus(t, s, newStatus("news", "hello", "public"))
	st2 := insertStatus(t, s, newStatus("news", "cli", "public"))
	if err := s.PutStatusAttribution(ctx, storage.StatusAttribution{StatusID: st, MemberID: 7, AppID: app, TokenID: 9, CreatedAt: base()}); err != nil {
		t.Fatal(err)
	}
	// Once: a second call changes nothing.
	if err := s.PutStatusAttribution(ctx, storage.StatusAttribution{StatusID: st, MemberID: 8}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutStatusAttribution(ctx, storage.StatusAttribution{StatusID: st2, TokenID: 10}); err != nil {
		t.Fatal(err)
	}
	got := must(s.StatusAttributions(ctx, []int64{st, st2, st2 + 1000}))(t)
	if len(got) != 2 {
		t.Fatalf("StatusAttributions = %+v", got)
	}
	if a := got[st]; a.MemberID != 7 || a.AppID != app || a.TokenID != 9 || a.AppName != "Tusky" || a.AppWebsite != "https://tusky.app" {
		t.Fatalf("attribution = %+v", a)
	}
	if a := got[st2]; a.MemberID != 0 || a.AppID != 0 || a.AppName != "" || a.TokenID != 10 {
		t.Fatalf("CLI attribution = %+v", a)
	}
	if none := must(s.StatusAttributions(ctx, nil))(t); len(none) != 0 {
		t.Fatalf("StatusAttributions(nil) = %+v", none)
	}
}

func testAuditLog(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	var ids []int64
	for i, e := range []storage.AuditEntry{
		{Account: "News", MemberID: 1, Actor: "alice@x.example", App: "Tusky", Action: "status.create", Target: "1"},
		{Account: "events", Actor: "token cli", Action: "status.delete", Target: "2"},
		{Account: "", Actor: "mallory@x.example", Action: "login.failed", Address: "192.0.2.1"},
		{Account: "news", MemberID: 1, Actor: "alice@x.example", Action: "block.add", Target: "bad.example", Detail: "raid"},
	} {
		e.At = now.Add(time.Duration(i) * time.Second)
		ids = append(ids, must(s.InsertAudit(ctx, e))(t))
	}
	_, err := s.InsertAudit(ctx, storage.AuditEntry{Actor: "x"})
	if err == nil {
		t.Fatal("InsertAudit without action: no error")
	}
	for _, c := range []struct {
		name string
		q    storage.AuditQuery
		want []int64
	}{
		{"one account, newest first", storage.AuditQuery{Accounts: []string{"NEWS"}}, []int64{ids[3], ids[0]}},
		{"with the instance", storage.AuditQuery{Accounts: []string{"news"}, IncludeInstance: true}, []int64{ids[3], ids[2], ids[0]}},
		{"two accounts, limit", storage.AuditQuery{Accounts: []string{"news", "events"}, Limit: 2}, []int64{ids[3], ids[1]}},
		{"next page", storage.AuditQuery{Accounts: []string{"news", "events"}, BeforeID: ids[1], Limit: 2}, []int64{ids[0]}},
		{"nothing selected", storage.AuditQuery{}, nil},
	} {
		got := must(s.ListAudit(ctx, c.q))(t)
		var gotIDs []int64
		for _, e := range got {
			gotIDs = append(gotIDs, e.ID)
		}
		if fmt.Sprint(gotIDs) != fmt.Sprint(c.want) {
			t.Errorf("%s: ids = %v, want %v", c.name, gotIDs, c.want)
		}
	}
	e := must(s.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}, Limit: 1}))(t)[0]
	if e.Actor != "alice@x.example" || e.MemberID != 1 || e.Action != "block.add" || e.Target != "bad.example" || e.Detail != "raid" ||
		!e.At.Equal(now.Add(3*time.Second)) || e.Account != "news" {
		t.Fatalf("entry = %+v", e)
	}
}

func testTeamPasskeys(t *testing.T, s storage.Store) {
	ctx := context.Background()
	a := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "a@x.example"}))(t)
	b := must(s.InsertTeamMember(ctx, storage.TeamMember{Email: "b@x.example"}))(t)
	must(s.InsertTeamPasskey(ctx, storage.TeamPasskey{MemberID: a, CredentialID: "c1", Credential: `{"n":1}`, CreatedAt: base()}))(t)
	must(s.InsertTeamPasskey(ctx, storage.TeamPasskey{MemberID: a, CredentialID: "c2", Credential: `{"n":2}`}))(t)
	_, err := s.InsertTeamPasskey(ctx, storage.TeamPasskey{MemberID: b, CredentialID: "c1", Credential: `{}`})
	wantErr(t, err, storage.ErrAlreadyExists)
	list := must(s.TeamPasskeys(ctx, a))(t)
	if len(list) != 2 || list[0].CredentialID != "c1" || list[1].CredentialID != "c2" || list[0].Credential != `{"n":1}` {
		t.Fatalf("TeamPasskeys = %+v", list)
	}
	if none := must(s.TeamPasskeys(ctx, b))(t); len(none) != 0 {
		t.Fatalf("TeamPasskeys(b) = %+v", none)
	}
	if err := s.UpdateTeamPasskey(ctx, "c1", `{"n":3}`); err != nil {
		t.Fatal(err)
	}
	if p := must(s.GetTeamPasskey(ctx, "c1"))(t); p.MemberID != a || p.Credential != `{"n":3}` {
		t.Fatalf("GetTeamPasskey = %+v", p)
	}
	wantErr(t, s.UpdateTeamPasskey(ctx, "nope", `{}`), storage.ErrNotFound)
	_, err = s.GetTeamPasskey(ctx, "nope")
	wantErr(t, err, storage.ErrNotFound)
}
