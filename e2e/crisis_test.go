package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestFedifyCrisisMode (issue 16): against a real Fedify peer following
// @news, `bridge crisis on` closes a recent post: the peer receives an
// Update of its Note (verified) and the Note served says only the author
// may reply and quote; the peer's reply is rejected (Reject of the reply,
// no notification, not in the post's context) and so is its QuoteRequest.
// The bridge restarts mid-crisis. Turned off through the client API, the
// post is open again (another Update), and the peer's reply is accepted:
// notified, in the context, no Reject.
func TestFedifyCrisisMode(t *testing.T) {
	e := startFedifyEnv(t, FirstKnockRFC9421)
	h, peer := e.h, e.peer
	alice := peer.ActorID("alice")
	e.follow(t)
	ctx := e.ctx(3 * time.Minute)

	statusID, err := e.api.PostStatus(ctx, map[string]any{"status": "The river is rising: avoid the quays."})
	if err != nil {
		t.Fatal(err)
	}
	noteID := e.noteID(statusID)
	if _, err := peer.WaitActivity(ctx, "Create of the note", e.noteActivity("Create", noteID)); err != nil {
		t.Fatal(err)
	}
	// canReply | canQuote of the Note as the bridge serves it.
	served := func() string {
		t.Helper()
		var n struct {
			InteractionPolicy struct {
				CanReply struct {
					AutomaticApproval []string `json:"automaticApproval"`
				} `json:"canReply"`
				CanQuote struct {
					AutomaticApproval []string `json:"automaticApproval"`
				} `json:"canQuote"`
			} `json:"interactionPolicy"`
		}
		body := getBody(t, e, noteID, "application/activity+json")
		if err := json.Unmarshal([]byte(body), &n); err != nil {
			t.Fatalf("the Note: %v\n%s", err, body)
		}
		return strings.Join(n.InteractionPolicy.CanReply.AutomaticApproval, " ") + " | " + strings.Join(n.InteractionPolicy.CanQuote.AutomaticApproval, " ")
	}
	closed := h.actorID() + " | " + h.actorID()
	open := served()
	if open == closed {
		t.Fatalf("the Note is closed before crisis mode: %s", open)
	}

	stdout, stderr, code := runBridge(t, "crisis", "on", "--config", h.cfgPath, "--account", "news", "--posts", "5")
	if code != 0 || !strings.Contains(stdout, "crisis mode on for @news") {
		t.Fatalf("crisis on: exit %d\n%s%s", code, stdout, stderr)
	}
	t.Logf("bridge crisis on: %s", strings.TrimSpace(stdout))
	if got := served(); got != closed {
		t.Errorf("the Note during the crisis: %q, want %q", got, closed)
	}
	// The update's id is the Note's, "#policy/" and the time.
	isPolicyUpdate := func(after int) func(FedifyActivity) bool {
		return func(a FedifyActivity) bool {
			return a.Seq > after && e.noteActivity("Update", noteID)(a) && strings.HasPrefix(a.ID, noteID+"#policy/")
		}
	}
	upd, err := peer.WaitActivity(ctx, "Update of the note's policy", isPolicyUpdate(0))
	if err != nil {
		t.Fatal(err)
	}
	if !upd.Verified {
		t.Errorf("Update of the policy not verified: %s", upd)
	}
	// Fedify reads GoToSocial's interactionPolicy: replies and quotes
	// by the author alone.
	if got := canAuto(upd, "canReply") + " | " + canAuto(upd, "canQuote"); got != closed {
		t.Errorf("the Update's policy as Fedify reads it: %s, want %s (%v)", got, closed, upd.Object["interactionPolicy"])
	}

	// A restart mid-crisis loses nothing.
	h.stop()
	h.start()

	replied, err := peer.Act(ctx, "reply", map[string]any{"inReplyTo": noteID, "content": "Is the bridge closed too?", "mention": e.handle})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WaitActivity(ctx, "Reject of the reply", func(a FedifyActivity) bool {
		return a.Type == "Reject" && a.Actor == h.actorID() && (a.ObjectID == replied["note"] || idOf(a.Object) == replied["note"])
	}); err != nil {
		t.Fatal(err)
	}
	quoted, err := peer.Act(ctx, "quote", map[string]any{"object": noteID, "content": "Look at this."})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := peer.WaitActivity(ctx, "Reject of the QuoteRequest", func(a FedifyActivity) bool {
		return a.Type == "Reject" && a.Actor == h.actorID() && (a.ObjectID == quoted["id"] || idOf(a.Object) == quoted["id"])
	}); err != nil {
		t.Fatal(err)
	}
	if ds := e.descendants(t, statusID); slices.Contains(ds, replied["note"]) {
		t.Errorf("the rejected reply is in the post's context: %v", ds)
	}
	if n := e.notificationsFrom(t, alice, "mention"); n != 0 {
		t.Errorf("%d mention notifications from the rejected reply, want 0", n)
	}

	// Off, through the client API.
	var res struct {
		Active  bool   `json:"active"`
		Changed int    `json:"changed"`
		Message string `json:"message"`
	}
	if err := e.api.do(ctx, http.MethodPost, "/api/v1/passerelle/crisis", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"mode": {"off"}}.Encode()), &res); err != nil {
		t.Fatal(err)
	}
	if res.Active || res.Changed != 1 {
		t.Errorf("crisis off: %+v, want inactive with the post changed back", res)
	}
	if got := served(); got != open {
		t.Errorf("the Note after the crisis: %q, want as before: %q", got, open)
	}
	back, err := peer.WaitActivity(ctx, "Update of the note's policy, back", isPolicyUpdate(upd.Seq))
	if err != nil {
		t.Fatal(err)
	}
	if got := canAuto(back, "canReply"); got != "as:Public" {
		t.Errorf("the Update after the crisis: canReply %s, want as:Public (%v)", got, back.Object["interactionPolicy"])
	}
	again, err := peer.Act(ctx, "reply", map[string]any{"inReplyTo": noteID, "content": "Thanks for reopening.", "mention": e.handle})
	if err != nil {
		t.Fatal(err)
	}
	for e.notificationsFrom(t, alice, "mention") == 0 && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	if ds := e.descendants(t, statusID); !slices.Contains(ds, again["note"]) {
		t.Errorf("the reply after the crisis is not in the post's context: %v", ds)
	}
	as, err := peer.Inbox(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range as {
		if a.Type == "Reject" && (a.ObjectID == again["note"] || idOf(a.Object) == again["note"]) {
			t.Errorf("the reply after the crisis was rejected: %s", a)
		}
	}
	stdout, _, code = runBridge(t, "crisis", "off", "--config", h.cfgPath, "--account", "news")
	if code != 0 || !strings.Contains(stdout, "nothing to do") {
		t.Errorf("crisis off when off: exit %d, %q", code, stdout)
	}
}

