package federation

import (
	"context"
	"testing"
	"time"

	"github.com/go-fed/activity/streams"
	"github.com/go-fed/activity/streams/vocab"
)

// TestEncodeVideoAttachment: a video is a Video with its mediaType, url,
// alt text as name, size, duration (xsd:duration), blurhash and poster
// as icon; go-fed reads it back as a Video with that duration.
func TestEncodeVideoAttachment(t *testing.T) {
	n := codecNote()
	n.Attachments = []NoteAttachment{{URL: codecBase + "/media/3.mp4", MediaType: "video/mp4", Name: "The mayor speaks",
		Blurhash: "LEHV6nWB2yk8pyo0adR*.7kCMdnj", Width: 1280, Height: 720,
		Duration: 92500 * time.Millisecond, Poster: codecBase + "/media/3/poster.jpg"}}
	b, err := EncodeNote(n)
	if err != nil {
		t.Fatal(err)
	}
	m := asMap(t, b)
	atts, _ := m["attachment"].([]any)
	if len(atts) != 1 {
		t.Fatalf("attachment = %v", m["attachment"])
	}
	a := atts[0].(map[string]any)
	icon, _ := a["icon"].(map[string]any)
	for k, want := range map[string]any{"type": "Video", "mediaType": "video/mp4", "url": codecBase + "/media/3.mp4",
		"name": "The mayor speaks", "width": 1280.0, "height": 720.0, "duration": "PT93S", "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj"} {
		if a[k] != want {
			t.Errorf("%s = %v, want %v", k, a[k], want)
		}
	}
	if icon["type"] != "Image" || icon["url"] != codecBase+"/media/3/poster.jpg" || icon["mediaType"] != "image/jpeg" {
		t.Errorf("icon = %v", a["icon"])
	}

	typ, err := streams.ToType(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	note, ok := typ.(vocab.ActivityStreamsNote)
	if !ok || note.GetActivityStreamsAttachment() == nil || note.GetActivityStreamsAttachment().Len() != 1 {
		t.Fatalf("go-fed reads %T without one attachment", typ)
	}
	v := note.GetActivityStreamsAttachment().At(0).GetActivityStreamsVideo()
	if v == nil {
		t.Fatalf("attachment is not a Video for go-fed")
	}
	if d := v.GetActivityStreamsDuration(); d == nil || d.Get() != 93*time.Second {
		t.Errorf("duration read back as %v", d)
	}
}
