package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/federation/fedtest"
)

// TestMastoJS drives the client API of the real binary with masto.js, a
// real Mastodon client library (e2e/masto/client.mjs), while a simulated
// remote server follows @news: the status the client posts, edits, pins,
// unpins and deletes must reach the follower as verifiably signed
// activities, and be gone from the outside afterwards.
func TestMastoJS(t *testing.T) {
	dir := mastoDir(t)

	h := newHarness(t, "sqlite", "", nil)
	h.start()

	// A remote follower, with a real signed Follow answered by an Accept.
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
	if err := checkAccept(h, f, follower.Received()[0]); err != nil {
		t.Fatal(err)
	}

	// A token made with the CLI, as an operator does: the last line of stdout.
	stdout, stderr, code := runBridge(t, "token", "create", "--config", h.cfgPath, "--account", "news", "--scopes", "read write")
	if code != 0 {
		t.Fatalf("token create: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	token := strings.TrimSpace(lines[len(lines)-1])
	if token == "" || strings.ContainsAny(token, " \t") {
		t.Fatalf("token create: no token on the last line of stdout:\n%s", stdout)
	}

	const width, height = 800, 600
	imgPath := filepath.Join(t.TempDir(), "gradient.png")
	writeTestPNG(t, imgPath, width, height)

	// The masto.js client, against the running binary.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"BRIDGE_URL="+h.cfg.BaseURL(),
		"BRIDGE_TOKEN="+token,
		"BRIDGE_IMAGE="+imgPath,
		"BRIDGE_ACCOUNT=news",
		fmt.Sprintf("BRIDGE_IMAGE_WIDTH=%d", width),
		fmt.Sprintf("BRIDGE_IMAGE_HEIGHT=%d", height),
	)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("node client.mjs: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	t.Logf("masto.js client passed in %v", time.Since(start).Round(time.Millisecond))
	if errb.Len() > 0 {
		t.Logf("node stderr:\n%s", errb.String())
	}

	var sum struct {
		Account struct {
			ID   string `json:"id"`
			Acct string `json:"acct"`
		} `json:"account"`
		Instance struct {
			MaxCharacters int `json:"maxCharacters"`
		} `json:"instance"`
		Media struct {
			ID          string `json:"id"`
			Description string `json:"description"`
			Blurhash    string `json:"blurhash"`
			Width       int    `json:"width"`
			Height      int    `json:"height"`
		} `json:"media"`
		Status struct {
			ID               string   `json:"id"`
			URI              string   `json:"uri"`
			EditedAt         string   `json:"editedAt"`
			Tags             []string `json:"tags"`
			Pinned           bool     `json:"pinned"`
			Unpinned         bool     `json:"unpinned"`
			Deleted          bool     `json:"deleted"`
			FetchAfterDelete int      `json:"fetchAfterDelete"`
		} `json:"status"`
		OverLong struct {
			StatusCode int    `json:"statusCode"`
			Message    string `json:"message"`
		} `json:"overLong"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &sum); err != nil {
		t.Fatalf("client summary is not JSON: %v\n%s", err, out.String())
	}
	t.Logf("client summary: %s", strings.TrimSpace(out.String()))
	st := sum.Status
	noteID := h.actorID() + "/statuses/" + st.ID
	switch {
	case sum.Account.Acct != "news" || sum.Account.ID == "":
		t.Errorf("summary account = %+v, want acct news", sum.Account)
	case sum.Instance.MaxCharacters != 500:
		t.Errorf("summary max_characters = %d, want the default 500", sum.Instance.MaxCharacters)
	case sum.Media.ID == "" || sum.Media.Blurhash == "" || sum.Media.Description == "" ||
		sum.Media.Width != width || sum.Media.Height != height:
		t.Errorf("summary media = %+v, want an id, a blurhash, the description and %dx%d", sum.Media, width, height)
	case st.ID == "" || st.URI != noteID:
		t.Errorf("summary status id %q, uri %q; want uri %s", st.ID, st.URI, noteID)
	case st.EditedAt == "" || !st.Pinned || !st.Unpinned || !st.Deleted || st.FetchAfterDelete != http.StatusNotFound:
		t.Errorf("summary status = %+v, want edited, pinned, unpinned, deleted and 404 after", st)
	case len(st.Tags) != 1 || !strings.EqualFold(st.Tags[0], "citycouncil"):
		t.Errorf("summary tags = %v, want [citycouncil]", st.Tags)
	case sum.OverLong.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(sum.OverLong.Message, "500"):
		t.Errorf("summary over-long = %+v, want 422 naming the limit", sum.OverLong)
	}
	if t.Failed() {
		t.FailNow()
	}

	// From the outside: the note is a tombstone now (410), and the API no
	// longer has it.
	h.expectStatus(noteID, "application/activity+json", http.StatusGone)
	h.expectStatus(h.cfg.BaseURL()+"/api/v1/statuses/"+st.ID, "application/json", http.StatusNotFound)

	// The follower received, each verifiably signed by @news: the Accept,
	// then Create, Update, Add and Remove (pin, unpin) and Delete of the
	// note, and an Update of the actor after the pin and after the unpin
	// (GoToSocial reads featured when it fetches the actor). The queue
	// delivers concurrently, so their order is not checked.
	want := []string{"Create", "Update", "Add", "Remove", "Delete"}
	const actorUpdates = 2
	if !follower.WaitFor(1+len(want)+actorUpdates, 30*time.Second) {
		t.Fatalf("the follower received %d requests in 30 s, want %d (Accept, %s, 2 actor Updates)", follower.Count(), 1+len(want)+actorUpdates, strings.Join(want, ", "))
	}
	time.Sleep(300 * time.Millisecond) // let any stray delivery arrive
	got := follower.Received()
	if len(got) != 1+len(want)+actorUpdates {
		t.Errorf("the follower received %d requests, want %d", len(got), 1+len(want)+actorUpdates)
	}
	seen := map[string]int{}
	var order []string
	for _, d := range got[1:] {
		typ, _ := d.Activity["type"].(string)
		order = append(order, typ)
		if typ == "Update" && idOf(d.Activity["object"]) == h.actorID() {
			seen["actor Update"]++
			if !d.Verified || d.Signer != h.actorID() {
				t.Errorf("actor Update not verified as @news's: %v", d.Err)
			}
			continue
		}
		seen[typ]++
		if err := checkNoteActivity(h, d, typ, noteID); err != nil {
			t.Errorf("%s: %v", typ, err)
		}
	}
	if seen["actor Update"] != actorUpdates {
		t.Errorf("the follower received %d Updates of the actor, want %d (pin, unpin)", seen["actor Update"], actorUpdates)
	}
	t.Logf("follower received, in order: %s", strings.Join(order, ", "))
	for _, typ := range want {
		if seen[typ] != 1 {
			t.Errorf("the follower received %d %s activities, want 1", seen[typ], typ)
		}
	}
	h.stop()
}

// mastoDir is e2e/masto with its node_modules installed; the test skips
// without them (node missing, or npm ci not run), and fails under CI=true.
func mastoDir(t *testing.T) string {
	t.Helper()
	return nodeSuite(t, "masto", "masto", "masto.js not installed: run npm ci in e2e/masto")
}

// runScript runs `node script` in dir with the environment plus env
// ("NAME=value"), and returns the JSON summary it prints on stdout; the
// test fails, with both outputs, when it exits non-zero or prints
// something else.
func runScript(t *testing.T, ctx context.Context, dir, script string, env ...string) map[string]any {
	t.Helper()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s %v: %v\nstdout: %s\nstderr: %s", script, env, err, out.String(), errb.String())
	}
	var sum map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &sum); err != nil {
		t.Fatalf("node %s: the summary is not JSON: %v\n%s", script, err, out.String())
	}
	t.Logf("node %s: %s", script, strings.TrimSpace(out.String()))
	return sum
}

// nodeSuite returns the absolute path of the Node.js suite in folder once
// module is installed in its node_modules and node is on PATH. Otherwise
// the test fails in CI and is skipped elsewhere, with missing as the
// reason.
func nodeSuite(t *testing.T, folder, module, missing string) string {
	t.Helper()
	dir, err := filepath.Abs(folder)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", module, "package.json")); err == nil {
		if _, err := exec.LookPath("node"); err == nil {
			return dir
		}
		missing = "node is not on PATH: the " + folder + " suite needs Node.js"
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(missing)
	}
	t.Skip(missing)
	return ""
}

// checkNoteActivity requires d to be a verified delivery by @news to the
// follower's shared inbox of activity typ about the note noteID.
func checkNoteActivity(h *harness, d fedtest.Delivery, typ, noteID string) error {
	if err := checkSignedActivity(h, d, noteID); err != nil {
		return err
	}
	obj, _ := d.Activity["object"].(map[string]any)
	switch typ {
	case "Create", "Update":
		if obj == nil || obj["type"] != "Note" {
			return fmt.Errorf("object is not an embedded Note: %v", d.Activity["object"])
		}
		content, _ := obj["content"].(string)
		if !strings.Contains(content, "https://example.org/agenda") {
			return fmt.Errorf("note content has no link: %q", content)
		}
		if typ == "Update" && (!strings.Contains(content, "7 pm") || obj["updated"] == nil) {
			return fmt.Errorf("updated note: content %q, updated %v; want the edited text and updated set", content, obj["updated"])
		}
		if att, _ := obj["attachment"].([]any); len(att) != 1 {
			return fmt.Errorf("note has %d attachments, want the image", len(att))
		}
	case "Add", "Remove":
		if target := idOf(d.Activity["target"]); target != h.actorID()+"/collections/featured" {
			return fmt.Errorf("target %q, want the featured collection", target)
		}
	case "Delete":
	default:
		return fmt.Errorf("unexpected activity type %q", typ)
	}
	return nil
}

// checkSignedActivity requires d to be an activity by @news about
// objectID, delivered with a signature the follower verified.
func checkSignedActivity(h *harness, d fedtest.Delivery, objectID string) error {
	switch {
	case !d.Verified || d.Err != nil:
		return fmt.Errorf("signature not verified by the follower: %v", d.Err)
	case d.Signer != h.actorID():
		return fmt.Errorf("signed by %q, want %q", d.Signer, h.actorID())
	case d.Status != http.StatusAccepted:
		return fmt.Errorf("follower answered %d", d.Status)
	case idOf(d.Activity["actor"]) != h.actorID():
		return fmt.Errorf("actor %v, want %s", d.Activity["actor"], h.actorID())
	case idOf(d.Activity["object"]) != objectID:
		return fmt.Errorf("object %v, want %s", d.Activity["object"], objectID)
	}
	return nil
}

// expectStatus GETs url with accept and requires the status code.
func (h *harness) expectStatus(url, accept string, want int) {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	resp, err := h.client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != want {
		h.t.Fatalf("GET %s: status %d, want %d", url, resp.StatusCode, want)
	}
}

// writeTestPNG writes a width×height gradient (a flat image would have a
// trivial blurhash).
func writeTestPNG(t *testing.T, path string, width, height int) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, width, height))
	for y := range height {
		for x := range width {
			img.Set(x, y, color.RGBA{R: uint8(255 * x / width), G: uint8(255 * y / height), B: 160, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}
