package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
)

// TestConsoleBrowser drives the console of the real binary in Chromium
// (e2e/browser/console.mjs): an invitation accepted by keyboard at phone
// width in French and desktop width in English, every console page checked
// with axe-core (WCAG 2.1 A and AA), screenshots in .ci/artifacts/browser/.
// It needs chromium, Node.js and e2e/browser's packages with axe-core.
func TestConsoleBrowser(t *testing.T) {
	dir, chromiumBin := browserSuite(t)
	out := os.Getenv("BRIDGE_TEST_ARTIFACTS")
	if out == "" {
		out = filepath.Join("..", ".ci", "artifacts", "browser")
	}
	out, err := filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}

	// WebAuthn wants a domain name, not an address: the console is
	// reached as localhost (the bridge listens on 127.0.0.1).
	h := newHarness(t, "sqlite", "", func(c *Config) {
		_, port, _ := strings.Cut(c.Addr, ":")
		c.PublicURL = "http://localhost:" + port
	})
	// What the reach pages show, written before the bridge starts (its
	// runner would claim the deliveries): a post delivered to one server,
	// failed at another and retried for a third, follower samples of the
	// days before (the bridge samples today's at start-up), a raid.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pub, err := NewPublisher(ctx, h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	err = consoleReachFixture(ctx, pub.Store)
	pub.Close()
	if err != nil {
		t.Fatal(err)
	}
	h.start()
	var links []string
	for _, email := range []string{"phone@city.example", "desktop@city.example"} {
		stdout, stderr, code := runBridge(t, "--config", h.cfgPath, "team", "invite", email, "--account", "news", "--role", "admin")
		if code != 0 {
			t.Fatalf("team invite: %d %s%s", code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		links = append(links, lines[len(lines)-1])
	}
	// A contributor's draft waits, so that the drafts page shows its
	// approval forms (written to the database as the contributor's app
	// would have it stored).
	pub, err = NewPublisher(ctx, h.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	writer, err := pub.Store.InsertTeamMember(ctx, storage.TeamMember{Email: "writer@city.example", CreatedAt: time.Now()})
	if err == nil {
		err = pub.Store.SetTeamRole(ctx, writer, "news", storage.RoleContributor)
	}
	if err == nil {
		_, err = pub.Store.InsertTeamDraft(ctx, storage.TeamDraft{Account: "news", MemberID: writer,
			Payload: `{"draft":{"Text":"The pool reopens on Monday.","Visibility":"public"}}`, Text: "The pool reopens on Monday.",
			State: storage.DraftPending, CreatedAt: time.Now()})
	}
	if err == nil { // and the notice page was visited: the reach page has a table
		err = pub.Store.AddNoticeVisits(ctx, "news", storage.FunnelDay(time.Now()), "qr", 12)
	}
	if err == nil { // the bridge sampled today's followers at start-up
		err = waitFor(ctx, func() bool {
			snaps, err := pub.Store.FollowerSnapshots(ctx, "news", storage.FunnelDay(time.Now()))
			return err == nil && len(snaps) == 1
		})
	}
	pub.Close()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, "node", "console.mjs", "--site", h.cfg.BaseURL(), "--invite", links[0], "--invite", links[1], "--out", out)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "BRIDGE_TEST_CHROMIUM="+chromiumBin)
	output, err := cmd.CombinedOutput()
	t.Logf("console.mjs:\n%s", output)
	if err != nil {
		t.Fatalf("console browser checks failed: %v", err)
	}
	h.stop()
}

// waitFor polls ok every 100 ms until it holds or ctx ends.
func waitFor(ctx context.Context, ok func() bool) error {
	for !ok() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("e2e: waited in vain: %w", ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// consoleReachFixture writes what the reach pages of @news show.
func consoleReachFixture(ctx context.Context, st storage.Store) error {
	now := time.Now().UTC()
	for i, n := range []int64{3, 5, 8} {
		err := st.PutFollowerSnapshot(ctx, storage.FollowerSnapshot{Account: "news", Day: storage.FunnelDay(now.AddDate(0, 0, i-3)),
			Fediverse: n, Bluesky: 2 * n, BlueskyOK: i > 0, TakenAt: now.AddDate(0, 0, i-3)})
		if err != nil {
			return err
		}
	}
	id, err := st.InsertStatus(ctx, storage.Status{Account: "news", Text: "The library opens late on Thursdays.",
		ContentHTML: "<p>The library opens late on Thursdays.</p>", Visibility: storage.VisibilityPublic, CreatedAt: now.Add(-time.Hour)})
	if err != nil {
		return err
	}
	ref := "status:" + strconv.FormatInt(id, 10)
	for _, host := range []string{"reached.example", "gone.example", "slow.example"} {
		_, err := st.EnqueueJob(ctx, storage.NewJob{Kind: federation.JobDeliver, Host: host, Ref: ref, RunAt: now.Add(-time.Minute),
			Payload: []byte(`{"signer":"news","inbox":"https://` + host + `/inbox","activity_id":1}`)})
		if err != nil {
			return err
		}
	}
	js, err := st.ClaimJobs(ctx, "e2e", []string{federation.JobDeliver}, 10, time.Minute, now)
	if err != nil {
		return err
	}
	for _, j := range js {
		switch j.Host {
		case "reached.example":
			err = st.CompleteJob(ctx, j.ID, "e2e")
		case "gone.example":
			err = st.FailJob(ctx, j.ID, "e2e", "410 Gone")
		default:
			err = st.RetryJob(ctx, j.ID, "e2e", now.Add(2*time.Hour), "dial tcp: connection refused")
		}
		if err != nil {
			return err
		}
	}
	for i := range 24 {
		_, _, err := st.InsertNotification(ctx, storage.Notification{Account: "news", Type: storage.NotificationMention,
			ActivityID: fmt.Sprintf("https://raid.example/m/%d", i), ActorID: fmt.Sprintf("https://raid.example/u/%d", i%6),
			ActorDomain: "raid.example", GroupKey: fmt.Sprintf("raid-%d", i), CreatedAt: now.Add(-5 * time.Minute)})
		if err != nil {
			return err
		}
	}
	return nil
}
