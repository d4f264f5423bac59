package storage

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

// TestSQLiteContentPlans checks that the content queries that must stay
// fast on large tables read an index in order (no sort, no full scan).
func TestSQLiteContentPlans(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "plans.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	db := s.(*store).reader.db

	cases := []struct {
		name  string
		query string
		args  []any
		want  []string // every one appears in the plan
	}{
		{"follower inboxes", followerInboxesQuery, []any{"news", FollowerAccepted, "", 100},
			[]string{"USING INDEX followers_delivery (account=? AND state=? AND delivery_inbox>?)"}},
		{"statuses newest first", statusPageQuery(0, false), []any{"news", 0, 100, 20},
			[]string{"USING INDEX statuses_account_live (account=? AND id>? AND id<?)"}},
		{"statuses oldest first", statusPageQuery(0, true), []any{"news", 0, 100, 20},
			[]string{"USING INDEX statuses_account_live (account=? AND id>? AND id<?)"}},
		{"statuses by visibility", statusPageQuery(2, false), []any{"news", 0, 100, "public", "unlisted", 20},
			[]string{"USING INDEX statuses_account_live (account=? AND id>? AND id<?)"}},
		{"statuses by visibility, oldest first", statusPageQuery(1, true), []any{"news", 0, 100, "public", 20},
			[]string{"USING INDEX statuses_account_live (account=? AND id>? AND id<?)"}},
		{"media ids of statuses", mediaIDsQuery(2),
			[]any{1, 2}, []string{"USING COVERING INDEX media_status (status_id=?)"}},
		{"followers by inbox", deleteFollowersByInboxQuery, []any{"a", "a"},
			[]string{"INDEX followers_inbox (inbox=?)", "INDEX followers_shared_inbox (shared_inbox=?)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+c.query, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					t.Fatal(err)
				}
				plan = append(plan, detail)
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			all := strings.Join(plan, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("plan lacks %q:\n%s", w, all)
				}
			}
			if strings.Contains(all, "TEMP B-TREE") {
				t.Errorf("plan sorts:\n%s", all)
			}
		})
	}
}

// TestSQLiteDeliveryProblemsPlan: the reach page's delivery problems read
// the failed jobs through their own index, not every job kept.
func TestSQLiteDeliveryProblemsPlan(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Driver: "sqlite", DSN: filepath.Join(t.TempDir(), "plans.db")}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.(*store).reader.db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+deliveryProblemsQuery, "deliver", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	all := strings.Join(plan, "\n")
	for _, w := range []string{"INDEX jobs_failed_at (status=? AND finished_at>?)", "INDEX jobs_status (status=?)"} {
		if !strings.Contains(all, w) {
			t.Errorf("plan lacks %q:\n%s", w, all)
		}
	}
	if strings.Contains(all, "SCAN jobs\n") || strings.HasSuffix(all, "SCAN jobs") {
		t.Errorf("plan scans every job:\n%s", all)
	}
}
