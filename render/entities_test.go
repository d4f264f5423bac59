package render

import "testing"

func TestEntities(t *testing.T) {
	text := "Voir https://www.city.example/a?b=1#c #Fête et @news@city.example, @alice"
	type want struct {
		kind       EntityKind
		text, name string
		domain     string
	}
	wants := []want{
		{EntityURL, "https://www.city.example/a?b=1#c", "https://www.city.example/a?b=1#c", ""},
		{EntityTag, "#Fête", "Fête", ""},
		{EntityMention, "@news@city.example", "news", "city.example"},
		{EntityMention, "@alice", "alice", ""},
	}
	got := Entities(Sanitize(text))
	if len(got) != len(wants) {
		t.Fatalf("Entities = %+v", got)
	}
	for i, e := range got {
		w := wants[i]
		if e.Kind != w.kind || text[e.Start:e.End] != w.text || e.Name != w.name || e.Domain != w.domain {
			t.Errorf("entity %d = %+v (%q), want %+v", i, e, text[e.Start:e.End], w)
		}
	}
}

func TestShortURL(t *testing.T) {
	tests := []struct{ url, want string }{
		{"https://city.example/a", "city.example/a"},
		{"http://www.city.example/", "city.example/"},
		{"https://city.example/travaux?rue=haute&etape=2", "city.example/travaux?rue=haute…"},
		{"https://city.example/é", "city.example/é"},
	}
	for _, tt := range tests {
		if got := ShortURL(tt.url); got != tt.want {
			t.Errorf("ShortURL(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}
