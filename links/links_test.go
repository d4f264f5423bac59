package links

import "testing"

func TestSite(t *testing.T) {
	s := New("https://social.city.example/", "City.Example")
	tests := []struct{ name, got, want string }{
		{"base", s.Base(), "https://social.city.example"},
		{"handle", s.Handle("News"), "news@city.example"},
		{"actor", s.Actor("News"), "https://social.city.example/users/news"},
		{"profile", s.Profile("news"), "https://social.city.example/@news"},
		{"followers", s.Followers("news"), "https://social.city.example/users/news/followers"},
		{"featured", s.Featured("news"), "https://social.city.example/users/news/collections/featured"},
		{"note", s.Note("news", 42), "https://social.city.example/users/news/statuses/42"},
		{"note url", s.NoteURL("news", 42), "https://social.city.example/@news/42"},
		{"media png", s.Media(7, "image/png"), "https://social.city.example/media/7.png"},
		{"media video", s.Media(7, "video/mp4"), "https://social.city.example/media/7.mp4"},
		{"media unknown type", s.Media(7, "application/zip"), "https://social.city.example/media/7"},
		{"video poster", s.MediaPoster(7), "https://social.city.example/media/7/poster.jpg"},
		{"tag", s.Tag("Mairie"), "https://social.city.example/tags/mairie"},
		{"instance actor", s.InstanceActor(), "https://social.city.example/actor"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestParse(t *testing.T) {
	s := New("https://social.city.example", "city.example")
	notes := []struct {
		iri     string
		account string
		id      int64
		ok      bool
	}{
		{s.Note("news", 42), "news", 42, true},
		{"https://social.city.example/users/news/statuses/042", "", 0, false},
		{"https://social.city.example/users/news/statuses/0", "", 0, false},
		{"https://social.city.example/users/news/statuses/42/activity", "", 0, false},
		{"https://social.city.example/users/a/b/statuses/1", "", 0, false},
		{"https://other.example/users/news/statuses/42", "", 0, false},
		{"https://social.city.example/users/news", "", 0, false},
	}
	for _, tc := range notes {
		a, id, ok := s.ParseNote(tc.iri)
		if a != tc.account || id != tc.id || ok != tc.ok {
			t.Errorf("ParseNote(%q) = %q, %d, %v", tc.iri, a, id, ok)
		}
	}
	actors := []struct {
		iri, account string
		ok           bool
	}{
		{s.Actor("news"), "news", true},
		{"https://social.city.example/users/news/followers", "", false},
		{"https://social.city.example/users/", "", false},
		{"https://social.city.example/users/news#main-key", "", false},
		{"https://other.example/users/news", "", false},
	}
	for _, tc := range actors {
		a, ok := s.ParseActor(tc.iri)
		if a != tc.account || ok != tc.ok {
			t.Errorf("ParseActor(%q) = %q, %v", tc.iri, a, ok)
		}
	}
}
