package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/api"
	"github.com/passerelle/passerelle/storage"
)

var mastodonTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

func TestStatusLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	ctx := context.Background()

	up := e.upload(t, tok, pngBytes(t, 40, 30), [2]string{"description", "The city hall"}, [2]string{"focus", "0.5,-0.25"})
	if up.code != http.StatusOK {
		t.Fatalf("upload: %d %s", up.code, up.body)
	}
	mediaID := up.json(t)["id"].(string)

	// Create (form-encoded), with a hashtag, a local mention and an image.
	r := e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{
		"status": {"Bonjour #Library @mayor"}, "media_ids[]": {mediaID}, "language": {"fr"},
	})
	if r.code != http.StatusOK {
		t.Fatalf("create: %d %s", r.code, r.body)
	}
	st := r.json(t)
	sameKeys(t, "status", st, fixture(t, "status.json"))
	id := st["id"].(string)
	n, _ := strconv.ParseInt(id, 10, 64)
	checks := []struct {
		name      string
		got, want any
	}{
		{"visibility", st["visibility"], "public"},
		{"language", st["language"], "fr"},
		{"uri", st["uri"], e.fed.Links().Note("news", n)},
		{"url", st["url"], e.fed.Links().NoteURL("news", n)},
		{"account.id", st["account"].(map[string]any)["id"], "news"},
		{"account.acct", st["account"].(map[string]any)["acct"], "news"},
		{"account.statuses_count", st["account"].(map[string]any)["statuses_count"], 1.0},
		{"pinned", st["pinned"], false},
		{"edited_at", st["edited_at"], nil},
		{"reblog", st["reblog"], nil},
		{"media id", st["media_attachments"].([]any)[0].(map[string]any)["id"], mediaID},
		{"tag", st["tags"].([]any)[0].(map[string]any)["name"], "Library"},
		{"mention", st["mentions"].([]any)[0].(map[string]any)["acct"], "mayor"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("created status %s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if !mastodonTime.MatchString(st["created_at"].(string)) {
		t.Errorf("created_at %q is not Mastodon's format", st["created_at"])
	}
	if c := st["content"].(string); !strings.HasPrefix(c, "<p>Bonjour") || !strings.Contains(c, "Library") {
		t.Errorf("content %q", c)
	}
	if _, ok := st["text"]; ok {
		t.Error("text shown outside DELETE")
	}

	// Read it back, as the owner and anonymously (no "pinned").
	if r := e.get(t, "/api/v1/statuses/"+id, tok); r.code != http.StatusOK || r.json(t)["id"] != id {
		t.Errorf("GET status: %d %s", r.code, r.body)
	}
	anon := e.get(t, "/api/v1/statuses/"+id, "")
	if anon.code != http.StatusOK {
		t.Fatalf("anonymous GET: %d %s", anon.code, anon.body)
	}
	if _, ok := anon.json(t)["pinned"]; ok {
		t.Error("pinned shown to an anonymous client")
	}

	src := e.get(t, "/api/v1/statuses/"+id+"/source", tok)
	if src.code != http.StatusOK || src.json(t)["text"] != "Bonjour #Library @mayor" || src.json(t)["spoiler_text"] != "" {
		t.Errorf("source: %d %s", src.code, src.body)
	}

	// Edit (JSON) the text and the image's alt text; media_ids left out
	// keeps the image.
	r = e.jsonBody(t, http.MethodPut, "/api/v1/statuses/"+id, tok, map[string]any{
		"status":           "Edited text",
		"media_attributes": []map[string]any{{"id": mediaID, "description": "New alt"}},
	})
	if r.code != http.StatusOK {
		t.Fatalf("edit: %d %s", r.code, r.body)
	}
	ed := r.json(t)
	if ed["edited_at"] == nil || !strings.Contains(ed["content"].(string), "Edited text") || ed["language"] != "fr" {
		t.Errorf("edited status: %s", r.body)
	}
	atts := ed["media_attachments"].([]any)
	if len(atts) != 1 || atts[0].(map[string]any)["description"] != "New alt" {
		t.Errorf("edited media: %v", atts)
	}

	// Pin and unpin.
	if r := e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses/" + id + "/pin", token: tok}); r.code != http.StatusOK || r.json(t)["pinned"] != true {
		t.Errorf("pin: %d %s", r.code, r.body)
	}
	if l := e.get(t, "/api/v1/accounts/news/statuses?pinned=true", "").list(t); len(l) != 1 || l[0]["id"] != id {
		t.Errorf("pinned list: %v", l)
	}
	if l := e.get(t, "/api/v1/accounts/news/statuses?pinned=true&max_id="+id, "").list(t); len(l) != 0 {
		t.Errorf("pinned list, next page: %v", l)
	}
	if r := e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses/" + id + "/unpin", token: tok}); r.code != http.StatusOK || r.json(t)["pinned"] != false {
		t.Errorf("unpin: %d %s", r.code, r.body)
	}

	// Delivery status (no workers run here: the fan-out is still queued).
	d := e.get(t, "/api/v1/passerelle/statuses/"+id+"/delivery", tok)
	if d.code != http.StatusOK {
		t.Fatalf("delivery: %d %s", d.code, d.body)
	}
	sameKeys(t, "delivery", d.json(t), map[string]any{"servers_reached": 0, "pending": 0, "failed": 0, "fanout_pending": true})
	if d.json(t)["fanout_pending"] != true {
		t.Errorf("delivery: %s", d.body)
	}

	// Delete answers the source text for redraft, and the image can be
	// attached again.
	r = e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + id, token: tok})
	if r.code != http.StatusOK {
		t.Fatalf("delete: %d %s", r.code, r.body)
	}
	del := r.json(t)
	want := fixture(t, "status.json")
	delete(want, "content")
	want["text"] = ""
	sameKeys(t, "deleted status", del, want)
	if del["text"] != "Edited text" || len(del["media_attachments"].([]any)) != 1 {
		t.Errorf("deleted status: %s", r.body)
	}
	if r := e.get(t, "/api/v1/statuses/"+id, tok); r.code != http.StatusNotFound || r.errorText(t) != "Record not found" {
		t.Errorf("GET deleted: %d %s", r.code, r.body)
	}
	if r := e.do(t, request{method: http.MethodDelete, path: "/api/v1/statuses/" + id, token: tok}); r.code != http.StatusNotFound {
		t.Errorf("second delete: %d %s", r.code, r.body)
	}
	// The delivery report still answers: when it was deleted and how far
	// the Delete went (queued: no workers run here).
	d = e.get(t, "/api/v1/passerelle/statuses/"+id+"/delivery", tok)
	if d.code != http.StatusOK {
		t.Fatalf("delivery of a deleted status: %d %s", d.code, d.body)
	}
	dj := d.json(t)
	if dj["deleted_at"] == nil || dj["deletion"] == nil {
		t.Fatalf("delivery of a deleted status: %s", d.body)
	}
	sameKeys(t, "deletion", dj["deletion"].(map[string]any), map[string]any{"servers_reached": 0, "pending": 0, "failed": 0, "fanout_pending": true})
	if dj["deletion"].(map[string]any)["fanout_pending"] != true {
		t.Errorf("deletion: %s", d.body)
	}
	if r := e.get(t, "/api/v1/passerelle/statuses/"+id+"/delivery", e.token(t, "mayor", "read")); r.code != http.StatusNotFound {
		t.Errorf("another account's deleted status: %d %s", r.code, r.body)
	}
	e.post(t, tok, url.Values{"status": {"redraft"}, "media_ids[]": {mediaID}})
	if n, _ := e.store.CountStatuses(ctx, "news", nil); n != 1 {
		t.Errorf("%d live statuses, want 1", n)
	}
}

