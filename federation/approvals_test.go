package federation_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/federation/fedtest"
	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/storage"
)

// gtsPayload reads testdata/gotosocial/name with its placeholders
// replaced.
func gtsPayload(t *testing.T, name, requester, author, post string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "gotosocial", name))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer("{{requester}}", requester, "{{author}}", author, "{{post}}", post).Replace(string(b))
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return m
}

// startApprovalBridge is a bridge whose "news" posts may be replied to by
// followers (and mentioned accounts), and "open" posts by anyone.
func startApprovalBridge(t *testing.T) *bridge {
	t.Helper()
	return startBridgeWith(t, true, []config.Account{
		{Username: "news", DisplayName: "Ville de Test", Type: "Organization", Replies: config.RepliesFollowers, Quotes: config.QuotesAllow},
		{Username: "open", DisplayName: "Open", Type: "Organization", Replies: config.RepliesEveryone, Quotes: config.QuotesAllow},
	})
}

// follow makes remote actor i a follower of target.
func (b *bridge) follow(t *testing.T, remote *fedtest.Server, i int, target string) {
	t.Helper()
	r, _, err := remote.SignedFollow(i, b.url+"/inbox", target, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if code, body := send(t, r); code != http.StatusAccepted {
		t.Fatalf("follow: %d %s", code, body)
	}
}

// deliverAll runs the delivery workers until the queue is empty, and
// returns what the remote server received.
func (b *bridge) deliverAll(t *testing.T, remote *fedtest.Server, want int) []fedtest.Delivery {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.svc.NewDeliverer(2).Run(ctx, time.Second) }()
	if !remote.WaitFor(want, 10*time.Second) {
		cancel()
		<-done
		t.Fatalf("%d deliveries, want %d: %+v", remote.Count(), want, remote.Received())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, err := b.store.JobStats(context.Background(), time.Now().Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if st.Pending == 0 && st.Running == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue not drained: %+v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := remote.Received()
	if len(got) != want {
		t.Fatalf("%d deliveries, want %d: %+v", len(got), want, got)
	}
	for _, d := range got {
		if !d.Verified {
			t.Errorf("delivery to %s not verified: %v", d.Path, d.Err)
		}
	}
	return got
}

// getAS2 fetches an IRI of ours as ActivityStreams.
func getAS2(t *testing.T, iri string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, iri, nil)
	req.Header.Set("Accept", "application/activity+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

// answerTo finds the delivered answer (Accept or Reject) whose object is,
// or embeds, id.
func answerTo(ds []fedtest.Delivery, id string) []fedtest.Delivery {
	var out []fedtest.Delivery
	for _, d := range ds {
		if t := d.Activity["type"]; t != "Accept" && t != "Reject" {
			continue
		}
		if idOfAny(d.Activity["object"]) == id {
			out = append(out, d)
		}
	}
	return out
}

// TestInteractionRequests: GoToSocial's polite requests (0.21 on) are
// answered with an Accept embedding the request, whose result is an
// authorization served at its id, or with a Reject; the interaction
// becomes a notification as a plain reply or like does.
func TestInteractionRequests(t *testing.T) {
	b := startApprovalBridge(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 3, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1), KeyShape: fedtest.KeyShapeGoToSocial})
	ctx := context.Background()
	news := b.url + "/users/news"
	b.follow(t, remote, 0, news)
	postID, post := b.post(t, "news", storage.VisibilityPublic)
	privateID, private := b.post(t, "news", storage.VisibilityPrivate)

	follower, stranger := remote.ActorID(0), remote.ActorID(1)
	replyReq := gtsPayload(t, "reply-request.json", follower, news, post)
	refusedReply := gtsPayload(t, "reply-request.json", stranger, news, post)
	likeReq := gtsPayload(t, "like-request.json", follower, news, post)
	boostReq := gtsPayload(t, "announce-request.json", remote.ActorID(2), news, private)
	for _, st := range []struct {
		name  string
		actor int
		act   map[string]any
	}{
		{"reply request of a follower", 0, replyReq},
		{"reply request of a stranger", 1, refusedReply},
		{"like request", 0, likeReq},
		{"boost request of a followers-only post", 2, boostReq},
		{"the reply request again", 0, replyReq},
	} {
		if code, body := b.deliver(t, remote, st.actor, st.act); code != http.StatusAccepted {
			t.Fatalf("%s: %d %s", st.name, code, body)
		}
	}
	// The follower's reply and like are recorded, as a reply and a like
	// would be; the refused ones are not.
	var types []string
	for _, n := range b.notifications(t, "news") {
		types = append(types, n.Type+" "+n.ActorID)
	}
	if want := []string{"favourite " + follower, "mention " + follower, "follow " + follower}; !slices.Equal(types, want) {
		t.Errorf("notifications = %v, want %v", types, want)
	}
	replyNote := follower + "/statuses/01KFGBRPFJJCP0FM4039H4VDVQ"
	if rs, err := b.store.ListReplies(ctx, postID, 10); err != nil || len(rs) != 1 || rs[0].NoteID != replyNote {
		t.Errorf("replies = %+v, %v", rs, err)
	}

	// Accept of the Follow, of the reply and the like; Rejects of the
	// others; nothing for the replayed request.
	got := b.deliverAll(t, remote, 5)
	check := func(name string, reqID string, wantType, wantReq, wantInstrument, inbox string) map[string]any {
		t.Helper()
		ds := answerTo(got, reqID)
		if len(ds) != 1 {
			t.Fatalf("%s: %d answers to %s", name, len(ds), reqID)
		}
		a := ds[0].Activity
		obj, _ := a["object"].(map[string]any)
		if a["type"] != wantType || a["actor"] != news || ds[0].Path != inbox || obj["type"] != wantReq ||
			obj["instrument"] != wantInstrument || obj["actor"] == nil {
			t.Errorf("%s: %s %+v", name, ds[0].Path, a)
		}
		if to, _ := a["to"].([]any); len(to) != 1 || to[0] != obj["actor"] {
			t.Errorf("%s: addressed to %v", name, a["to"])
		}
		return a
	}
	replyAccept := check("reply", replyReq["id"].(string), "Accept", "ReplyRequest", replyNote, "/users/u0/inbox")
	reject := check("refused reply", refusedReply["id"].(string), "Reject", "ReplyRequest", stranger+"/statuses/01KFGBRPFJJCP0FM4039H4VDVQ", "/users/u1/inbox")
	likeAccept := check("like", likeReq["id"].(string), "Accept", "LikeRequest", follower+"/likes/12345", "/users/u0/inbox")
	check("boost of a followers-only post", boostReq["id"].(string), "Reject", "AnnounceRequest",
		remote.ActorID(2)+"/statuses/87fb1478-ac46-406a-8463-96ce05645219", "/users/u2/inbox")
	if reject["result"] != nil {
		t.Errorf("a Reject with a result: %+v", reject)
	}
	if obj, _ := replyAccept["object"].(map[string]any); obj["object"] != post {
		t.Errorf("accepted request's object = %v, want %s", obj["object"], post)
	}

	// The authorizations are served at their ids, and so are the Accepts.
	for _, a := range []struct {
		accept      map[string]any
		typ         string
		interaction string
	}{
		{replyAccept, "ReplyAuthorization", replyNote},
		{likeAccept, "LikeAuthorization", follower + "/likes/12345"},
	} {
		auth, _ := a.accept["result"].(string)
		if !strings.HasPrefix(auth, post+"/authorizations/") {
			t.Fatalf("%s: result %q", a.typ, auth)
		}
		code, doc := getAS2(t, auth)
		if code != http.StatusOK || doc["type"] != a.typ || doc["id"] != auth || doc["attributedTo"] != news ||
			doc["interactingObject"] != a.interaction || doc["interactionTarget"] != post {
			t.Errorf("GET %s: %d %+v", auth, code, doc)
		}
		code, doc = getAS2(t, a.accept["id"].(string))
		delete(doc, "@context")
		sent := maps(a.accept)
		delete(sent, "@context")
		if code != http.StatusOK || !jsonEqual(doc, sent) {
			t.Errorf("GET %s: %d %+v, want the Accept sent %+v", a.accept["id"], code, doc, sent)
		}
	}

	auth := replyAccept["result"].(string)
	likeAuth := likeAccept["result"].(string)
	for _, tc := range []struct {
		name string
		iri  string
		code int
	}{
		{"unknown authorization", post + "/authorizations/999", http.StatusNotFound},
		{"authorization of another post", private + "/authorizations/" + lastSegment(auth), http.StatusNotFound},
		{"authorization under the quote stamps", post + "/quotes/" + lastSegment(auth), http.StatusNotFound},
		{"not a number", post + "/authorizations/x", http.StatusNotFound},
	} {
		if code, _ := getAS2(t, tc.iri); code != tc.code {
			t.Errorf("%s: GET %s = %d, want %d", tc.name, tc.iri, code, tc.code)
		}
	}
	// Once the post is deleted, they are gone.
	if err := b.store.DeleteStatus(ctx, "news", postID, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, iri := range []string{auth, likeAuth, auth + "/accept"} {
		if code, doc := getAS2(t, iri); code != http.StatusGone || doc["type"] != "Tombstone" || doc["id"] != iri {
			t.Errorf("GET %s after the post's deletion = %d %+v, want 410 and a Tombstone", iri, code, doc)
		}
	}
	_ = privateID
}

// TestImpoliteReplyApproval: a reply sent to us alone, as GoToSocial
// before 0.21 sends one that needs approval, is recorded and answered
// with an Accept naming it (object the reply, target our post, the
// authorization as result), sent to the replier and to our followers;
// the Accept is served at its id, the proof older versions check
// (approvedBy). The approved reply coming again gets no second Accept; a
// reply anyone may make gets none.
func TestImpoliteReplyApproval(t *testing.T) {
	b := startApprovalBridge(t)
	remote := fedtest.StartWith(t, "127.0.0.2:0", 2, fedtest.Options{Keys: fedtest.GenerateKeys(t, 1), KeyShape: fedtest.KeyShapeGoToSocial})
	news := b.url + "/users/news"
	b.follow(t, remote, 0, news)
	_, post := b.post(t, "news", storage.VisibilityPublic)
	_, openPost := b.post(t, "open", storage.VisibilityPublic)

	follower := remote.ActorID(0)
	create := gtsPayload(t, "impolite-reply.json", follower, news, post)
	if code, body := b.deliver(t, remote, 0, create); code != http.StatusAccepted {
		t.Fatalf("reply: %d %s", code, body)
	}
	// Approved, GoToSocial distributes the reply again, with the proof.
	again := gtsPayload(t, "impolite-reply.json", follower, news, post)
	again["id"] = follower + "/statuses/01J17XY2VXGMNNPH1XR7BG2524/activity/2"
	if code, body := b.deliver(t, remote, 0, again); code != http.StatusAccepted {
		t.Fatalf("reply again: %d %s", code, body)
	}
	// Anyone may reply to open's posts: nothing to approve.
	open := gtsPayload(t, "impolite-reply.json", remote.ActorID(1), b.url+"/users/open", openPost)
	if code, body := b.deliver(t, remote, 1, open); code != http.StatusAccepted {
		t.Fatalf("reply to open: %d %s", code, body)
	}
	// (The other one is the follow's.)
	if ns := b.notifications(t, "news"); len(ns) != 2 || ns[0].Type != storage.NotificationMention || ns[1].Type != storage.NotificationFollow {
		t.Errorf("news's notifications = %+v, want the reply's and the follow's", ns)
	}

	// Accept of the Follow; the reply's Accept to the replier's inbox and
	// to our followers' (shared) inbox.
	got := b.deliverAll(t, remote, 3)
	reply := follower + "/statuses/01J17XY2VXGMNNPH1XR7BG2524"
	accepts := answerTo(got, reply)
	if len(accepts) != 2 {
		t.Fatalf("%d Accepts of the reply, want 2 (replier, followers): %+v", len(accepts), got)
	}
	var paths []string
	for _, d := range accepts {
		paths = append(paths, d.Path)
	}
	slices.Sort(paths)
	if !slices.Equal(paths, []string{"/inbox", "/users/u0/inbox"}) {
		t.Errorf("Accept delivered to %v", paths)
	}
	a := accepts[0].Activity
	auth, _ := a["result"].(string)
	if a["type"] != "Accept" || a["actor"] != news || a["target"] != post || !strings.HasPrefix(auth, post+"/authorizations/") ||
		!slices.Equal(stringList(a["to"]), []string{follower}) ||
		!slices.Equal(stringList(a["cc"]), []string{"https://www.w3.org/ns/activitystreams#Public", news + "/followers"}) {
		t.Errorf("Accept = %+v", a)
	}
	// The older form's proof: the Accept itself, at its id.
	code, doc := getAS2(t, a["id"].(string))
	if code != http.StatusOK || doc["type"] != "Accept" || doc["object"] != reply || doc["actor"] != news || doc["id"] != a["id"] {
		t.Errorf("GET %s: %d %+v", a["id"], code, doc)
	}
	if code, doc := getAS2(t, auth); code != http.StatusOK || doc["type"] != "ReplyAuthorization" || doc["interactingObject"] != reply {
		t.Errorf("GET %s: %d %+v", auth, code, doc)
	}
}

// TestReplyAudienceNeverWidens: for every replies setting, whoever the
// published canReply lets reply without approval is allowed by the
// setting's rule, and whoever the rule allows is in canReply (without or
// with approval), so can ask.
func TestReplyAudienceNeverWidens(t *testing.T) {
	const author = "https://city.example/users/news"
	const bob = "https://remote.example/users/bob"
	in := func(list []any, f policy.Facts, who string) bool {
		for _, v := range list {
			switch v {
			case "https://www.w3.org/ns/activitystreams#Public":
				return true
			case author + "/followers":
				if f.Follower {
					return true
				}
			case author + "/following":
				if f.Followed {
					return true
				}
			case author:
			case bob:
				if f.Mentioned && who == bob {
					return true
				}
			default:
				panic(v)
			}
		}
		return false
	}
	for _, v := range policy.RepliesValues {
		rule := policy.Replies(v)
		automatic, manual := federation.ReplyAudience(rule, author, []string{bob})
		for i := range 8 {
			f := policy.Facts{Follower: i&1 != 0, Followed: i&2 != 0, Mentioned: i&4 != 0}
			if in(automatic, f, bob) && !rule.Allows(f) {
				t.Errorf("replies %q: canReply.automaticApproval %v lets in %+v, whom the policy refuses", v, automatic, f)
			}
			if rule.Allows(f) && !in(automatic, f, bob) && !in(manual, f, bob) {
				t.Errorf("replies %q: %+v is allowed but in neither %v nor %v", v, f, automatic, manual)
			}
		}
	}
	automatic, manual := federation.ReplyAudience(policy.Replies(policy.RepliesMutuals), author, []string{bob})
	if !slices.Equal(automatic, []any{author, bob}) || !slices.Equal(manual, []any{author + "/following"}) {
		t.Errorf("mutuals: automatic %v manual %v", automatic, manual)
	}
}

// TestNoteMutualsPolicy: a post for mutuals publishes the following
// collection under approval, in both forms, never the public.
func TestNoteMutualsPolicy(t *testing.T) {
	b := startApprovalBridge(t)
	id, _ := b.post(t, "news", storage.VisibilityPublic)
	if err := b.store.PutStatusPolicy(context.Background(), storage.StatusPolicy{StatusID: id, Replies: policy.RepliesMutuals}); err != nil {
		t.Fatal(err)
	}
	code, doc := getAS2(t, b.svc.Links().Note("news", id))
	if code != http.StatusOK {
		t.Fatalf("GET note: %d", code)
	}
	ip, _ := doc["interactionPolicy"].(map[string]any)
	canReply, _ := ip["canReply"].(map[string]any)
	news := b.url + "/users/news"
	for _, k := range []string{"automaticApproval", "always"} {
		if got := stringList(canReply[k]); !slices.Equal(got, []string{news}) {
			t.Errorf("canReply.%s = %v, want the author alone", k, got)
		}
	}
	for _, k := range []string{"manualApproval", "approvalRequired"} {
		if got := stringList(canReply[k]); !slices.Equal(got, []string{news + "/following"}) {
			t.Errorf("canReply.%s = %v, want the following collection", k, got)
		}
	}
}

func lastSegment(iri string) string { return iri[strings.LastIndex(iri, "/")+1:] }

func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func jsonEqual(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
