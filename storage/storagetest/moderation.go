package storagetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunModeration runs the conformance tests of storage.Moderation (domain
// blocks, blocklist state, and the clean-up of a blocked domain). open
// must return a new, empty store for each call.
func RunModeration(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("DomainBlocks", func(t *testing.T) { testDomainBlocks(t, open(t)) })
	t.Run("BlocklistState", func(t *testing.T) { testBlocklistState(t, open(t)) })
	t.Run("DeleteFollowersByDomain", func(t *testing.T) { testDeleteFollowersByDomain(t, open(t)) })
	t.Run("ListAllFollowers", func(t *testing.T) { testListAllFollowers(t, open(t)) })
	t.Run("CancelPendingJobsByDomain", func(t *testing.T) { testCancelPendingJobsByDomain(t, open(t)) })
}

func blockKeys(bs []storage.DomainBlock) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Domain+"|"+b.Source+"|"+b.Severity+"|"+b.Reason)
	}
	return out
}

func testDomainBlocks(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const sub = storage.BlockSourceSubscription + "https://lists.example/blocks.csv"
	v0 := must(s.DomainBlocksVersion(ctx))(t)
	if got := must(s.ListDomainBlocks(ctx, ""))(t); len(got) != 0 {
		t.Fatalf("empty store lists %v", blockKeys(got))
	}

	steps := []struct {
		name        string
		block       storage.DomainBlock
		wantCreated bool
	}{
		{"manual block", storage.DomainBlock{Domain: "spam.example", Source: storage.BlockSourceManual, Severity: storage.SeveritySuspend, Reason: "raid"}, true},
		{"same domain from a subscription", storage.DomainBlock{Domain: "spam.example", Source: sub, Severity: storage.SeveritySuspend}, true},
		{"silence from a subscription", storage.DomainBlock{Domain: "loud.example", Source: sub, Severity: storage.SeveritySilence, Reason: "noisy"}, true},
		{"manual block updated", storage.DomainBlock{Domain: "spam.example", Source: storage.BlockSourceManual, Severity: storage.SeveritySuspend, Reason: "raid, again"}, false},
	}
	created := map[string]time.Time{}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			before := must(s.DomainBlocksVersion(ctx))(t)
			st.block.CreatedAt = base()
			got := must(s.UpsertDomainBlock(ctx, st.block))(t)
			if got != st.wantCreated {
				t.Errorf("created = %v, want %v", got, st.wantCreated)
			}
			if after := must(s.DomainBlocksVersion(ctx))(t); after == before {
				t.Errorf("version unchanged (%d) by an upsert", after)
			}
			if st.wantCreated {
				created[st.block.Domain+st.block.Source] = st.block.CreatedAt
			}
		})
	}
	want := []string{
		"loud.example|" + sub + "|silence|noisy",
		"spam.example|manual|suspend|raid, again",
		"spam.example|" + sub + "|suspend|",
	}
	all := must(s.ListDomainBlocks(ctx, ""))(t)
	if got := blockKeys(all); !slices.Equal(got, want) {
		t.Errorf("ListDomainBlocks = %q, want %q", got, want)
	}
	for _, b := range all {
		if c := created[b.Domain+b.Source]; !b.CreatedAt.Equal(c) {
			t.Errorf("%s from %s: CreatedAt %v, want the first insertion's %v", b.Domain, b.Source, b.CreatedAt, c)
		}
	}
	if got := blockKeys(must(s.ListDomainBlocks(ctx, sub))(t)); !slices.Equal(got, []string{want[0], want[2]}) {
		t.Errorf("ListDomainBlocks(subscription) = %q", got)
	}

	v1 := must(s.DomainBlocksVersion(ctx))(t)
	if !must(s.DeleteDomainBlock(ctx, "spam.example", storage.BlockSourceManual))(t) {
		t.Error("DeleteDomainBlock of an existing block = false")
	}
	v2 := must(s.DomainBlocksVersion(ctx))(t)
	if must(s.DeleteDomainBlock(ctx, "spam.example", storage.BlockSourceManual))(t) {
		t.Error("second DeleteDomainBlock = true")
	}
	if v3 := must(s.DomainBlocksVersion(ctx))(t); v2 == v1 || v3 != v2 || v1 <= v0 {
		t.Errorf("versions %d, %d, %d, %d: want a change on each change only", v0, v1, v2, v3)
	}
	if got := blockKeys(must(s.ListDomainBlocks(ctx, ""))(t)); !slices.Equal(got, []string{want[0], want[2]}) {
		t.Errorf("after delete: %q", got)
	}
	// Changes inside a rolled back transaction leave nothing.
	_ = s.InTx(ctx, func(q storage.Queries) error {
		if _, err := q.UpsertDomainBlock(ctx, storage.DomainBlock{Domain: "tx.example", Source: storage.BlockSourceImport, Severity: storage.SeveritySuspend}); err != nil {
			return err
		}
		return context.Canceled
	})
	if got := must(s.ListDomainBlocks(ctx, storage.BlockSourceImport))(t); len(got) != 0 {
		t.Errorf("rolled back block kept: %q", blockKeys(got))
	}
	if v := must(s.DomainBlocksVersion(ctx))(t); v != v2 {
		t.Errorf("rolled back transaction changed the version: %d, want %d", v, v2)
	}
	_, err := s.UpsertDomainBlock(ctx, storage.DomainBlock{Source: storage.BlockSourceManual})
	if err == nil {
		t.Error("block without domain accepted")
	}
}

