package api

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
)

// multipartSeed is a multipart body with fields.
func multipartSeed(fields ...string) (string, []byte) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.SetBoundary("fuzzboundary")
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// FuzzStatusParams reads POST /api/v1/statuses parameters as the handler
// does (query string, then a form, JSON or multipart body), then the
// draft, the interaction policy, the scheduled date and the media
// attributes: nothing panics, and every refusal is a client error.
func FuzzStatusParams(f *testing.F) {
	form := "application/x-www-form-urlencoded"
	f.Add("", form, []byte("status=Hello+%23fediverse&visibility=public&media_ids[]=1&media_ids[]=2&sensitive=true&language=fr"))
	f.Add("status=x", form, []byte("interaction_policy[can_reply][always][0]=author&quote_approval_policy=followers"))
	f.Add("", form, []byte("status=x&in_reply_to_id=12&scheduled_at=2030-01-02T03:04:05Z&poll[options][]=a"))
	f.Add("", form, []byte("media_attributes[][id]=1&media_attributes[][description]=alt&media_attributes[][id]=2&media_ids[0]=3"))
	f.Add("", form, []byte("status=%zz"))
	f.Add("", "application/json", []byte(`{"status":"Hello","media_ids":["1",2,true,null],"sensitive":"1","visibility":"unlisted"}`))
	f.Add("", "application/json", []byte(`{"status":"x","interaction_policy":{"can_reply":{"automatic_approval":["author","followers"]},"can_quote":{"always":["author"]}}}`))
	f.Add("", "application/json", []byte(`{"media_attributes":[{"id":"1","focus":"0.5,-0.5"}],"scheduled_at":"2030-01-02"}`))
	f.Add("", "application/json", []byte(`[1,2,3]`))
	f.Add("", "application/json", []byte(`{"status":`))
	ct, body := multipartSeed("status", "Hello", "media_ids[]", "1", "visibility", "private")
	f.Add("", ct, body)
	f.Add("", "multipart/form-data; boundary=x", []byte("--x\r\nContent-Disposition: form-data; name=\"status\"\r\n\r\nhi\r\n--x--"))
	f.Fuzz(func(t *testing.T, query, contentType string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/statuses", bytes.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", contentType)
		p, err := parseParams(httptest.NewRecorder(), r)
		if err != nil {
			clientError(t, err)
			return
		}
		d, err := draft(p, nil)
		if err == nil {
			err = interactionPolicyParams(p, &d)
		}
		if err != nil {
			clientError(t, err)
		}
		if at := p.str("scheduled_at"); at != "" {
			if _, err := parseScheduledAt(at); err != nil {
				clientError(t, err)
			}
		}
		for _, attr := range p.objects("media_attributes") {
			_ = attr["id"] + attr["description"] + attr["focus"]
		}
		p.list("media_ids")
		p.has("poll")
	})
}

// clientError fails unless err is answered with a 4xx status.
func clientError(t *testing.T, err error) {
	t.Helper()
	var ae *apiError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ae):
		if ae.code < 400 || ae.code >= 500 {
			t.Fatalf("error %v answered %d", err, ae.code)
		}
	case errors.As(err, &mbe):
	default:
		t.Fatalf("error %T %v is not a client error (it would be answered 500)", err, err)
	}
}
