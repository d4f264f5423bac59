package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// BenchmarkHomeTimeline: GET /api/v1/timelines/home with 100 concurrent
// readers over 50,000 stored remote posts of followed accounts (SQLite).
// Each iteration is one round of 100 concurrent GETs; p50/p99 latency
// are reported.
//
//	go test ./api -run '^$' -bench BenchmarkHomeTimeline -benchtime 20x
func BenchmarkHomeTimeline(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b, envOptions{})
	tok := e.token(b, "news", "read")
	const posts, readers = 50_000, 100
	start := time.Now().Add(-posts * time.Second).UnixMilli()
	err := e.store.InTx(ctx, func(q storage.Queries) error {
		for i := range posts {
			actor := fmt.Sprintf("https://remote%d.example/users/u", i%50)
			id := (start+int64(i)*1000)<<16 | int64(i%65536)
			rs, _, err := q.InsertRemoteStatus(ctx, storage.RemoteStatus{ID: id, NoteID: fmt.Sprintf("%s/notes/%d", actor, i), ActorID: actor,
				URL: fmt.Sprintf("%s/notes/%d", actor, i), ContentHTML: "<p>A partner's post</p>", Visibility: storage.VisibilityPublic,
				CreatedAt: time.UnixMilli(start + int64(i)*1000)})
			if err != nil {
				return err
			}
			if _, err := q.InsertHomeEntries(ctx, []storage.HomeEntry{{ID: rs.ID, Account: "news", RemoteStatusID: rs.ID, ActorID: actor,
				ActivityID: rs.NoteID, CreatedAt: rs.CreatedAt}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: readers}}
	var (
		mu   sync.Mutex
		lats []time.Duration
	)
	b.ResetTimer()
	for range b.N {
		var wg sync.WaitGroup
		for range readers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, e.url+"/api/v1/timelines/home", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				t0 := time.Now()
				resp, err := client.Do(req)
				d := time.Since(t0)
				if err != nil || resp.StatusCode != 200 {
					b.Errorf("GET home: %v %v", err, resp)
					return
				}
				resp.Body.Close()
				mu.Lock()
				lats = append(lats, d)
				mu.Unlock()
			}()
		}
		wg.Wait()
	}
	b.StopTimer()
	slices.Sort(lats)
	if len(lats) > 0 {
		b.ReportMetric(float64(lats[len(lats)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lats[len(lats)*99/100].Microseconds())/1000, "p99-ms")
	}
}
