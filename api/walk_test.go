package api_test

import (
	"context"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// TestPostWalk is a measuring harness, not a check: it runs the path of one
// post, from POST /api/v1/statuses to a signed delivery received by a
// remote server, or (PASSERELLE_WALK=idle) the same set-up and the same
// workers without the post. bench/walk.sh compares the two runs' coverage
// counts to list the files the post's walk crosses.
func TestPostWalk(t *testing.T) {
	mode := os.Getenv("PASSERELLE_WALK")
	if mode == "" {
		t.Skip("a measuring harness: run by bench/walk.sh")
	}
	e := newEnv(t, envOptions{})
	remote := fedtest.Start(t, "127.0.0.2:0", 1)
	ctx := context.Background()
	if _, err := e.store.UpsertFollower(ctx, storage.Follower{Account: "news", ActorID: remote.ActorID(0),
		Inbox: remote.InboxURL(0), SharedInbox: remote.SharedInboxURL(), State: storage.FollowerAccepted}); err != nil {
		t.Fatal(err)
	}
	tok := e.token(t, "news", "read write")
	if mode == "post" {
		e.post(t, tok, url.Values{"status": {"The town hall opens at 9 on Saturday."}})
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.fed.NewDeliverer(2).Run(runCtx, time.Second) }()
	if mode == "post" && !remote.WaitFor(1, 10*time.Second) {
		t.Error("the post was not delivered")
	}
	if mode != "post" {
		remote.WaitFor(1, 500*time.Millisecond) // the same wait, with nothing to receive
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
