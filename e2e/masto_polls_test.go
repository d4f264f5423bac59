package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
)

// TestMastoJSPoll: masto.js, a real Mastodon client, creates a poll (bad
// ones refused with 422); a remote actor votes with a signed Create of a
// Note, as Mastodon does; masto.js reads the poll with the vote and is
// refused a vote in its own poll (e2e/masto/polls.mjs).
func TestMastoJSPoll(t *testing.T) {
	dir := mastoDir(t)
	h := newHarness(t, "sqlite", "", nil)
	h.start()
	remote := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keyPool(t)})
	stdout, stderr, code := runBridge(t, "token", "create", "--config", h.cfgPath, "--account", "news", "--scopes", "read write")
	if code != 0 {
		t.Fatalf("token create: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	token := strings.TrimSpace(lines[len(lines)-1])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	run := func(step string, env ...string) map[string]any {
		t.Helper()
		return runScript(t, ctx, dir, "polls.mjs", append([]string{"BRIDGE_URL=" + h.cfg.BaseURL(), "BRIDGE_TOKEN=" + token, "POLL_STEP=" + step}, env...)...)
	}
	created := run("create")
	id, _ := created["id"].(string)
	if id == "" {
		t.Fatalf("create printed %v", created)
	}
	question := h.actorID() + "/statuses/" + id
	vote := map[string]any{"type": "Create", "id": remote.ActorID(0) + "/votes/1/activity",
		"object": map[string]any{"id": remote.ActorID(0) + "/votes/1", "type": "Note", "name": "Sunday",
			"inReplyTo": question, "attributedTo": remote.ActorID(0), "to": []any{h.actorID()}}}
	req, err := remote.SignedActivity(0, h.cfg.BaseURL()+"/inbox", vote, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := h.post(req); err != nil {
		t.Fatal(err)
	}
	sum := run("read", "BRIDGE_STATUS="+id)
	t.Logf("masto.js read the poll: %v", sum)
	if sum["votes"] != float64(1) {
		t.Errorf("summary = %v", sum)
	}
	h.stop()
}
