package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
)

// TestMastoJSNotifications: remote actors mention @news (with a script in
// the post), reply to one of its posts and like it, through signed
// deliveries to the real binary; masto.js, a real Mastodon client, then
// reads them as notifications and the post's replies, blocks the
// mentioner and clears the notifications (e2e/masto/notifications.mjs).
// The mentioner receives a verifiably signed Block.
func TestMastoJSNotifications(t *testing.T) {
	dir := mastoDir(t)
	h := newHarness(t, "sqlite", "", nil)
	h.start()
	remote := fedtest.StartWith(t, "127.0.0.2:0", 3, fedtest.Options{Keys: keyPool(t)})

	stdout, stderr, code := runBridge(t, "token", "create", "--config", h.cfgPath, "--account", "news", "--scopes", "read write")
	if code != 0 {
		t.Fatalf("token create: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	token := strings.TrimSpace(lines[len(lines)-1])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	api := API{BaseURL: h.cfg.BaseURL(), Token: token, Client: h.client}
	statusID, err := api.PostStatus(ctx, map[string]any{"status": "The council meets tonight at 7 pm."})
	if err != nil {
		t.Fatal(err)
	}
	noteID := h.actorID() + "/statuses/" + statusID

	note := func(i int, id string, extra map[string]any) map[string]any {
		n := map[string]any{
			"id": remote.ActorID(i) + "/statuses/" + id, "type": "Note", "attributedTo": remote.ActorID(i),
			"content": "<p>hello</p>", "published": time.Now().UTC().Format(time.RFC3339),
			"to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []any{h.actorID()},
		}
		for k, v := range extra {
			n[k] = v
		}
		return n
	}
	for _, a := range []struct {
		actor    int
		activity map[string]any
	}{
		{0, map[string]any{"type": "Create", "object": note(0, "1", map[string]any{
			"content": `<p><span class="h-card"><a href="` + h.actorID() + `" class="u-url mention">@news</a></span> hello<script>alert(document.cookie)</script><img src=x onerror=alert(1)></p>`,
			"tag":     []any{map[string]any{"type": "Mention", "href": h.actorID(), "name": "@news"}}})}},
		{1, map[string]any{"type": "Create", "object": note(1, "2", map[string]any{"inReplyTo": noteID, "content": "<p>Will it be streamed?</p>"})}},
		{2, map[string]any{"type": "Like", "object": noteID}},
	} {
		req, err := remote.SignedActivity(a.actor, h.cfg.BaseURL()+"/inbox", a.activity, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.post(req); err != nil {
			t.Fatal(err)
		}
	}

	cmd := exec.CommandContext(ctx, "node", "notifications.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"BRIDGE_URL="+h.cfg.BaseURL(),
		"BRIDGE_TOKEN="+token,
		"BRIDGE_STATUS="+statusID,
		"BRIDGE_MENTIONER=u0@"+remote.Host(),
		"BRIDGE_REPLIER=u1@"+remote.Host(),
		"BRIDGE_LIKER=u2@"+remote.Host(),
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node notifications.mjs: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	t.Logf("masto.js notifications client passed in %v: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(out.String()))
	var sum struct {
		Types   []string `json:"types"`
		Mention struct {
			Acct    string `json:"acct"`
			Content string `json:"content"`
		} `json:"mention"`
		Replies int    `json:"replies"`
		Blocked string `json:"blocked"`
		Cleared bool   `json:"cleared"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out.String())
	}
	if len(sum.Types) != 3 || sum.Replies != 1 || sum.Blocked != "u0@"+remote.Host() || !sum.Cleared ||
		strings.Contains(sum.Mention.Content, "script") || strings.Contains(sum.Mention.Content, "onerror") {
		t.Errorf("summary = %+v", sum)
	}

	// The mentioner receives the Block, signed by @news.
	deadline := time.Now().Add(20 * time.Second)
	var block *fedtest.Delivery
	for block == nil && time.Now().Before(deadline) {
		for _, d := range remote.Received() {
			if d.Activity["type"] == "Block" {
				d := d
				block = &d
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	switch {
	case block == nil:
		t.Fatal("the mentioner received no Block in 20 s")
	case !block.Verified || block.Signer != h.actorID() || block.Status != http.StatusAccepted:
		t.Errorf("Block delivery: verified %v signer %q status %d (%v)", block.Verified, block.Signer, block.Status, block.Err)
	case idOf(block.Activity["object"]) != remote.ActorID(0):
		t.Errorf("Block of %v, want %s", block.Activity["object"], remote.ActorID(0))
	}
	h.stop()
}
