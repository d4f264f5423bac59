package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

func TestPolls(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	mayor := e.token(t, "mayor", "read write")

	tests := []struct {
		name     string
		send     func() response
		multiple bool
		hide     bool
		options  []string
	}{
		{"form", func() response {
			return e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"Bus ou vélo ?"},
				"poll[options][]": {"Bus", "Vélo"}, "poll[expires_in]": {"3600"}})
		}, false, false, []string{"Bus", "Vélo"}},
		{"JSON, multiple, hidden totals", func() response {
			return e.jsonBody(t, http.MethodPost, "/api/v1/statuses", tok, map[string]any{"status": "Lesquels ?",
				"poll": map[string]any{"options": []string{"A", "B", "C"}, "expires_in": "600", "multiple": true, "hide_totals": true}})
		}, true, true, []string{"A", "B", "C"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := tt.send()
			if r.code != http.StatusOK {
				t.Fatalf("create: %d %s", r.code, r.body)
			}
			st := r.json(t)
			poll, ok := st["poll"].(map[string]any)
			if !ok {
				t.Fatalf("status without its poll: %s", r.body)
			}
			if poll["id"] != st["id"] || poll["multiple"] != tt.multiple || poll["expired"] != false || poll["voted"] != false {
				t.Errorf("poll = %v", poll)
			}
			opts := poll["options"].([]any)
			if len(opts) != len(tt.options) {
				t.Fatalf("options = %v", opts)
			}
			for i, o := range opts {
				m := o.(map[string]any)
				if m["title"] != tt.options[i] {
					t.Errorf("option %d = %v", i, m)
				}
				if (m["votes_count"] == nil) != tt.hide {
					t.Errorf("option %d votes_count = %v with hide_totals %v", i, m["votes_count"], tt.hide)
				}
			}
			if (poll["votes_count"] == nil) != tt.hide {
				t.Errorf("votes_count = %v with hide_totals %v", poll["votes_count"], tt.hide)
			}
			exp, err := time.Parse(time.RFC3339, poll["expires_at"].(string))
			if err != nil || exp.Before(start.Add(9*time.Minute)) || exp.After(time.Now().Add(time.Hour+time.Minute)) {
				t.Errorf("expires_at = %v (%v)", poll["expires_at"], err)
			}
			id := st["id"].(string)
			// Its end is a durable job due at expires_at.
			jobs, err := e.store.ListJobsByRef(ctx, "poll.close", "poll:"+id, storage.JobPending, 5)
			if err != nil || len(jobs) != 1 || jobs[0].RunAt.Sub(exp).Abs() > time.Second {
				t.Errorf("poll.close jobs = %+v (%v), want one due at %v", jobs, err, exp)
			}
			got := e.get(t, "/api/v1/polls/"+id, tok)
			if got.code != 200 || got.json(t)["id"] != id {
				t.Errorf("GET poll: %d %s", got.code, got.body)
			}
			if got := e.get(t, "/api/v1/polls/"+id, mayor); got.code != 404 {
				t.Errorf("another account's GET of the poll: %d %s", got.code, got.body)
			}
			v := e.form(t, http.MethodPost, "/api/v1/polls/"+id+"/votes", tok, url.Values{"choices[]": {"0"}})
			if v.code != 422 {
				t.Errorf("own vote: %d %s", v.code, v.body)
			}
		})
	}
	// Remote votes show in the counts (a vote is stored as federation
	// stores it).
	r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {"?"}, "poll[options][]": {"Oui", "Non"}, "poll[expires_in]": {"300"}})
	id := r.json(t)["id"].(string)
	var sid int64
	for _, c := range id {
		sid = sid*10 + int64(c-'0')
	}
	for i, actor := range []string{"https://a.example/u/1", "https://b.example/u/2"} {
		if _, err := e.store.InsertPollVote(ctx, storage.PollVote{StatusID: sid, ActorID: actor, Choice: i % 2, ActivityID: actor + "/v"}); err != nil {
			t.Fatal(err)
		}
	}
	p := e.get(t, "/api/v1/polls/"+id, tok).json(t)
	if p["votes_count"] != float64(2) || p["voters_count"] != float64(2) || p["options"].([]any)[1].(map[string]any)["votes_count"] != float64(1) {
		t.Errorf("poll with two votes = %v", p)
	}
	if got := e.get(t, "/api/v1/polls/999", tok); got.code != 404 {
		t.Errorf("unknown poll: %d", got.code)
	}
	inst := e.get(t, "/api/v2/instance", "").json(t)
	polls := inst["configuration"].(map[string]any)["polls"].(map[string]any)
	if polls["max_options"] != float64(4) || polls["max_characters_per_option"] != float64(50) ||
		polls["min_expiration"] != float64(300) || polls["max_expiration"] != float64(2629746) {
		t.Errorf("configuration.polls = %v", polls)
	}
}
