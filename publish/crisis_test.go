package publish_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/passerelle/passerelle/bridgetest"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// TestCrisisMode: crisis mode on gives the last N posts (direct ones
// left out) and the posts published while it lasts the strictest policy,
// records what each had, queues an Update of each changed Note and the
// rewriting of its Bluesky gates; on twice changes nothing more; off
// gives each post back exactly its own policy from before (or none),
// again with an Update and its gates; off twice is a no-op.
func TestCrisisMode(t *testing.T) {
	mirror := &countingMirror{}
	e := newEnvWith(t, func(o *bridgetest.Options) {
		o.Mirror = func(links.Site) publish.Mirror { return mirror }
	})
	mirror.store = e.store
	ctx := context.Background()
	clock := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	e.pub.SetClock(func() time.Time { clock = clock.Add(time.Second); return clock })

	post := func(d publish.Draft) storage.Status {
		t.Helper()
		st, err := e.pub.Create(ctx, "news", d)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	old := post(publish.Draft{Text: "older than the last three"})
	plain := post(publish.Draft{Text: "no policy of its own"})
	own := post(publish.Draft{Text: "followers may reply", Replies: "followers"})
	strict := post(publish.Draft{Text: "already closed", Replies: "nobody", Quotes: "disallow"})
	// A direct answer (stored as is: publishing one needs a mention
	// WebFinger resolves).
	directID, err := e.store.InsertStatus(ctx, storage.Status{ID: strict.ID + 1, Account: "news", Text: "a private answer", Visibility: storage.VisibilityDirect})
	if err != nil {
		t.Fatal(err)
	}
	direct := storage.Status{ID: directID}

	policyOf := func(id int64) string {
		t.Helper()
		p, err := e.store.GetStatusPolicy(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return "none"
		}
		if err != nil {
			t.Fatal(err)
		}
		return p.Replies + "/" + p.Quotes
	}

	for _, n := range []int{0, -1, publish.CrisisMaxPosts + 1} {
		var ve *publish.ValidationError
		if _, err := e.pub.CrisisOn(ctx, "news", n); !errors.As(err, &ve) {
			t.Errorf("CrisisOn with %d posts: %v, want a validation error", n, err)
		}
	}
	if st, err := e.pub.CrisisStatus(ctx, "news"); err != nil || st.On {
		t.Fatalf("a rejected CrisisOn left it on: %+v, %v", st, err)
	}

	onAt := clock.Add(time.Minute)
	e.pub.SetClock(func() time.Time { return onAt })
	on, err := e.pub.CrisisOn(ctx, "news", 3) // direct posts are not counted
	if err != nil {
		t.Fatal(err)
	}
	clock = onAt
	e.pub.SetClock(func() time.Time { clock = clock.Add(time.Second); return clock })
	again, err := e.pub.CrisisOn(ctx, "news", 3)
	if err != nil {
		t.Fatal(err)
	}
	during := post(publish.Draft{Text: "published during the crisis", Replies: "mentioned"})
	duringPlain := post(publish.Draft{Text: "published during the crisis, no policy"})
	status, err := e.pub.CrisisStatus(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	onPolicies := map[string]string{}
	for name, st := range map[string]storage.Status{"old": old, "plain": plain, "own": own, "strict": strict, "during": during, "duringPlain": duringPlain} {
		onPolicies[name] = policyOf(st.ID)
	}
	gatesOn := slices.Clone(mirror.gates)

	// The Update of a Note that changed, with its new policy.
	fanout, err := e.store.ListJobsByRef(ctx, federation.JobFanout, fmt.Sprintf("status:%d:policy:%d:fanout", own.ID, onAt.UnixMicro()), "", 10)
	if err != nil {
		t.Fatal(err)
	}
	var update map[string]any
	if len(fanout) == 1 {
		var p struct {
			ActivityID int64 `json:"activity_id"`
		}
		if err := json.Unmarshal(fanout[0].Payload, &p); err != nil {
			t.Fatal(err)
		}
		body, err := e.store.GetOutgoingActivity(ctx, p.ActivityID)
		if err != nil {
			t.Fatal(err)
		}
		json.Unmarshal(body, &update)
	}
	canReply := func(a map[string]any) string {
		obj, _ := a["object"].(map[string]any)
		ip, _ := obj["interactionPolicy"].(map[string]any)
		cr, _ := ip["canReply"].(map[string]any)
		b, _ := json.Marshal(cr["automaticApproval"])
		return string(b)
	}

	off, err := e.pub.CrisisOff(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	gatesOff := mirror.gates[len(gatesOn):]
	offAgain, err := e.pub.CrisisOff(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}
	after, err := e.pub.CrisisStatus(ctx, "news")
	if err != nil {
		t.Fatal(err)
	}

	strictest := "nobody/disallow"
	tests := []struct {
		name      string
		got, want any
	}{
		{"on: posts changed (not the already strict one)", on.Changed, 2},
		{"on: first time", on.Already, false},
		{"on twice: already", again.Already, true},
		{"on twice: nothing changed", again.Changed, 0},
		{"status: on", status.On, true},
		{"status: posts held (3 recent, 2 new)", status.Posts, 5},
		{"status: posts asked", status.Crisis.Posts, 3},
		{"on: older post untouched", onPolicies["old"], "none"},
		{"on: plain post strict", onPolicies["plain"], strictest},
		{"on: own policy strict", onPolicies["own"], strictest},
		{"on: strict post strict", onPolicies["strict"], strictest},
		{"on: new post strict", onPolicies["during"], strictest},
		{"on: new plain post strict", onPolicies["duringPlain"], strictest},
		{"on: direct post untouched", policyOf(direct.ID), "none"},
		{"on: gates queued for the changed posts", fmt.Sprint(gatesOn), fmt.Sprint([]int64{own.ID, plain.ID})},
		{"on: Update delivered", update["type"], "Update"},
		{"on: Update says only the author may reply", canReply(update), fmt.Sprintf("[%q]", e.url+"/users/news")},
		{"off: posts changed back", off.Changed, 4},
		{"off: plain post has none again", policyOf(plain.ID), "none"},
		{"off: own policy back", policyOf(own.ID), "followers/"},
		{"off: strict post kept its own", policyOf(strict.ID), strictest},
		{"off: new post gets what it asked", policyOf(during.ID), "mentioned/"},
		{"off: new plain post has none", policyOf(duringPlain.ID), "none"},
		{"off: gates queued for each changed post", len(gatesOff), 4},
		{"off twice: already off", offAgain.Already, true},
		{"status: off", after.On, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if fmt.Sprint(tc.got) != fmt.Sprint(tc.want) {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}