func TestCreateStatusBodies(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "write:statuses write:media")
	upload := func() string {
		r := e.upload(t, tok, pngBytes(t, 8, 8))
		if r.code != http.StatusOK {
			t.Fatalf("upload: %d %s", r.code, r.body)
		}
		return r.json(t)["id"].(string)
	}
	tests := []struct {
		name string
		send func(mediaID string) response
	}{
		{"form", func(m string) response {
			return e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{
				"status": {"hello"}, "spoiler_text": {"cw"}, "visibility": {"unlisted"}, "language": {"en"},
				"sensitive": {"true"}, "media_ids[]": {m},
			})
		}},
		{"multipart", func(m string) response {
			body, ct := multipartBody(t, [][2]string{{"status", "hello"}, {"spoiler_text", "cw"}, {"visibility", "unlisted"},
				{"language", "en"}, {"sensitive", "1"}, {"media_ids[]", m}}, "", nil)
			return e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses", token: tok, contentType: ct, body: body})
		}},
		{"json", func(m string) response {
			return e.jsonBody(t, http.MethodPost, "/api/v1/statuses", tok, map[string]any{
				"status": "hello", "spoiler_text": "cw", "visibility": "unlisted", "language": "en",
				"sensitive": true, "media_ids": []string{m},
			})
		}},
		{"json numeric media id", func(m string) response {
			n, _ := strconv.Atoi(m)
			return e.jsonBody(t, http.MethodPost, "/api/v1/statuses", tok, map[string]any{
				"status": "hello", "spoiler_text": "cw", "visibility": "unlisted", "language": "en",
				"sensitive": "true", "media_ids": []int{n},
			})
		}},
		{"query string", func(m string) response {
			q := url.Values{"status": {"hello"}, "spoiler_text": {"cw"}, "visibility": {"unlisted"}, "language": {"en"},
				"sensitive": {"true"}, "media_ids[]": {m}}
			return e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses?" + q.Encode(), token: tok})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := upload()
			r := tt.send(m)
			if r.code != http.StatusOK {
				t.Fatalf("%d %s", r.code, r.body)
			}
			st := r.json(t)
			atts := st["media_attachments"].([]any)
			if st["spoiler_text"] != "cw" || st["visibility"] != "unlisted" || st["language"] != "en" ||
				st["sensitive"] != true || len(atts) != 1 || atts[0].(map[string]any)["id"] != m {
				t.Errorf("status: %s", r.body)
			}
		})
	}
}

