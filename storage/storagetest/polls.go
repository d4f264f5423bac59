package storagetest

import (
	"context"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// RunPolls runs the conformance tests of polls and their votes.
func RunPolls(t *testing.T, open func(t *testing.T) storage.Store) {
	t.Run("PollRoundTrip", func(t *testing.T) { testPollRoundTrip(t, open(t)) })
	t.Run("PollVotesSingle", func(t *testing.T) { testPollVotesSingle(t, open(t)) })
	t.Run("PollVotesMultiple", func(t *testing.T) { testPollVotesMultiple(t, open(t)) })
	t.Run("PollClose", func(t *testing.T) { testPollClose(t, open(t)) })
	t.Run("PollInTxRollback", func(t *testing.T) { testPollInTxRollback(t, open(t)) })
}

func newPoll(t *testing.T, s storage.Store, multiple bool, titles ...string) storage.Poll {
	t.Helper()
	id := insertStatus(t, s, newStatus("news", "a question", storage.VisibilityPublic))
	p := storage.Poll{StatusID: id, Account: "news", Multiple: multiple, ExpiresAt: base().Add(time.Hour), CreatedAt: base()}
	for _, title := range titles {
		p.Options = append(p.Options, storage.PollOption{Title: title})
	}
	check(t, s.InsertPoll(context.Background(), p))
	return p
}

func optionVotes(p storage.Poll) []int64 {
	var out []int64
	for _, o := range p.Options {
		out = append(out, o.Votes)
	}
	return out
}

func testPollRoundTrip(t *testing.T, s storage.Store) {
	ctx := context.Background()
	id := insertStatus(t, s, newStatus("news", "a question", storage.VisibilityPublic))
	_, err := s.GetPoll(ctx, id)
	wantErr(t, err, storage.ErrNotFound)
	want := storage.Poll{StatusID: id, Account: "news", HideTotals: true, ExpiresAt: base().Add(5 * time.Minute), CreatedAt: base(),
		Options: []storage.PollOption{{Title: "Yes"}, {Title: "No"}, {Title: "Ça dépend 🤔"}}}
	check(t, s.InsertPoll(ctx, want))
	got := must(s.GetPoll(ctx, id))(t)
	if got.StatusID != id || got.Account != "news" || got.Multiple || !got.HideTotals || !got.ExpiresAt.Equal(want.ExpiresAt) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ClosedAt.IsZero() || got.VotersCount != 0 || len(got.Options) != 3 ||
		got.Options[2].Title != "Ça dépend 🤔" || got.Options[0].Title != "Yes" || got.VotesCount() != 0 {
		t.Fatalf("GetPoll = %+v, want %+v", got, want)
	}
	wantErr(t, s.InsertPoll(ctx, want), storage.ErrAlreadyExists)
	if got := must(s.GetPoll(ctx, id))(t); len(got.Options) != 3 {
		t.Fatalf("a refused second poll changed the options: %+v", got.Options)
	}
}

func testPollVotesSingle(t *testing.T, s storage.Store) {
	ctx := context.Background()
	p := newPoll(t, s, false, "A", "B")
	vote := func(actor string, choice int) bool {
		return must(s.InsertPollVote(ctx, storage.PollVote{StatusID: p.StatusID, ActorID: actor, Choice: choice,
			ActivityID: actor + "/votes/" + string(rune('0'+choice)), CreatedAt: base()}))(t)
	}
	if !vote("https://a.example/users/1", 0) {
		t.Fatal("first vote not counted")
	}
	if vote("https://a.example/users/1", 0) || vote("https://a.example/users/1", 1) {
		t.Fatal("a single-choice poll counted a second vote of the same actor")
	}
	if !vote("https://b.example/users/2", 1) {
		t.Fatal("another actor's vote not counted")
	}
	got := must(s.GetPoll(ctx, p.StatusID))(t)
	if v := optionVotes(got); v[0] != 1 || v[1] != 1 || got.VotersCount != 2 || got.VotesCount() != 2 {
		t.Fatalf("tallies = %v, voters %d; want [1 1], 2", v, got.VotersCount)
	}
	// A vote for a status without a poll is not counted.
	other := insertStatus(t, s, newStatus("news", "no poll", storage.VisibilityPublic))
	if must(s.InsertPollVote(ctx, storage.PollVote{StatusID: other, ActorID: "https://a.example/users/1", ActivityID: "x"}))(t) {
		t.Fatal("vote without a poll counted")
	}
}

func testPollVotesMultiple(t *testing.T, s storage.Store) {
	ctx := context.Background()
	p := newPoll(t, s, true, "A", "B", "C")
	actor := "https://a.example/users/1"
	for _, c := range []struct {
		choice int
		want   bool
	}{{0, true}, {2, true}, {0, false}, {2, false}} {
		if got := must(s.InsertPollVote(ctx, storage.PollVote{StatusID: p.StatusID, ActorID: actor, Choice: c.choice, ActivityID: "v"}))(t); got != c.want {
			t.Fatalf("vote for %d counted = %v, want %v", c.choice, got, c.want)
		}
	}
	check(t, errOr(s.InsertPollVote(ctx, storage.PollVote{StatusID: p.StatusID, ActorID: "https://b.example/users/2", Choice: 2, ActivityID: "w"})))
	if voters := must(s.ListPollVoters(ctx, p.StatusID))(t); len(voters) != 2 || voters[0] != actor || voters[1] != "https://b.example/users/2" {
		t.Fatalf("ListPollVoters = %v", voters)
	}
	got := must(s.GetPoll(ctx, p.StatusID))(t)
	if v := optionVotes(got); v[0] != 1 || v[1] != 0 || v[2] != 2 || got.VotersCount != 2 || got.VotesCount() != 3 {
		t.Fatalf("tallies = %v, voters %d; want [1 0 2], 2", v, got.VotersCount)
	}
}

func errOr(_ bool, err error) error { return err }

func testPollClose(t *testing.T, s storage.Store) {
	ctx := context.Background()
	p := newPoll(t, s, false, "A", "B")
	at := base().Add(time.Hour)
	if !must(s.ClosePoll(ctx, p.StatusID, at))(t) {
		t.Fatal("ClosePoll of an open poll = false")
	}
	if must(s.ClosePoll(ctx, p.StatusID, at.Add(time.Minute)))(t) {
		t.Fatal("second ClosePoll = true")
	}
	if must(s.ClosePoll(ctx, 987654, at))(t) {
		t.Fatal("ClosePoll of no poll = true")
	}
	got := must(s.GetPoll(ctx, p.StatusID))(t)
	if !got.ClosedAt.Equal(at) {
		t.Fatalf("ClosedAt = %v, want %v", got.ClosedAt, at)
	}
	if must(s.InsertPollVote(ctx, storage.PollVote{StatusID: p.StatusID, ActorID: "https://a.example/users/1", ActivityID: "v"}))(t) {
		t.Fatal("a vote counted in a closed poll")
	}
	if got := must(s.GetPoll(ctx, p.StatusID))(t); got.VotersCount != 0 {
		t.Fatalf("closed poll has %d voters", got.VotersCount)
	}
}

// testPollInTxRollback: a poll written in a transaction that fails is not
// kept, options included.
func testPollInTxRollback(t *testing.T, s storage.Store) {
	ctx := context.Background()
	id := insertStatus(t, s, newStatus("news", "a question", storage.VisibilityPublic))
	err := s.InTx(ctx, func(q storage.Queries) error {
		if err := q.InsertPoll(ctx, storage.Poll{StatusID: id, Account: "news", ExpiresAt: base(),
			Options: []storage.PollOption{{Title: "A"}, {Title: "B"}}}); err != nil {
			return err
		}
		return storage.ErrNotFound // any failure after it
	})
	wantErr(t, err, storage.ErrNotFound)
	_, err = s.GetPoll(ctx, id)
	wantErr(t, err, storage.ErrNotFound)
	// And it can be written afterwards.
	check(t, s.InsertPoll(ctx, storage.Poll{StatusID: id, Account: "news", ExpiresAt: base(), Options: []storage.PollOption{{Title: "A"}, {Title: "B"}}}))
	if got := must(s.GetPoll(ctx, id))(t); len(got.Options) != 2 {
		t.Fatalf("options after the rollback = %+v", got.Options)
	}
}
