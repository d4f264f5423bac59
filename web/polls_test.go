package web_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// TestPostPagePoll: a post page shows its poll's options and results,
// read-only; hidden totals stay hidden until the end.
func TestPostPagePoll(t *testing.T) {
	s := newSite(t, siteOptions{posts: 1})
	ctx := context.Background()
	tests := []struct {
		name    string
		hide    bool
		expires time.Time
		want    []string
		notWant []string
	}{
		{"open, totals shown", false, time.Now().Add(time.Hour),
			[]string{"☐ Samedi — 66 % (2)", "☐ Dimanche — 33 % (1)", "Poll open until", "3 people voted"}, []string{"Poll closed"}},
		{"open, totals hidden", true, time.Now().Add(time.Hour),
			[]string{"☐ Samedi</li>", "Results are shown when the poll closes"}, []string{"(2)", "people voted"}},
		{"ended, totals hidden no more", true, time.Now().Add(-time.Minute),
			[]string{"☐ Samedi — 66 % (2)", "Poll closed", "3 people voted"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := s.store.InsertStatus(ctx, storage.Status{Account: "news", Text: "Quel jour ?", ContentHTML: "<p>Quel jour ?</p>",
				Visibility: storage.VisibilityPublic, CreatedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.store.InsertPoll(ctx, storage.Poll{StatusID: id, Account: "news", HideTotals: tt.hide, ExpiresAt: tt.expires,
				Options: []storage.PollOption{{Title: "Samedi"}, {Title: "Dimanche"}}}); err != nil {
				t.Fatal(err)
			}
			for i, choice := range []int{0, 0, 1} {
				actor := "https://a.example/u/" + strconv.Itoa(i)
				if _, err := s.store.InsertPollVote(ctx, storage.PollVote{StatusID: id, ActorID: actor, Choice: choice, ActivityID: actor + "/v"}); err != nil {
					t.Fatal(err)
				}
			}
			resp, body := get(t, s.url+"/@news/"+strconv.FormatInt(id, 10))
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(body, w) {
					t.Errorf("page shows %q", w)
				}
			}
			_, poll, ok := strings.Cut(body, `<div class="poll"`)
			poll, _, _ = strings.Cut(poll, "</div>")
			if !ok || strings.Contains(poll, "<form") || strings.Contains(poll, "<input") || strings.Contains(poll, "<button") {
				t.Errorf("poll block missing or interactive: %q", poll)
			}
		})
	}
}