func TestCreateStatusRejects(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	tok := e.token(t, "news", "read write")
	readOnly := e.token(t, "news", "read")
	mediaOnly := e.token(t, "news", "write:media")
	revoked, rt := e.tokenRow(t, "news", "read write")
	if err := e.store.RevokeToken(ctx, rt.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	expired := "expired-token-value"
	if _, err := e.store.InsertToken(ctx, storage.Token{Hash: api.HashSecret(expired), Account: "news", Name: "old",
		Scopes: "read write", ExpiresAt: time.Now().Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	appOnly := "app-token-value"
	if _, err := e.store.InsertToken(ctx, storage.Token{Hash: api.HashSecret(appOnly), AppID: 1, Name: "x", Scopes: "read write"}); err != nil {
		t.Fatal(err)
	}
	mayorTok := e.token(t, "mayor", "write")
	theirs := e.upload(t, mayorTok, pngBytes(t, 8, 8))
	if theirs.code != http.StatusOK {
		t.Fatalf("upload: %d %s", theirs.code, theirs.body)
	}
	theirMedia := theirs.json(t)["id"].(string)
	pending := e.jobStats(t).Pending

	form := func(token string, v url.Values) func() response {
		return func() response { return e.form(t, http.MethodPost, "/api/v1/statuses", token, v) }
	}
	tests := []struct {
		name string
		send func() response
		code int
		msg  string
	}{
		{"over-long status", form(tok, url.Values{"status": {strings.Repeat("é", 501)}}), 422, "character limit of 500"},
		{"over-long with spoiler", form(tok, url.Values{"status": {strings.Repeat("a", 490)}, "spoiler_text": {strings.Repeat("b", 20)}}), 422, "character limit"},
		{"empty", form(tok, url.Values{"status": {"  "}}), 422, "can't be blank"},
		{"unknown media id", form(tok, url.Values{"status": {"x"}, "media_ids[]": {"999"}}), 422, "media 999 not found"},
		{"malformed media id", form(tok, url.Values{"status": {"x"}, "media_ids[]": {"abc"}}), 422, "media abc not found"},
		{"media of another account", form(tok, url.Values{"status": {"x"}, "media_ids[]": {theirMedia}}), 422, "not found"},
		{"too many media", form(tok, url.Values{"status": {"x"}, "media_ids[]": {"1", "2", "3", "4", "5"}}), 422, "at most 4"},
		{"direct without a mention", form(tok, url.Values{"status": {"x"}, "visibility": {"direct"}}), 422, "must mention"},
		{"unknown visibility", form(tok, url.Values{"status": {"x"}, "visibility": {"secret"}}), 422, "visibility"},
		{"bad language", form(tok, url.Values{"status": {"x"}, "language": {"not a language"}}), 422, "Language"},
		{"reply to unknown", form(tok, url.Values{"status": {"x"}, "in_reply_to_id": {"12345"}}), 422, "in_reply_to_id"},
		{"poll with one option", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a"}, "poll[expires_in]": {"3600"}}), 422, "at least 2 options"},
		{"poll with too many options", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a", "b", "c", "d", "e"}, "poll[expires_in]": {"3600"}}), 422, "more than 4 options"},
		{"poll with duplicates", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a", " a "}, "poll[expires_in]": {"3600"}}), 422, "duplicate"},
		{"poll option too long", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a", strings.Repeat("é", 51)}, "poll[expires_in]": {"3600"}}), 422, "longer than 50"},
		{"poll expiring too soon", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"299"}}), 422, "too short"},
		{"poll expiring too late", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"2629747"}}), 422, "too long"},
		{"poll without expiry", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a", "b"}}), 422, "expires_in"},
		{"poll with media", form(tok, url.Values{"status": {"x"}, "poll[options][]": {"a", "b"}, "poll[expires_in]": {"3600"}, "media_ids[]": {theirMedia}}), 422, "both a poll and media"},
		{"poll in JSON with one option", func() response {
			return e.jsonBody(t, http.MethodPost, "/api/v1/statuses", tok, map[string]any{"status": "x", "poll": map[string]any{"options": []string{"a"}, "expires_in": 600}})
		}, 422, "at least 2 options"},
		{"poll in JSON not an object", func() response {
			return e.jsonBody(t, http.MethodPost, "/api/v1/statuses", tok, map[string]any{"status": "x", "poll": "yes"})
		}, 422, "poll"},
		{"schedule too soon", form(tok, url.Values{"status": {"x"}, "scheduled_at": {time.Now().Add(time.Minute).UTC().Format(time.RFC3339)}}), 422, "5 minutes"},
		{"schedule unparsable", form(tok, url.Values{"status": {"x"}, "scheduled_at": {"tomorrow"}}), 422, "Scheduled at"},
		{"malformed JSON", func() response {
			return e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses", token: tok, contentType: "application/json", body: []byte(`{"status":`)})
		}, 400, "parsing"},
		{"missing token", form("", url.Values{"status": {"x"}}), 401, "The access token is invalid"},
		{"unknown token", form("nope", url.Values{"status": {"x"}}), 401, "The access token is invalid"},
		{"revoked token", form(revoked, url.Values{"status": {"x"}}), 401, "The access token is invalid"},
		{"expired token", form(expired, url.Values{"status": {"x"}}), 401, "The access token is invalid"},
		{"not a bearer token", func() response {
			return e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses", header: map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}})
		}, 401, "The access token is invalid"},
		{"read scope only", form(readOnly, url.Values{"status": {"x"}}), 403, "outside the authorized scopes"},
		{"write:media scope only", form(mediaOnly, url.Values{"status": {"x"}}), 403, "outside the authorized scopes"},
		{"app token without user", form(appOnly, url.Values{"status": {"x"}}), 422, "requires an authenticated user"},
		{"body too large", func() response {
			return e.form(t, http.MethodPost, "/api/v1/statuses", tok, url.Values{"status": {strings.Repeat("a", 2<<20)}})
		}, 413, "too large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send()
			if r.code != tt.code || !strings.Contains(r.errorText(t), tt.msg) {
				t.Errorf("got %d %s, want %d with %q", r.code, r.body, tt.code, tt.msg)
			}
			if tt.code == 401 && !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("401 without a Bearer challenge")
			}
			e.checkNothingWritten(t, tt.name, pending)
		})
	}
}

