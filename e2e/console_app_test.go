package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/atproto/pdstest"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage"
)

// TestConsoleTeamApp is issue 17's "done when", end to end on the real
// binary: an invited contributor enrolls a passkey in Chromium and signs in
// with it; masto.js registers an app that the contributor authorizes on
// the console's OAuth page; the app posts, which makes a draft; an invited
// editor approves it on the console's drafts page
// (e2e/browser/teamapp.mjs); the post reaches a fediverse follower as a
// verified Create and the reference PDS as a record, and the editor's
// reach page shows it (one server reached, mirrored) and the follower
// chart; the audit names both people and the contributor's app.
func TestConsoleTeamApp(t *testing.T) {
	mastoDir := mastoDir(t)
	browserDir, chromiumBin := browserSuite(t)
	pds := pdstest.StartT(t, pdstest.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	acct, err := pds.CreateAccount(ctx, "teamcity.test")
	if err != nil {
		t.Fatal(err)
	}
	// WebAuthn wants a domain name: the console is reached as localhost.
	h := newHarness(t, "sqlite", "", func(c *Config) {
		_, port, _ := strings.Cut(c.Addr, ":")
		c.PublicURL = "http://localhost:" + port
	})
	bc := BlueskyConfig{Config: h.cfg, PDSURL: pds.URL, Identifier: acct.Handle, Handle: "city.example"}
	if err := os.WriteFile(h.cfgPath, []byte(bc.YAML()), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("BSKY_APP_PASSWORD", acct.AppPassword)
	h.start()

	follower := fedtest.StartWith(t, "127.0.0.2:0", 1, fedtest.Options{Keys: keyPool(t)})
	f := &remoteFollower{srv: follower, i: 0, n: 1}
	req, err := signedFollow(h, f)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.post(req); err != nil {
		t.Fatal(err)
	}
	if !follower.WaitFor(1, 15*time.Second) {
		t.Fatal("the follower received no Accept in 15 s")
	}

	invite := func(email, role string) string {
		stdout, stderr, code := runBridge(t, "--config", h.cfgPath, "team", "invite", email, "--account", "news", "--role", role)
		if code != 0 {
			t.Fatalf("team invite %s: %d %s%s", email, code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		return lines[len(lines)-1]
	}
	contributor, editor := invite("contributor@city.example", "contributor"), invite("editor@city.example", "editor")

	text := "La médiathèque ouvre le dimanche dès janvier."
	cmd := exec.CommandContext(ctx, "node", "teamapp.mjs", "--site", h.cfg.BaseURL(), "--contributor", contributor,
		"--editor", editor, "--masto", mastoDir, "--text", text)
	cmd.Dir = browserDir
	cmd.Env = append(os.Environ(), "BRIDGE_TEST_CHROMIUM="+chromiumBin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("teamapp.mjs: %v\nstdout: %s\nstderr: %s", err, out, stderr.String())
	}
	t.Logf("teamapp.mjs: %s", strings.TrimSpace(string(out)))
	var sum struct{ Draft, Status, Account string }
	if err := json.Unmarshal(out, &sum); err != nil || sum.Status == "" {
		t.Fatalf("teamapp.mjs printed %q: %v", out, err)
	}

	// Delivered to the follower, as a verified Create of the status.
	noteID := h.actorID() + "/statuses/" + sum.Status
	deadline := time.Now().Add(30 * time.Second)
	for !follower.WaitFor(2, time.Second) && time.Now().Before(deadline) {
	}
	got := follower.Received()
	if len(got) < 2 {
		t.Fatal("the follower received no Create")
	}
	if err := checkSignedActivity(h, got[1], noteID); err != nil || got[1].Activity["type"] != "Create" {
		t.Errorf("%v %v: %v", got[1].Activity["type"], got[1].Activity["object"], err)
	} else if obj, _ := got[1].Activity["object"].(map[string]any); !strings.Contains(fmt.Sprint(obj["content"]), text) {
		t.Errorf("the Note's content is %v", obj["content"])
	}
	// Mirrored to the PDS.
	for {
		recs, err := pds.ListRecords(ctx, acct.DID, "app.bsky.feed.post")
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 1 && strings.Contains(string(recs[0].Value), text) {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("not mirrored: %d records", len(recs))
		}
		time.Sleep(200 * time.Millisecond)
	}
	// The audit names both people; the status is the contributor's app's.
	pub, err := NewPublisher(ctx, h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	entries, err := pub.Store.ListAudit(ctx, storage.AuditQuery{Accounts: []string{"news"}, Limit: 50})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, e := range entries {
		seen[e.Action] = e.Actor + " " + e.App
	}
	if a := seen["draft.create"]; !strings.HasPrefix(a, "contributor@city.example Comms phone") {
		t.Errorf("draft.create by %q, want the contributor with their app (audit %v)", a, seen)
	}
	if a := seen["draft.approve"]; !strings.HasPrefix(a, "editor@city.example") {
		t.Errorf("draft.approve by %q, want the editor (audit %v)", a, seen)
	}
	h.stop()
}

// browserSuite returns e2e/browser, with playwright-core and axe-core
// installed, and the Chromium to drive. Without them the test fails in CI
// and is skipped elsewhere.
func browserSuite(t *testing.T) (string, string) {
	t.Helper()
	dir, err := filepath.Abs("browser")
	if err != nil {
		t.Fatal(err)
	}
	chromiumBin := os.Getenv("BRIDGE_TEST_CHROMIUM")
	if chromiumBin == "" {
		chromiumBin = "/usr/bin/chromium"
	}
	_, nodeErr := exec.LookPath("node")
	_, chromiumErr := os.Stat(chromiumBin)
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", "axe-core"))
	_, pwErr := os.Stat(filepath.Join(dir, "node_modules", "playwright-core"))
	if nodeErr != nil || chromiumErr != nil || modErr != nil || pwErr != nil {
		msg := "the console's browser checks need node, chromium (" + chromiumBin + ") and npm ci in e2e/browser"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir, chromiumBin
}
