package storage_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// BenchmarkListFollowerInboxes lists the delivery inboxes of an account
// with 100,000 followers on 5,000 servers (4,000 with a shared inbox, 1,000
// without), 5% of them pending, as the fan-out does: one page, and every
// page.
func BenchmarkListFollowerInboxes(b *testing.B) {
	backends := []struct {
		name string
		open func(testing.TB) storage.Store
	}{
		{"sqlite", storagetest.OpenSQLite},
		{"postgres", storagetest.OpenPostgres},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			if be.name == "postgres" && os.Getenv(storagetest.PostgresURLEnv) == "" {
				b.Skip(storagetest.PostgresURLEnv + " not set")
			}
			s := be.open(b)
			want := seedFollowers(b, s, 100_000, 5_000)
			benchFollowerInboxes(b, s, want)
		})
	}
}

// seedFollowers adds n followers of "news" on hosts servers and returns
// how many distinct delivery inboxes the accepted ones have.
func seedFollowers(b *testing.B, s storage.Store, n, hosts int) int {
	ctx := context.Background()
	const batch = 5_000
	targets := make(map[string]bool)
	for start := 0; start < n; start += batch {
		err := s.InTx(ctx, func(q storage.Queries) error {
			for i := start; i < min(n, start+batch); i++ {
				h := i % hosts
				actor := fmt.Sprintf("https://h%05d.example/users/u%06d", h, i)
				f := storage.Follower{
					Account: "news", ActorID: actor, Inbox: actor + "/inbox",
					FollowActivityID: actor + "#follow", State: storage.FollowerAccepted,
				}
				if h%5 != 0 {
					f.SharedInbox = fmt.Sprintf("https://h%05d.example/inbox", h)
				}
				if i%20 == 0 {
					f.State = storage.FollowerPending
				} else if f.SharedInbox != "" {
					targets[f.SharedInbox] = true
				} else {
					targets[f.Inbox] = true
				}
				if _, err := q.UpsertFollower(ctx, f); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return len(targets)
}

func benchFollowerInboxes(b *testing.B, s storage.Store, want int) {
	ctx := context.Background()
	const limit = 500
	b.Run("first-page", func(b *testing.B) {
		for b.Loop() {
			got, err := s.ListFollowerInboxes(ctx, "news", "", limit)
			if err != nil || len(got) != limit {
				b.Fatalf("ListFollowerInboxes = %d inboxes, %v", len(got), err)
			}
		}
		b.ReportMetric(limit, "inboxes/op")
	})
	b.Run("all-pages", func(b *testing.B) {
		pages, total := 0, 0
		for b.Loop() {
			pages, total = 0, 0
			after := ""
			for {
				got, err := s.ListFollowerInboxes(ctx, "news", after, limit)
				if err != nil {
					b.Fatal(err)
				}
				if len(got) == 0 {
					break
				}
				pages++
				total += len(got)
				after = got[len(got)-1]
			}
		}
		if total != want {
			b.Fatalf("listed %d inboxes, want %d", total, want)
		}
		b.ReportMetric(float64(pages), "pages/op")
		b.ReportMetric(float64(total), "inboxes/op")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*pages), "µs/page")
	})
}
