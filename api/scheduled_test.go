package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestScheduledStatusesAPI(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	readOnly := e.token(t, "news", "read")
	mayor := e.token(t, "mayor", "read write")
	m := e.upload(t, tok, pngBytes(t, 8, 8)).json(t)["id"].(string)
	parent := e.post(t, tok, url.Values{"status": {"thread start"}})

	schedule := func(text string, at time.Time, extra url.Values) string {
		t.Helper()
		v := url.Values{"status": {text}, "scheduled_at": {at.Format(time.RFC3339)}}
		for k, vs := range extra {
			v[k] = vs
		}
		r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, v)
		if r.code != http.StatusOK {
			t.Fatalf("schedule: %d %s", r.code, r.body)
		}
		return r.json(t)["id"].(string)
	}
	at1 := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	at2 := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	first := schedule("first", at1, url.Values{"media_ids[]": {m}, "in_reply_to_id": {parent}})
	second := schedule("second", at2, nil)
	path := "/api/v1/scheduled_statuses/"

	// The list, newest first, with Mastodon's keys.
	r := e.get(t, "/api/v1/scheduled_statuses", tok)
	list := r.list(t)
	if r.code != http.StatusOK || len(list) != 2 || list[0]["id"] != second || list[1]["id"] != first {
		t.Fatalf("list: %d %s", r.code, r.body)
	}
	sameKeys(t, "listed scheduled status", list[1], fixture(t, "scheduled_status.json"))
	params := list[1]["params"].(map[string]any)
	if params["text"] != "first" || params["in_reply_to_id"] != parent || len(list[1]["media_attachments"].([]any)) != 1 {
		t.Errorf("first scheduled status: %v", list[1])
	}
	if params["poll"] != nil {
		t.Errorf("a scheduled status without poll: params.poll = %v, want null", params["poll"])
	}
	// A scheduled poll keeps its parameters in params.poll.
	polled := schedule("which day?", at2.Add(time.Hour), url.Values{"poll[options][]": {"Saturday", "Sunday"},
		"poll[expires_in]": {"86400"}, "poll[multiple]": {"true"}})
	pp, _ := e.get(t, path+polled, tok).json(t)["params"].(map[string]any)["poll"].(map[string]any)
	if opts, _ := pp["options"].([]any); len(opts) != 2 || opts[0] != "Saturday" || pp["expires_in"] != float64(86400) || pp["multiple"] != true || pp["hide_totals"] != false {
		t.Errorf("scheduled poll params: %v", pp)
	}
	if r := e.do(t, request{method: http.MethodDelete, path: path + polled, token: tok}); r.code != http.StatusOK {
		t.Fatalf("cancel the scheduled poll: %d %s", r.code, r.body)
	}
	// Paging: one per page, the Link header leads to the next.
	r = e.get(t, "/api/v1/scheduled_statuses?limit=1", tok)
	if l := r.list(t); len(l) != 1 || l[0]["id"] != second || !strings.Contains(r.header.Get("Link"), "max_id="+second) {
		t.Errorf("first page: %s, Link %q", r.body, r.header.Get("Link"))
	}
	if l := e.get(t, "/api/v1/scheduled_statuses?limit=1&max_id="+second, tok).list(t); len(l) != 1 || l[0]["id"] != first {
		t.Errorf("second page: %v", l)
	}

	moved := time.Now().Add(3 * time.Hour).UTC().Truncate(time.Second)
	tests := []struct {
		name     string
		rq       response
		code     int
		contains string
	}{
		{"get", e.get(t, path+first, tok), 200, `"text":"first"`},
		{"get with a read token", e.get(t, path+first, readOnly), 200, `"id":"` + first + `"`},
		{"get another account's", e.get(t, path+first, mayor), 404, "Record not found"},
		{"get unknown", e.get(t, path+"999999", tok), 404, "Record not found"},
		{"get bad id", e.get(t, path+"abc", tok), 404, "Record not found"},
		{"move", e.form(t, http.MethodPut, path+first, tok, url.Values{"scheduled_at": {moved.Format(time.RFC3339)}}), 200,
			`"scheduled_at":"` + moved.Format("2006-01-02T15:04:05.000Z") + `"`},
		{"move with JSON", e.jsonBody(t, http.MethodPut, path+second, tok, map[string]any{"scheduled_at": moved.Add(time.Hour).Format(time.RFC3339)}), 200, `"text":"second"`},
		{"move too soon", e.form(t, http.MethodPut, path+first, tok, url.Values{"scheduled_at": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}}), 422, "5 minutes"},
		{"move without a date", e.form(t, http.MethodPut, path+first, tok, url.Values{}), 422, "blank"},
		{"move to nonsense", e.form(t, http.MethodPut, path+first, tok, url.Values{"scheduled_at": {"soon"}}), 422, "Scheduled at"},
		{"move with a read token", e.form(t, http.MethodPut, path+first, readOnly, url.Values{"scheduled_at": {moved.Format(time.RFC3339)}}), 403, "scopes"},
		{"move another account's", e.form(t, http.MethodPut, path+first, mayor, url.Values{"scheduled_at": {moved.Format(time.RFC3339)}}), 404, "Record not found"},
		{"cancel another account's", e.do(t, request{method: http.MethodDelete, path: path + first, token: mayor}), 404, "Record not found"},
		{"cancel", e.do(t, request{method: http.MethodDelete, path: path + second, token: tok}), 200, "{}"},
		{"cancelled is gone", e.get(t, path+second, tok), 404, "Record not found"},
		{"cancel twice", e.do(t, request{method: http.MethodDelete, path: path + second, token: tok}), 404, "Record not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.rq.code != tc.code || !strings.Contains(string(tc.rq.body), tc.contains) {
				t.Errorf("%d %s, want %d with %q", tc.rq.code, tc.rq.body, tc.code, tc.contains)
			}
		})
	}
	if l := e.get(t, "/api/v1/scheduled_statuses", tok).list(t); len(l) != 1 || l[0]["id"] != first {
		t.Errorf("after cancel: %v", l)
	}
	if l := e.get(t, "/api/v1/scheduled_statuses", mayor).list(t); len(l) != 0 {
		t.Errorf("the mayor sees %v", l)
	}
	if n, _ := e.store.CountStatuses(context.Background(), "news", nil); n != 1 {
		t.Errorf("%d statuses published, want only the thread start", n)
	}
}