func TestIdempotencyKey(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "write")
	send := func(key, text string) response {
		b := []byte(url.Values{"status": {text}}.Encode())
		return e.do(t, request{method: http.MethodPost, path: "/api/v1/statuses", token: tok,
			contentType: "application/x-www-form-urlencoded", body: b, header: map[string]string{"Idempotency-Key": key}})
	}
	a, b := send("key-1", "once"), send("key-1", "once")
	if a.code != 200 || b.code != 200 || a.json(t)["id"] != b.json(t)["id"] {
		t.Fatalf("two answers: %d %s / %d %s", a.code, a.body, b.code, b.body)
	}
	long := strings.Repeat("k", 500)
	c, d := send(long, "long key"), send(long, "long key")
	if c.json(t)["id"] != d.json(t)["id"] || c.json(t)["id"] == a.json(t)["id"] {
		t.Errorf("long key: %s / %s", c.body, d.body)
	}
	if n, _ := e.store.CountStatuses(context.Background(), "news", nil); n != 2 {
		t.Errorf("%d statuses, want 2", n)
	}
	if p := e.jobStats(t).Pending; p != 2 {
		t.Errorf("%d pending jobs, want 2 (one fan-out per status)", p)
	}
}

func TestScheduledStatus(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "write")
	m := e.upload(t, tok, pngBytes(t, 8, 8)).json(t)["id"].(string)
	at := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	r := e.jsonBody(t, http.MethodPost, "/api/v1/statuses", tok, map[string]any{
		"status": "later", "scheduled_at": at.Format(time.RFC3339), "media_ids": []string{m}, "visibility": "unlisted",
	})
	if r.code != http.StatusOK {
		t.Fatalf("%d %s", r.code, r.body)
	}
	sc := r.json(t)
	sameKeys(t, "scheduled status", sc, fixture(t, "scheduled_status.json"))
	if sc["scheduled_at"] != at.Format("2006-01-02T15:04:05.000Z") || sc["params"].(map[string]any)["text"] != "later" ||
		sc["params"].(map[string]any)["visibility"] != "unlisted" {
		t.Errorf("scheduled status: %s", r.body)
	}
	if n, _ := e.store.CountStatuses(context.Background(), "news", nil); n != 0 {
		t.Errorf("a scheduled status was published now")
	}
	if p := e.jobStats(t).Pending; p != 1 {
		t.Errorf("%d pending jobs, want the scheduled one", p)
	}
}

