package federation_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// pollStatus stores a public status of news with a poll.
func pollStatus(t *testing.T, env *bridgetest.Env, multiple, hide bool, expires time.Time, titles ...string) (int64, string) {
	t.Helper()
	ctx := context.Background()
	id, err := env.Store.InsertStatus(ctx, storage.Status{Account: "news", Text: "Question?", ContentHTML: "<p>Question?</p>",
		Visibility: storage.VisibilityPublic, CreatedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p := storage.Poll{StatusID: id, Account: "news", Multiple: multiple, HideTotals: hide, ExpiresAt: expires}
	for _, title := range titles {
		p.Options = append(p.Options, storage.PollOption{Title: title})
	}
	if err := env.Store.InsertPoll(ctx, p); err != nil {
		t.Fatal(err)
	}
	return id, env.Links.Note("news", id)
}

// vote is Mastodon's vote: a Create of a Note with the option's name, in
// reply to the Question, without content.
func vote(remote *fedtest.Server, i int, id, question, name string) map[string]any {
	return map[string]any{"type": "Create", "id": remote.ActorID(i) + "/votes/" + id + "/activity",
		"object": map[string]any{"id": remote.ActorID(i) + "/votes/" + id, "type": "Note", "name": name,
			"inReplyTo": question, "attributedTo": remote.ActorID(i)}}
}

func tallies(t *testing.T, store storage.Store, id int64) []int64 {
	t.Helper()
	p, err := store.GetPoll(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, o := range p.Options {
		out = append(out, o.Votes)
	}
	return out
}

func TestPollVotes(t *testing.T) {
	env := bridgetest.New(t, bridgetest.Options{Federation: config.Federation{PollResultsDelay: config.Duration(time.Second)}})
	b := &bridge{svc: env.Fed, store: env.Store, url: env.URL, actor: env.URL + "/users/news"}
	remote := fedtest.StartWith(t, "127.0.0.2:0", 4, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1)})
	ctx := context.Background()
	single, singleIRI := pollStatus(t, env, false, false, time.Now().Add(time.Hour), "Oui", "Non")
	multi, multiIRI := pollStatus(t, env, true, false, time.Now().Add(time.Hour), "Bus", "Vélo", "Tram")
	ended, endedIRI := pollStatus(t, env, false, false, time.Now().Add(-time.Minute), "A", "B")
	if _, err := env.Store.PutAccountBlock(ctx, storage.AccountBlock{Account: "news", ActorID: remote.ActorID(3), Kind: storage.BlockKindBlock}); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name   string
		actor  int
		act    map[string]any
		code   int
		status int64
		want   []int64
	}{
		{"a vote is counted", 0, vote(remote, 0, "1", singleIRI, "Oui"), 202, single, []int64{1, 0}},
		{"the same actor's second choice is not (single choice)", 0, vote(remote, 0, "2", singleIRI, "Non"), 202, single, []int64{1, 0}},
		{"a replayed vote is not", 0, vote(remote, 0, "1", singleIRI, "Oui"), 202, single, []int64{1, 0}},
		{"another actor's vote is", 1, vote(remote, 1, "3", singleIRI, "Non"), 202, single, []int64{1, 1}},
		{"an unknown option is refused", 2, vote(remote, 2, "4", singleIRI, "Peut-être"), 422, single, []int64{1, 1}},
		{"a blocked actor is refused", 3, vote(remote, 3, "5", singleIRI, "Oui"), 403, single, []int64{1, 1}},
		{"multiple choice: one option", 0, vote(remote, 0, "6", multiIRI, "Bus"), 202, multi, []int64{1, 0, 0}},
		{"multiple choice: another option of the same actor", 0, vote(remote, 0, "7", multiIRI, "Tram"), 202, multi, []int64{1, 0, 1}},
		{"multiple choice: the same option twice", 0, vote(remote, 0, "8", multiIRI, "Bus"), 202, multi, []int64{1, 0, 1}},
		{"an ended poll is refused", 1, vote(remote, 1, "9", endedIRI, "A"), 422, ended, []int64{0, 0}},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			code, body := b.deliver(t, remote, st.actor, st.act)
			if code != st.code {
				t.Fatalf("status %d (%s), want %d", code, body, st.code)
			}
			if got := tallies(t, env.Store, st.status); !slices.Equal(got, st.want) {
				t.Errorf("tallies = %v, want %v", got, st.want)
			}
		})
	}
	// Votes are neither replies nor notifications.
	if ns := b.notifications(t, "news"); len(ns) != 0 {
		t.Errorf("notifications after votes: %+v", ns)
	}
	if rs, err := env.Store.ListReplies(ctx, single, 10); err != nil || len(rs) != 0 {
		t.Errorf("replies after votes: %+v, %v", rs, err)
	}
	if _, err := env.Store.GetRemoteStatusByNoteID(ctx, remote.ActorID(0)+"/votes/1"); err == nil {
		t.Error("a vote was recorded as a remote post")
	}
	// The votes of a window share one results job: five votes within
	// two seconds (one window, or two when they straddle a boundary).
	coalesced, coalescedIRI := pollStatus(t, env, true, false, time.Now().Add(time.Hour), "A", "B", "C")
	for i, name := range []string{"A", "B", "C"} {
		if code, body := b.deliver(t, remote, 1, vote(remote, 1, "c"+strconv.Itoa(i), coalescedIRI, name)); code != 202 {
			t.Fatalf("vote %d: %d %s", i, code, body)
		}
	}
	for i, name := range []string{"A", "B"} {
		if code, body := b.deliver(t, remote, 2, vote(remote, 2, "d"+strconv.Itoa(i), coalescedIRI, name)); code != 202 {
			t.Fatalf("vote %d: %d %s", i, code, body)
		}
	}
	jobsOf := func(id int64, kind string) int {
		js, err := env.Store.ListJobsByRef(ctx, kind, "poll:"+strconv.FormatInt(id, 10), "", 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(js)
	}
	if n := jobsOf(coalesced, federation.JobPollResults); n < 1 || n > 2 {
		t.Errorf("5 votes queued %d results jobs, want 1 (2 across a window boundary)", n)
	}

	// A follower's server receives the results: an Update of the
	// Question with the votes counted.
	r, _, err := remote.SignedFollow(0, env.URL+"/inbox", b.actor, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != 202 {
		t.Fatalf("follow: %d %s", code, body)
	}
	runDeliverer(t, env.Fed, 2)
	bridgetest.RunJobs(t, env.Store, time.Second, env.Fed.RegisterPolls)
	update := waitForPollUpdate(t, remote, singleIRI, func(q map[string]any) bool {
		return slices.Equal(optionTotals(q, "oneOf"), []int64{1, 1}) && q["votersCount"] == float64(2)
	})
	if _, ok := update["closed"]; ok {
		t.Errorf("open poll's Update says closed: %v", update)
	}

	// The end of a poll: closed, a final Update, and a "poll" notification.
	closing, closingIRI := pollStatus(t, env, false, true, time.Now().Add(1500*time.Millisecond), "Oui", "Non")
	if code, body := b.deliver(t, remote, 1, vote(remote, 1, "e", closingIRI, "Non")); code != 202 {
		t.Fatalf("vote: %d %s", code, body)
	}
	if n := jobsOf(closing, federation.JobPollResults); n != 0 {
		t.Errorf("a hide_totals poll queued %d results jobs", n)
	}
	if err := env.Store.InTx(ctx, func(q storage.Queries) error {
		return env.Fed.QueuePollClose(ctx, q, closing, time.Now().Add(1500*time.Millisecond))
	}); err != nil {
		t.Fatal(err)
	}
	final := waitForPollUpdate(t, remote, closingIRI, func(q map[string]any) bool { return q["closed"] != nil })
	if got := optionTotals(final, "oneOf"); !slices.Equal(got, []int64{0, 1}) || final["votersCount"] != float64(1) {
		t.Errorf("final results %v, voters %v; want [0 1], 1", got, final["votersCount"])
	}
	if p, err := env.Store.GetPoll(ctx, closing); err != nil || p.ClosedAt.IsZero() {
		t.Errorf("poll after its end: %+v, %v", p, err)
	}
	// The voters' follows are notified too; of polls, only this end.
	ns := slices.DeleteFunc(b.notifications(t, "news"), func(n storage.Notification) bool { return n.Type != storage.NotificationPoll })
	if len(ns) != 1 || ns[0].StatusID != closing {
		t.Errorf("notifications after the end: %+v", ns)
	}
	if code, _ := b.deliver(t, remote, 2, vote(remote, 2, "f", closingIRI, "Oui")); code != 422 {
		t.Errorf("vote after the end: %d, want 422", code)
	}
}

// optionTotals reads the totalItems of a Question's options.
func optionTotals(q map[string]any, key string) []int64 {
	var out []int64
	opts, _ := q[key].([]any)
	for _, o := range opts {
		m, _ := o.(map[string]any)
		r, _ := m["replies"].(map[string]any)
		n, _ := r["totalItems"].(float64)
		out = append(out, int64(n))
	}
	return out
}

// waitForPollUpdate waits for a verified Update of the Question iri that
// ok accepts, and returns the Question.
func waitForPollUpdate(t *testing.T, remote *fedtest.Server, iri string, ok func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		for _, d := range remote.Received() {
			obj, _ := d.Activity["object"].(map[string]any)
			if d.Verified && d.Activity["type"] == "Update" && obj["type"] == "Question" && obj["id"] == iri && ok(obj) {
				return obj
			}
		}
		remote.WaitFor(remote.Count()+1, 200*time.Millisecond)
	}
	var seen []string
	for _, d := range remote.Received() {
		b, _ := json.Marshal(d.Activity)
		seen = append(seen, string(b))
	}
	t.Fatalf("no Update of %s as expected; received:\n%v", iri, seen)
	return nil
}
