package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// questionTotals reads the options of a Question as the Fedify peer
// recorded it (compacted JSON-LD): name → totalItems.
func questionTotals(q map[string]any) map[string]float64 {
	out := map[string]float64{}
	for _, key := range []string{"oneOf", "anyOf"} {
		var opts []any
		switch v := q[key].(type) {
		case []any:
			opts = v
		case map[string]any:
			opts = []any{v}
		}
		for _, o := range opts {
			m, _ := o.(map[string]any)
			r, _ := m["replies"].(map[string]any)
			n, _ := r["totalItems"].(float64)
			out[fmt.Sprint(m["name"])] = n
		}
	}
	return out
}

// TestFedifyPoll: a poll posted through the client API reaches the real
// Fedify peer as a Question, which Fedify parses; the peer votes as
// Mastodon does (a Create of a Note named after the option, in reply to
// the Question), and receives the results as an Update of the Question
// with its vote counted; the client API shows the vote.
func TestFedifyPoll(t *testing.T) {
	e := startFedifyEnv(t, FirstKnockRFC9421)
	peer := e.peer
	e.follow(t)
	ctx := e.ctx(60 * time.Second)
	id, err := e.api.PostStatus(ctx, map[string]any{"status": "Which day for the market?",
		"poll": map[string]any{"options": []string{"Saturday", "Sunday"}, "expires_in": 3600}})
	if err != nil {
		t.Fatal(err)
	}
	noteID := e.noteID(id)
	create, err := peer.WaitActivity(ctx, "Create of the Question", e.noteActivity("Create", noteID))
	if err != nil {
		t.Fatal(err)
	}
	if create.Object["type"] != "Question" || len(questionTotals(create.Object)) != 2 {
		t.Fatalf("Create's object: %v; want a Question with two options", create.Object)
	}

	out, err := peer.Act(ctx, "vote", map[string]any{"question": noteID, "choices": []string{"Sunday"}})
	if err != nil {
		t.Fatalf("the peer's vote: %v", err)
	}
	if opts := strings.Split(out["options"], "\n"); len(opts) != 2 || opts[0] != "Saturday" || opts[1] != "Sunday" {
		t.Errorf("Fedify read the options %q", out["options"])
	}
	update, err := peer.WaitActivity(ctx, "Update of the Question with the vote", func(a FedifyActivity) bool {
		return e.noteActivity("Update", noteID)(a) && questionTotals(a.Object)["Sunday"] == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	if !update.Verified || update.Object["type"] != "Question" || questionTotals(update.Object)["Saturday"] != 0 {
		t.Errorf("results Update: verified %v, object %v", update.Verified, update.Object)
	}

	var poll struct {
		VotesCount  int `json:"votes_count"`
		VotersCount int `json:"voters_count"`
		Options     []struct {
			Title      string `json:"title"`
			VotesCount int    `json:"votes_count"`
		} `json:"options"`
	}
	if err := e.api.do(ctx, "GET", "/api/v1/polls/"+id, "", nil, &poll); err != nil {
		t.Fatal(err)
	}
	if poll.VotesCount != 1 || poll.VotersCount != 1 || len(poll.Options) != 2 || poll.Options[1].VotesCount != 1 {
		t.Errorf("GET /api/v1/polls/%s = %+v; want Sunday's vote", id, poll)
	}
}