func TestAccountStatusesPaging(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	var ids []string
	for i := range 5 {
		ids = append(ids, e.post(t, tok, url.Values{"status": {fmt.Sprintf("post %d", i)}}))
	}
	private := e.post(t, tok, url.Values{"status": {"followers only"}, "visibility": {"private"}})

	r := e.get(t, "/api/v1/accounts/news/statuses?limit=2&exclude_replies=true", "")
	l := r.list(t)
	if len(l) != 2 || l[0]["id"] != ids[4] || l[1]["id"] != ids[3] {
		t.Fatalf("first page: %s", r.body)
	}
	link := r.header.Get("Link")
	next := regexp.MustCompile(`<([^>]+)>; rel="next"`).FindStringSubmatch(link)
	prev := regexp.MustCompile(`<([^>]+)>; rel="prev"`).FindStringSubmatch(link)
	if next == nil || prev == nil || !strings.Contains(next[1], "max_id="+ids[3]) || !strings.Contains(prev[1], "min_id="+ids[4]) ||
		!strings.Contains(next[1], "exclude_replies=true") {
		t.Fatalf("Link %q", link)
	}
	if l := e.get(t, next[1], "").list(t); len(l) != 2 || l[0]["id"] != ids[2] || l[1]["id"] != ids[1] {
		t.Errorf("next page: %v", l)
	}
	tests := []struct {
		name, query, token string
		want               []string
	}{
		{"since_id", "since_id=" + ids[2] + "&limit=40", "", []string{ids[4], ids[3]}},
		{"min_id", "min_id=" + ids[0] + "&limit=2", "", []string{ids[2], ids[1]}},
		{"limit above 40", "limit=1000", "", []string{ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"owner sees private", "limit=1", tok, []string{private}},
		{"others do not", "limit=1", e.token(t, "mayor", "read"), []string{ids[4]}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.get(t, "/api/v1/accounts/news/statuses?"+tt.query, tt.token)
			var got []string
			for _, s := range r.list(t) {
				got = append(got, s["id"].(string))
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if r := e.get(t, "/api/v1/statuses/"+private, ""); r.code != http.StatusNotFound {
		t.Errorf("private status to anonymous: %d", r.code)
	}
	if r := e.get(t, "/api/v1/accounts/nobody/statuses", ""); r.code != http.StatusNotFound {
		t.Errorf("unknown account: %d", r.code)
	}
	if r := e.get(t, "/api/v1/timelines/home?limit=2", tok); len(r.list(t)) != 2 || r.header.Get("Link") == "" {
		t.Errorf("home timeline: %s", r.body)
	}
	// Someone else's status cannot be edited, deleted or pinned.
	mayor := e.token(t, "mayor", "read write")
	for _, rq := range []request{
		{method: http.MethodPut, path: "/api/v1/statuses/" + ids[0], token: mayor, contentType: "application/json", body: []byte(`{"status":"mine"}`)},
		{method: http.MethodDelete, path: "/api/v1/statuses/" + ids[0], token: mayor},
		{method: http.MethodPost, path: "/api/v1/statuses/" + ids[0] + "/pin", token: mayor},
		{method: http.MethodGet, path: "/api/v1/statuses/" + ids[0] + "/source", token: mayor},
		{method: http.MethodGet, path: "/api/v1/passerelle/statuses/" + ids[0] + "/delivery", token: mayor},
	} {
		if r := e.do(t, rq); r.code != http.StatusNotFound || r.errorText(t) != "Record not found" {
			t.Errorf("%s %s by another account: %d %s", rq.method, rq.path, r.code, r.body)
		}
	}
}

func TestStatusContext(t *testing.T) {
	e := newEnv(t, envOptions{})
	tok := e.token(t, "news", "read write")
	first := e.post(t, tok, url.Values{"status": {"1/2"}})
	second := e.post(t, tok, url.Values{"status": {"2/2"}, "in_reply_to_id": {first}})
	r := e.get(t, "/api/v1/statuses/"+second, tok)
	if st := r.json(t); st["in_reply_to_id"] != first || st["in_reply_to_account_id"] != "news" {
		t.Errorf("reply: %s", r.body)
	}
	c := e.get(t, "/api/v1/statuses/"+second+"/context", tok).json(t)
	if a := c["ancestors"].([]any); len(a) != 1 || a[0].(map[string]any)["id"] != first {
		t.Errorf("context: %v", c)
	}
}
