package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// The "done when": a Move from instance A to instance B (two real
// bridges on loopback, distinct ports) carries simulated followers over.
// The followers' servers (fedtest, on 127.0.0.4 and 127.0.0.5) follow A;
// `bridge move-out` on A sends them the Move; they do what a Mastodon
// server does on a Move (follow the target), and B, which lists A in
// also_known_as and approves followers manually, accepts them and counts
// them as moved in. A's actor then carries movedTo and its profile page
// redirects to B's.

func TestMoveBetweenInstancesSQLite(t *testing.T) {
	testMoveBetweenInstances(t, "sqlite", "", "")
}

func TestMoveBetweenInstancesPostgres(t *testing.T) {
	dsnA := storagetest.PostgresSchema(t) // skips (fails under CI=true) without a database
	dsnB := storagetest.PostgresSchema(t)
	testMoveBetweenInstances(t, "postgres", dsnA, dsnB)
}

// withAccountYAML rewrites h's configuration with extra lines under its
// account (the last entry of the file).
func withAccountYAML(t *testing.T, h *harness, lines ...string) {
	t.Helper()
	y := h.cfg.YAML()
	for _, l := range lines {
		y += "    " + l + "\n"
	}
	if err := os.WriteFile(h.cfgPath, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
}

// bridgeCmd runs the bridge command line on h's configuration and requires
// exit status 0.
func bridgeCmd(t *testing.T, h *harness, args ...string) (stdout, stderr string) {
	t.Helper()
	stdout, stderr, code := runBridge(t, append([]string{"--config", h.cfgPath}, args...)...)
	if code != 0 {
		t.Fatalf("bridge %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, lastLines(stderr, 10))
	}
	return stdout, stderr
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// checkDelivery requires d to be a verified activity of type typ signed
// by signer.
func checkDelivery(d fedtest.Delivery, typ, signer string) error {
	switch {
	case !d.Verified || d.Err != nil:
		return fmt.Errorf("%s to %s not verified by the remote: %v", typ, d.Path, d.Err)
	case d.Signer != signer:
		return fmt.Errorf("%s signed by %q, want %q", typ, d.Signer, signer)
	case d.Activity["type"] != typ:
		return fmt.Errorf("received %v, want %s", d.Activity["type"], typ)
	}
	return nil
}

func testMoveBetweenInstances(t *testing.T, driver, dsnA, dsnB string) {
	a := newHarness(t, driver, dsnA, nil)
	b := newHarness(t, driver, dsnB, nil)
	withAccountYAML(t, b, fmt.Sprintf("also_known_as: [%q]", a.actorID()), "manually_approves_followers: true")
	a.start()
	b.start()
	keys := keyPool(t)
	servers := []*fedtest.Server{
		fedtest.StartWith(t, "127.0.0.4:0", 3, fedtest.Options{Keys: keys}),
		fedtest.StartWith(t, "127.0.0.5:0", 3, fedtest.Options{Keys: keys}),
	}
	var followers []*remoteFollower
	for _, s := range servers {
		for i := range s.NumActors() {
			followers = append(followers, &remoteFollower{srv: s, i: i, n: len(followers)})
		}
	}

	// 1. The simulated followers follow A and get A's Accepts.
	sendAll(t, a, followers, func(f *remoteFollower) (*http.Request, error) { return signedFollow(a, f) })
	for _, s := range servers {
		if !s.WaitFor(s.NumActors(), 20*time.Second) {
			t.Fatalf("%s received %d Accepts from A, want %d", s.URL(), s.Count(), s.NumActors())
		}
	}
	checkAccepts(t, a, servers, followers)

	// 2. Moving to an account that does not list A is refused, with what
	// to do on the new server.
	_, stderr, code := runBridge(t, "--config", a.cfgPath, "move-out", "--account", "news", "--to", servers[0].ActorID(0))
	if code == 0 || !strings.Contains(stderr, "does not list "+a.actorID()+" in alsoKnownAs") || !strings.Contains(stderr, "Create an account alias") {
		t.Fatalf("move-out to an account without alias: exit %d, stderr:\n%s", code, lastLines(stderr, 5))
	}

	// 3. bridge move-out on A, to B by its handle (WebFinger, then B's
	// actor, whose alsoKnownAs lists A).
	start := time.Now()
	out, _ := bridgeCmd(t, a, "move-out", "--account", "news", "--to", "@news@"+b.cfg.Addr)
	t.Logf("bridge move-out:\n%s", out)
	if !strings.Contains(out, "moved to @news@"+b.cfg.Addr) || !strings.Contains(out, fmt.Sprintf("%d follower(s)", len(followers))) {
		t.Errorf("move-out said:\n%s", out)
	}

	// 4. Each follower's server receives the Move once (shared inbox),
	// signed by A (verified by fedtest's own verifier).
	for _, s := range servers {
		if !s.WaitFor(s.NumActors()+1, 20*time.Second) {
			t.Fatalf("%s received no Move (%d requests)", s.URL(), s.Count())
		}
		got := s.Received()
		mv := got[len(got)-1]
		if err := checkDelivery(mv, "Move", a.actorID()); err != nil {
			t.Fatalf("%s: %v", s.URL(), err)
		}
		if mv.Path != "/inbox" || idOf(mv.Activity["object"]) != a.actorID() || idOf(mv.Activity["target"]) != b.actorID() {
			t.Fatalf("%s: Move to %s = %v", s.URL(), mv.Path, mv.Activity)
		}
	}
	t.Logf("Move delivered to the followers' servers %v after move-out started", time.Since(start).Round(time.Millisecond))

	// 5. B received the Move too (A sends it to the target): its move-in
	// window from A is open.
	deadline := time.Now().Add(20 * time.Second)
	for {
		out, _ := bridgeCmd(t, b, "move-in", "status", "--account", "news")
		if strings.Contains(out, "window from "+a.actorID()+" open (Move received") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("B has no move-in window from A:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	// 6. What a Mastodon server does on a Move (MoveWorker,
	// UnfollowFollowWorker): each of its accounts that followed A follows
	// the target, B, with an ordinary signed Follow.
	for _, s := range servers {
		if s.Count() != s.NumActors()+1 {
			t.Fatalf("%s: %d requests before the new Follows, want %d", s.URL(), s.Count(), s.NumActors()+1)
		}
	}
	sendAll(t, b, followers, func(f *remoteFollower) (*http.Request, error) { return signedFollow(b, f) })
	for _, s := range servers {
		if !s.WaitFor(2*s.NumActors()+1, 20*time.Second) {
			t.Fatalf("%s received %d requests, want B's %d Accepts too: B held the moved followers for approval?", s.URL(), s.Count(), s.NumActors())
		}
		for _, d := range s.Received()[s.NumActors()+1:] {
			if err := checkDelivery(d, "Accept", b.actorID()); err != nil {
				t.Fatalf("%s: %v", s.URL(), err)
			}
		}
	}

	// 7. B accepted them despite manual approval, and counts them as
	// moved in from A.
	if got := b.followersTotal(); got != len(followers) {
		t.Errorf("B's followers totalItems = %d, want %d", got, len(followers))
	}
	_, summary := bridgeCmd(t, b, "followers", "list", "--account", "news")
	want := fmt.Sprintf("%d follower(s), 0 pending, %d moved in", len(followers), len(followers))
	if !strings.Contains(summary, want) {
		t.Errorf("followers list summary: want %q in\n%s", want, lastLines(summary, 3))
	}
	status, _ := bridgeCmd(t, b, "move-in", "status", "--account", "news")
	if n := strings.Count(status, "moved from "+a.actorID()); n != len(followers) {
		t.Errorf("move-in status lists %d followers moved from A, want %d:\n%s", n, len(followers), status)
	}

	// 8. A's actor carries movedTo (the running server reads the move the
	// command line recorded within seconds) and its profile redirects.
	deadline = time.Now().Add(15 * time.Second)
	for {
		var actor struct {
			MovedTo     string   `json:"movedTo"`
			AlsoKnownAs []string `json:"alsoKnownAs"`
		}
		a.getJSON(a.actorID(), &actor)
		if actor.MovedTo == b.actorID() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("A's actor movedTo = %q, want %s", actor.MovedTo, b.actorID())
		}
		time.Sleep(100 * time.Millisecond)
	}
	var bActor struct {
		AlsoKnownAs []string `json:"alsoKnownAs"`
		URL         string   `json:"url"`
	}
	b.getJSON(b.actorID(), &bActor)
	if len(bActor.AlsoKnownAs) != 1 || bActor.AlsoKnownAs[0] != a.actorID() {
		t.Errorf("B's alsoKnownAs = %v, want [%s]", bActor.AlsoKnownAs, a.actorID())
	}
	noRedirect := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.cfg.BaseURL()+"/@news", nil)
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != bActor.URL {
		t.Errorf("A's profile page: %d Location %q, want 301 to %s", resp.StatusCode, resp.Header.Get("Location"), bActor.URL)
	}
	// B's check now sees the whole move done: alias listed and served,
	// WebFinger right, A moved here.
	check, _ := bridgeCmd(t, b, "move-in", "check", "--account", "news")
	t.Logf("bridge move-in check on B:\n%s", check)
	if strings.Contains(check, "[FAIL]") || !strings.Contains(check, "[done] "+a.actorID()+" has moved here") {
		t.Errorf("move-in check on B:\n%s", check)
	}
	moveStatus, _ := bridgeCmd(t, a, "move-out", "--account", "news", "--status")
	if !strings.Contains(moveStatus, "moved to @news@"+b.cfg.Addr) {
		t.Errorf("move-out --status:\n%s", moveStatus)
	}
}