func testBlocklistState(t *testing.T, s storage.Store) {
	ctx := context.Background()
	const u = "https://lists.example/blocks.csv"
	_, err := s.GetBlocklistState(ctx, u)
	wantErr(t, err, storage.ErrNotFound)
	steps := []struct {
		name string
		put  storage.BlocklistState
	}{
		{"first fetch", storage.BlocklistState{URL: u, ETag: `"v1"`, LastModified: "Wed, 01 May 2024 10:00:00 GMT", CheckedAt: base(), UpdatedAt: base(), Domains: 120}},
		{"failed fetch keeps the last update", storage.BlocklistState{URL: u, ETag: `"v1"`, CheckedAt: base().Add(time.Hour), UpdatedAt: base(), Domains: 120, LastError: "status 500"}},
		{"never checked", storage.BlocklistState{URL: u}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			check(t, s.PutBlocklistState(ctx, st.put))
			got := must(s.GetBlocklistState(ctx, u))(t)
			if got.URL != u || got.ETag != st.put.ETag || got.LastModified != st.put.LastModified ||
				!got.CheckedAt.Equal(st.put.CheckedAt) || !got.UpdatedAt.Equal(st.put.UpdatedAt) ||
				got.Domains != st.put.Domains || got.LastError != st.put.LastError {
				t.Errorf("GetBlocklistState = %+v, want %+v", got, st.put)
			}
		})
	}
}

func testDeleteFollowersByDomain(t *testing.T, s storage.Store) {
	ctx := context.Background()
	add := func(account, actor, inbox, shared string) {
		t.Helper()
		f := follower(account, actor, storage.FollowerAccepted, base())
		f.Inbox, f.SharedInbox = inbox, shared
		must(s.UpsertFollower(ctx, f))(t)
	}
	add("news", "https://spam.example/users/a", "https://spam.example/users/a/inbox", "https://spam.example/inbox")
	add("events", "https://spam.example/users/a", "https://spam.example/users/a/inbox", "")
	add("news", "https://sub.spam.example:8443/u/b", "https://sub.spam.example:8443/u/b/inbox", "")
	add("news", "https://SPAM.example/users/upper", "https://spam.example/users/upper/inbox", "")
	add("news", "https://other.example/users/c", "https://other.example/users/c/inbox", "https://relay.spam.example/inbox")
	add("news", "https://notspam.example/users/d", "https://notspam.example/users/d/inbox", "")
	add("news", "https://spam.example.org/users/e", "https://spam.example.org/users/e/inbox", "")
	add("news", "https://friendly.example/users/spam.example", "https://friendly.example/users/f/inbox", "")
	add("news", "https://friendly.example/users/g", "https://friendly.example/spam.example/inbox", "")

	cases := []struct {
		name   string
		domain string
		want   int64
	}{
		{"unknown domain", "nowhere.example", 0},
		{"domain, subdomains, any port or case, shared inbox", "spam.example", 5},
		{"again: nothing left", "spam.example", 0},
		{"empty domain removes nothing", "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if n := must(s.DeleteFollowersByDomain(ctx, c.domain))(t); n != c.want {
				t.Errorf("DeleteFollowersByDomain(%q) = %d, want %d", c.domain, n, c.want)
			}
		})
	}
	var left []string
	for _, f := range must(s.ListAllFollowers(ctx, "", "", 100))(t) {
		left = append(left, f.ActorID)
	}
	want := []string{
		"https://friendly.example/users/g",
		"https://friendly.example/users/spam.example",
		"https://notspam.example/users/d",
		"https://spam.example.org/users/e",
	}
	if !slices.Equal(left, want) {
		t.Errorf("followers left %q, want %q", left, want)
	}
}

