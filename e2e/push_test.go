package e2e

import (
	"bufio"
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

// pushDir returns e2e/push, where the test push service (http_ece from
// npm) is installed: skipped with a message on a laptop without it, a
// failure under CI=true.
func pushDir(t *testing.T) string {
	t.Helper()
	return nodeSuite(t, "push", "http_ece", "the test push service is not installed: run npm ci in e2e/push")
}

// received is one push as the test push service saw it.
type received struct {
	Path    string            `json:"path"`
	Length  int               `json:"length"`
	Headers map[string]string `json:"headers"`
	VAPID   struct {
		K   string `json:"k"`
		Aud string `json:"aud"`
		Sub string `json:"sub"`
	} `json:"vapid"`
	Payload struct {
		AccessToken      string `json:"access_token"`
		PreferredLocale  string `json:"preferred_locale"`
		NotificationID   int64  `json:"notification_id"`
		NotificationType string `json:"notification_type"`
		Icon             string `json:"icon"`
		Title            string `json:"title"`
		Body             string `json:"body"`
	} `json:"payload"`
	Error string `json:"error"`
}

// TestWebPush: masto.js subscribes two tokens to Web Push; remote actors
// mention @news, reply to, like and boost its post, and follow it, through signed
// deliveries to the real binary; the test push service on loopback
// receives one push for each, decrypts it with http_ece (an independent
// RFC 8291 implementation) and verifies its VAPID JWT; the subscription
// whose endpoint answers 410 is removed.
func TestWebPush(t *testing.T) {
	pdir := pushDir(t)
	mdir := mastoDir(t)
	h := newHarness(t, "sqlite", "", nil)
	h.start()
	remote := fedtest.StartWith(t, "127.0.0.2:0", 4, fedtest.Options{Keys: keyPool(t)})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	token := func() string {
		stdout, stderr, code := runBridge(t, "token", "create", "--config", h.cfgPath, "--account", "news", "--scopes", "read write push")
		if code != 0 {
			t.Fatalf("token create: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		return strings.TrimSpace(lines[len(lines)-1])
	}
	tok, tok2 := token(), token()

	// The push service.
	recv := exec.CommandContext(ctx, "node", "receiver.mjs")
	recv.Dir = pdir
	out, err := recv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var recvErr bytes.Buffer
	recv.Stderr = &recvErr
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { recv.Process.Kill(); recv.Wait() }()
	lines := bufio.NewScanner(out)
	lines.Buffer(make([]byte, 64<<10), 1<<20)
	if !lines.Scan() {
		t.Fatalf("the push service did not start: %s", recvErr.String())
	}
	var service struct {
		Endpoint     string `json:"endpoint"`
		GoneEndpoint string `json:"gone_endpoint"`
		P256dh       string `json:"p256dh"`
		Auth         string `json:"auth"`
	}
	if err := json.Unmarshal(lines.Bytes(), &service); err != nil {
		t.Fatal(err)
	}
	pushes := make(chan received, 64)
	go func() {
		for lines.Scan() {
			var r received
			if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
				r.Error = "undecodable line: " + lines.Text()
			}
			pushes <- r
		}
		close(pushes)
	}()

	// The app subscribes (masto.js).
	cmd := exec.CommandContext(ctx, "node", "push.mjs")
	cmd.Dir = mdir
	cmd.Env = append(os.Environ(), "BRIDGE_URL="+h.cfg.BaseURL(), "BRIDGE_TOKEN="+tok, "BRIDGE_TOKEN2="+tok2,
		"PUSH_ENDPOINT="+service.Endpoint, "PUSH_GONE_ENDPOINT="+service.GoneEndpoint,
		"PUSH_P256DH="+service.P256dh, "PUSH_AUTH="+service.Auth)
	var mout, merr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &mout, &merr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node push.mjs: %v\nstdout: %s\nstderr: %s", err, mout.String(), merr.String())
	}
	var sub struct {
		ID        string `json:"id"`
		ServerKey string `json:"server_key"`
	}
	if err := json.Unmarshal(bytes.TrimSpace(mout.Bytes()), &sub); err != nil {
		t.Fatalf("masto.js summary: %v\n%s", err, mout.String())
	}

	// What the fediverse does to @news.
	api := API{BaseURL: h.cfg.BaseURL(), Token: tok, Client: h.client}
	statusID, err := api.PostStatus(ctx, map[string]any{"status": "The council meets tonight at 7 pm."})
	if err != nil {
		t.Fatal(err)
	}
	noteID := h.actorID() + "/statuses/" + statusID
	note := func(i int, id, content string, extra map[string]any) map[string]any {
		n := map[string]any{
			"id": remote.ActorID(i) + "/statuses/" + id, "type": "Note", "attributedTo": remote.ActorID(i),
			"content": content, "published": time.Now().UTC().Format(time.RFC3339),
			"to": []any{"https://www.w3.org/ns/activitystreams#Public"}, "cc": []any{h.actorID()},
			"tag": []any{map[string]any{"type": "Mention", "href": h.actorID(), "name": "@news"}},
		}
		for k, v := range extra {
			n[k] = v
		}
		return n
	}
	activities := []struct {
		actor    int
		activity map[string]any
	}{
		{0, map[string]any{"type": "Create", "object": note(0, "1", `<p>@news Is the library open on Sunday?<script>alert(1)</script></p>`, nil)}},
		{1, map[string]any{"type": "Create", "object": note(1, "2", "<p>Will it be streamed?</p>", map[string]any{"inReplyTo": noteID})}},
		{2, map[string]any{"id": remote.ActorID(2) + "/likes/1", "type": "Like", "object": noteID}},
		{3, map[string]any{"id": remote.ActorID(3) + "/announces/1", "type": "Announce", "object": noteID,
			"to": []any{"https://www.w3.org/ns/activitystreams#Public"}}},
		{2, map[string]any{"id": remote.ActorID(2) + "/follows/1", "type": "Follow", "object": h.actorID()}},
	}
	for _, a := range activities {
		req, err := remote.SignedActivity(a.actor, h.cfg.BaseURL()+"/inbox", a.activity, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := h.post(req); err != nil {
			t.Fatal(err)
		}
	}

	// Six pushes: five to the app's endpoint, the first mention to the
	// gone one too (which answers 410).
	want := map[string]string{ // title → body prefix, for the app's endpoint (fedtest's display names)
		"You were mentioned by Test user 0": "@news Is the library open on Sunday?",
		"You were mentioned by Test user 1": "Will it be streamed?",
		"Test user 2 favorited your post":   "The council meets tonight",
		"Test user 3 boosted your post":     "The council meets tonight",
		"Test user 2 followed you":          "",
	}
	var got []received
	gone := 0
	deadline := time.After(45 * time.Second)
	for len(got) < len(want) || gone == 0 {
		select {
		case r, ok := <-pushes:
			if !ok {
				t.Fatalf("the push service stopped: %s", recvErr.String())
			}
			if r.Error != "" {
				t.Fatalf("push to %s: %s", r.Path, r.Error)
			}
			if strings.HasSuffix(r.Path, "/gone") {
				gone++
				continue
			}
			got = append(got, r)
		case <-deadline:
			t.Fatalf("after 45 s: %d pushes to the app, %d to the gone endpoint; got %+v", len(got), gone, got)
		}
	}
	types := map[string]int{}
	for _, r := range got {
		p := r.Payload
		types[p.NotificationType]++
		matched := false
		for title, body := range want {
			if p.Title == title {
				matched = true
				if !strings.HasPrefix(p.Body, body) {
					t.Errorf("push %q: body %q, want %q…", p.Title, p.Body, body)
				}
			}
		}
		if !matched {
			t.Errorf("unexpected push %+v", p)
		}
		if strings.Contains(p.Body, "script") || p.NotificationID == 0 || p.PreferredLocale == "" || p.Icon == "" {
			t.Errorf("payload %+v", p)
		}
		if r.VAPID.K != sub.ServerKey || r.VAPID.Aud != strings.SplitN(service.Endpoint, "/push/", 2)[0] {
			t.Errorf("VAPID k %q aud %q, want the server_key %q and the endpoint's origin", r.VAPID.K, r.VAPID.Aud, sub.ServerKey)
		}
		if r.Headers["content-encoding"] != "aes128gcm" || r.Headers["urgency"] != "normal" || r.Headers["ttl"] == "" || r.Headers["ttl"] == "0" || r.Length != 4096 {
			t.Errorf("headers %v, %d bytes", r.Headers, r.Length)
		}
	}
	if types["mention"] != 2 || types["favourite"] != 1 || types["reblog"] != 1 || types["follow"] != 1 {
		t.Errorf("notification types pushed: %v, want 2 mentions (a mention, a reply), a favourite, a boost, a follow", types)
	}

	// The push service said the second subscription is gone: removed.
	removed := false
	for end := time.Now().Add(10 * time.Second); !removed && time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.cfg.BaseURL()+"/api/v1/push/subscription", nil)
		req.Header.Set("Authorization", "Bearer "+tok2)
		resp, err := h.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		removed = resp.StatusCode == http.StatusNotFound
	}
	if !removed {
		t.Error("the subscription whose endpoint answered 410 is still there")
	}
	h.stop()
}