// canAuto is who an activity's object lets interact (canReply, canQuote)
// without approval, as Fedify compacts it: space-separated.
func canAuto(a FedifyActivity, sub string) string {
	ip, _ := a.Object["interactionPolicy"].(map[string]any)
	p, _ := ip[sub].(map[string]any)
	return strings.Join(strs(p["automaticApproval"]), " ")
}

// descendants lists the URIs of the replies the client API shows under a
// status.
func (e *fedifyEnv) descendants(t *testing.T, statusID string) []string {
	t.Helper()
	var c struct {
		Descendants []apiStatus `json:"descendants"`
	}
	if err := e.api.do(e.ctx(10*time.Second), http.MethodGet, "/api/v1/statuses/"+statusID+"/context", "", nil, &c); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range c.Descendants {
		out = append(out, s.URI)
	}
	return out
}

// notificationsFrom counts the notifications of a type from an actor.
func (e *fedifyEnv) notificationsFrom(t *testing.T, actor, typ string) int {
	t.Helper()
	var ns []apiNotification
	if err := e.api.do(e.ctx(10*time.Second), http.MethodGet, "/api/v1/notifications?limit=40", "", nil, &ns); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, x := range ns {
		if x.Type == typ && x.Account.URI == actor {
			n++
		}
	}
	return n
}