func testListAllFollowers(t *testing.T, s storage.Store) {
	ctx := context.Background()
	for _, k := range [][2]string{{"news", "https://b.example/u"}, {"events", "https://c.example/u"}, {"news", "https://a.example/u"}, {"events", "https://a.example/u"}} {
		must(s.UpsertFollower(ctx, follower(k[0], k[1], storage.FollowerPending, base())))(t)
	}
	var got []string
	acc, actor := "", ""
	for {
		page := must(s.ListAllFollowers(ctx, acc, actor, 3))(t)
		for _, f := range page {
			got = append(got, f.Account+" "+f.ActorID)
		}
		if len(page) < 3 {
			break
		}
		acc, actor = page[len(page)-1].Account, page[len(page)-1].ActorID
	}
	want := []string{"events https://a.example/u", "events https://c.example/u", "news https://a.example/u", "news https://b.example/u"}
	if !slices.Equal(got, want) {
		t.Errorf("pages = %q, want %q", got, want)
	}
	if got := must(s.ListAllFollowers(ctx, "", "", 0))(t); len(got) != 0 {
		t.Errorf("limit 0 listed %d", len(got))
	}
}

func testCancelPendingJobsByDomain(t *testing.T, s storage.Store) {
	ctx := context.Background()
	now := base()
	job := func(kind, host string) int64 {
		t.Helper()
		return must(s.EnqueueJob(ctx, storage.NewJob{Kind: kind, Host: host, RunAt: now.Add(-time.Second)}))(t)
	}
	doomed := []int64{job("deliver", "spam.example"), job("deliver", "spam.example:8443"), job("deliver", "a.spam.example"), job("deliver", "b.Spam.example:80")}
	kept := []int64{job("deliver", "notspam.example"), job("deliver", "spam.example.org"), job("fanout", "spam.example"), job("deliver", "other.example")}
	another := job("deliver", "spam.example")
	claimed := must(s.ClaimJobs(ctx, "w1", []string{"deliver"}, 1, time.Minute, now))(t)
	if len(claimed) != 1 || claimed[0].ID != doomed[0] {
		// Claim order is run_at then id: the first job enqueued.
		t.Fatalf("claimed %+v", claimed)
	}
	doomed, kept = doomed[1:], append(kept, claimed[0].ID)

	if n := must(s.CancelPendingJobsByDomain(ctx, "deliver", "spam.example", "domain blocked", now))(t); n != int64(len(doomed))+1 {
		t.Errorf("cancelled %d jobs, want %d", n, len(doomed)+1)
	}
	for _, id := range append(doomed, another) {
		if j := must(s.GetJob(ctx, id))(t); j.Status != storage.JobFailed || j.LastError != "domain blocked" {
			t.Errorf("job %d (%s) = %s %q, want failed", id, j.Host, j.Status, j.LastError)
		}
	}
	for _, id := range kept {
		if j := must(s.GetJob(ctx, id))(t); j.Status == storage.JobFailed {
			t.Errorf("job %d (%s %s) failed, want kept", id, j.Kind, j.Host)
		}
	}
	if n := must(s.CancelPendingJobsByDomain(ctx, "deliver", "", "x", now))(t); n != 0 {
		t.Errorf("empty domain cancelled %d", n)
	}
}
