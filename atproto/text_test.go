package atproto

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// span is a facet as a test expects it: the exact text it covers.
type span struct {
	kind  FacetKind
	text  string // what Text[Start:End] must be
	value string
}

// checkFacets verifies that every facet lies on UTF-8 boundaries of the
// final text and slices exactly the expected text.
func checkFacets(t *testing.T, got Text, want []span) {
	t.Helper()
	if len(got.Facets) != len(want) {
		t.Fatalf("facets = %+v, want %d: %+v (text %q)", got.Facets, len(want), want, got.Text)
	}
	for i, f := range got.Facets {
		if f.Start < 0 || f.End > len(got.Text) || f.Start >= f.End {
			t.Fatalf("facet %d [%d,%d) out of %d bytes", i, f.Start, f.End, len(got.Text))
		}
		if !utf8.RuneStart(got.Text[f.Start]) || (f.End < len(got.Text) && !utf8.RuneStart(got.Text[f.End])) {
			t.Errorf("facet %d [%d,%d) is not on character boundaries", i, f.Start, f.End)
		}
		if s := got.Text[f.Start:f.End]; s != want[i].text || f.Kind != want[i].kind || f.Value != want[i].value {
			t.Errorf("facet %d = kind %d %q value %q, want kind %d %q value %q", i, f.Kind, s, f.Value, want[i].kind, want[i].text, want[i].value)
		}
	}
}

func TestCompose(t *testing.T) {
	opts := ComposeOptions{
		LocalDomain: "city.example",
		Handles:     map[string]string{"alice@social.example": "alice.bsky.social", "events@city.example": "events.city.example"},
	}
	tests := []struct {
		name, text, warning string
		want                string
		facets              []span
	}{
		{
			name: "link with a query string and a hashtag",
			text: "Travaux rue Haute https://www.city.example/travaux?rue=haute&from=2025-01-02#plan #Mobilité",
			want: "Travaux rue Haute city.example/travaux?rue=haute… #Mobilité",
			facets: []span{
				{FacetLink, "city.example/travaux?rue=haute…", "https://www.city.example/travaux?rue=haute&from=2025-01-02#plan"},
				{FacetTag, "#Mobilité", "Mobilité"},
			},
		},
		{
			name:   "short link shown without its scheme",
			text:   "See https://city.example/a.",
			want:   "See city.example/a.",
			facets: []span{{FacetLink, "city.example/a", "https://city.example/a"}},
		},
		{
			name: "ZWJ family, flags and skin tones before the facets",
			text: "👨‍👩‍👧‍👦🇫🇷🇪🇺 👋🏽 #fête https://city.example/f 👍🏿",
			want: "👨‍👩‍👧‍👦🇫🇷🇪🇺 👋🏽 #fête city.example/f 👍🏿",
			facets: []span{
				{FacetTag, "#fête", "fête"},
				{FacetLink, "city.example/f", "https://city.example/f"},
			},
		},
		{
			name: "combining accents",
			text: "Cafe\u0301 #cafe\u0301 https://city.example/cafe\u0301",
			want: "Cafe\u0301 #cafe\u0301 city.example/cafe\u0301",
			facets: []span{
				{FacetTag, "#cafe\u0301", "cafe\u0301"},
				{FacetLink, "city.example/cafe\u0301", "https://city.example/cafe\u0301"},
			},
		},
		{
			name: "CJK",
			text: "市役所からのお知らせ #防災 https://city.example/jp?q=地震 詳細はこちら",
			want: "市役所からのお知らせ #防災 city.example/jp?q=地震 詳細はこちら",
			facets: []span{
				{FacetTag, "#防災", "防災"},
				{FacetLink, "city.example/jp?q=地震", "https://city.example/jp?q=地震"},
			},
		},
		{
			name: "right-to-left text",
			text: "مرحبا بكم في المدينة #بلدية https://city.example/ar?lang=ar شكرا",
			want: "مرحبا بكم في المدينة #بلدية city.example/ar?lang=ar شكرا",
			facets: []span{
				{FacetTag, "#بلدية", "بلدية"},
				{FacetLink, "city.example/ar?lang=ar", "https://city.example/ar?lang=ar"},
			},
		},
		{
			name:   "Hebrew with a hashtag",
			text:   "שלום #עירייה",
			want:   "שלום #עירייה",
			facets: []span{{FacetTag, "#עירייה", "עירייה"}},
		},
		{
			name: "mentions: mapped, local mapped, unmapped, bare local",
			text: "Hello @alice@social.example, @events, @bob@other.example and @news!",
			want: "Hello @alice.bsky.social, @events.city.example, @bob@other.example and @news@city.example!",
			facets: []span{
				{FacetMention, "@alice.bsky.social", "alice.bsky.social"},
				{FacetMention, "@events.city.example", "events.city.example"},
			},
		},
		{
			name: "a Bluesky handle written as a mention (a Mastodon app answering a Bluesky account)",
			text: "@Alice.Test merci ! Voir aussi @carol.bsky.social.",
			want: "@Alice.Test merci ! Voir aussi @carol.bsky.social.",
			facets: []span{
				{FacetMention, "@Alice.Test", "alice.test"},
				{FacetMention, "@carol.bsky.social", "carol.bsky.social"},
			},
		},
		{
			name:    "content warning leads the post",
			text:    "Details #flood",
			warning: "Flood alert",
			want:    "CW: Flood alert\n\nDetails #flood",
			facets:  []span{{FacetTag, "#flood", "flood"}},
		},
		{
			name:   "a hashtag over 64 graphemes is text only",
			text:   "#" + strings.Repeat("a", 65) + " #ok",
			want:   "#" + strings.Repeat("a", 65) + " #ok",
			facets: []span{{FacetTag, "#ok", "ok"}},
		},
		{
			name:   "a '#' inside a URL is part of the URL",
			text:   "https://city.example/page#section",
			want:   "city.example/page#section",
			facets: []span{{FacetLink, "city.example/page#section", "https://city.example/page#section"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Compose(tt.text, tt.warning, opts)
			if got.Text != tt.want {
				t.Fatalf("text = %q\n want %q", got.Text, tt.want)
			}
			checkFacets(t, got, tt.facets)
		})
	}
}

// checkRecords verifies the limits of every record and that, joined
// again, they hold all of the original's words in order.
func checkRecords(t *testing.T, orig Text, recs []Text, maxG, maxB int) {
	t.Helper()
	for i, r := range recs {
		if g := Graphemes(r.Text); g > maxG || len(r.Text) > maxB {
			t.Errorf("record %d: %d graphemes, %d bytes; limits %d, %d", i, g, len(r.Text), maxG, maxB)
		}
		if r.Text != strings.TrimSpace(r.Text) || r.Text == "" {
			t.Errorf("record %d = %q: empty or not trimmed", i, r.Text)
		}
		if !utf8.ValidString(r.Text) {
			t.Errorf("record %d is not valid UTF-8", i)
		}
	}
	var joined []string
	for _, r := range recs {
		joined = append(joined, r.Text)
	}
	if strings.Join(strings.Fields(strings.Join(joined, " ")), "") != strings.Join(strings.Fields(orig.Text), "") {
		t.Errorf("records do not add up to the original:\n%q\n%q", joined, orig.Text)
	}
	// Every facet of the original is in exactly one record, whole.
	n := 0
	for _, r := range recs {
		n += len(r.Facets)
	}
	if n != len(orig.Facets) {
		t.Errorf("%d facets in the records, %d in the original", n, len(orig.Facets))
	}
}

func TestSplit(t *testing.T) {
	sentence := "Le conseil municipal se réunit jeudi à la mairie. " // 50 characters
	tests := []struct {
		name       string
		text       Text
		maxG, maxB int
		records    int
		firstEnds  string // the first record's last characters
		check      func(t *testing.T, recs []Text)
	}{
		{
			name: "fits", text: Text{Text: "Bonjour."}, maxG: 300, maxB: 3000, records: 1, firstEnds: "Bonjour.",
		},
		{
			name: "700 characters: cut after sentences",
			text: Text{Text: strings.Repeat(sentence, 14)},
			maxG: 300, maxB: 3000, records: 3, firstEnds: "mairie.",
		},
		{
			name: "no sentence end: cut between words",
			text: Text{Text: strings.Repeat("mot ", 100)},
			maxG: 50, maxB: 3000, records: 9, firstEnds: "mot",
			check: func(t *testing.T, recs []Text) {
				for _, r := range recs {
					if strings.Contains(r.Text, "mo ") || strings.HasSuffix(r.Text, "m") {
						t.Errorf("a word was cut: %q", r.Text)
					}
				}
			},
		},
		{
			name: "sentence too early: word boundary instead",
			text: Text{Text: "Oui. " + strings.Repeat("abc ", 40)},
			maxG: 60, maxB: 3000, records: 3,
			check: func(t *testing.T, recs []Text) {
				if recs[0].Text == "Oui." {
					t.Errorf("cut after a sentence of 4 characters in a 60-character record")
				}
			},
		},
		{
			name: "ZWJ emoji: the byte limit binds before the grapheme limit",
			text: Text{Text: strings.Repeat("👨‍👩‍👧‍👦 ", 200)}, // 25+1 bytes, 2 graphemes each
			maxG: 300, maxB: 3000, records: 2,
			check: func(t *testing.T, recs []Text) {
				for _, r := range recs {
					if strings.Count(r.Text, "👨‍👩‍👧‍👦") != strings.Count(r.Text, "👦") {
						t.Errorf("a family emoji was cut: %q", r.Text)
					}
				}
			},
		},
		{
			name: "flags and skin tones are never cut",
			text: Text{Text: strings.Repeat("🇫🇷🇪🇺👋🏽", 120)},
			maxG: 300, maxB: 3000, records: 2,
			check: func(t *testing.T, recs []Text) {
				for _, r := range recs {
					if Graphemes(r.Text)%3 != 0 || !strings.HasPrefix(r.Text, "🇫🇷") {
						t.Errorf("a flag or skin tone was cut: %d graphemes, starts %q", Graphemes(r.Text), r.Text[:8])
					}
				}
			},
		},
		{
			name: "combining accents stay with their letter",
			text: Text{Text: strings.Repeat("e\u0301", 450)},
			maxG: 300, maxB: 3000, records: 2,
			check: func(t *testing.T, recs []Text) {
				if Graphemes(recs[0].Text) != 300 || !strings.HasSuffix(recs[0].Text, "\u0301") {
					t.Errorf("first record: %d graphemes, ends %q", Graphemes(recs[0].Text), recs[0].Text[len(recs[0].Text)-3:])
				}
			},
		},
		{
			name: "CJK without spaces: cut after 。 or between ideographs",
			text: Text{Text: strings.Repeat("市役所は本日休業です。", 40)},
			maxG: 300, maxB: 3000, records: 2, firstEnds: "。",
		},
		{
			name: "right-to-left",
			text: Text{Text: strings.Repeat("مرحبا بكم في المدينة. ", 30)},
			maxG: 300, maxB: 3000, records: 3, firstEnds: "المدينة.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := Split(tt.text, tt.maxG, tt.maxB)
			if len(recs) != tt.records {
				t.Fatalf("%d records, want %d: %+v", len(recs), tt.records, recs)
			}
			if tt.firstEnds != "" && !strings.HasSuffix(recs[0].Text, tt.firstEnds) {
				t.Errorf("first record ends %q, want …%q", lastRunes(recs[0].Text, 12), tt.firstEnds)
			}
			checkRecords(t, tt.text, recs, tt.maxG, tt.maxB)
			if tt.check != nil {
				tt.check(t, recs)
			}
		})
	}
}

func lastRunes(s string, n int) string {
	r := []rune(s)
	return string(r[max(0, len(r)-n):])
}

func TestSplitKeepsFacetsWhole(t *testing.T) {
	opts := ComposeOptions{Handles: map[string]string{"alice@social.example": "alice.bsky.social"}}
	var b strings.Builder
	for i := range 12 {
		b.WriteString("Étape 👨🏽‍🚒 n° ")
		b.WriteString(strings.Repeat("x", i))
		b.WriteString(" #Sécurité https://city.example/plan?etape=")
		b.WriteString(strings.Repeat("9", i))
		b.WriteString("&lang=fr avec @alice@social.example ")
	}
	src := Compose(b.String(), "", opts)
	for _, maxG := range []int{60, 100, 300} {
		recs := Split(src, maxG, MaxBytes)
		checkRecords(t, src, recs, maxG, MaxBytes)
		for i, r := range recs {
			for _, f := range r.Facets {
				s := r.Text[f.Start:f.End]
				ok := false
				switch f.Kind {
				case FacetLink:
					ok = strings.HasPrefix(s, "city.example/plan?etape=") && strings.HasPrefix(f.Value, "https://city.example/plan?etape=")
				case FacetTag:
					ok = s == "#Sécurité" && f.Value == "Sécurité"
				case FacetMention:
					ok = s == "@alice.bsky.social"
				}
				if !ok {
					t.Errorf("max %d, record %d: facet %+v slices %q", maxG, i, f, s)
				}
			}
		}
	}
}

func TestSplitEntityLongerThanARecord(t *testing.T) {
	long := Text{Text: "#" + strings.Repeat("é", 80), Facets: []Facet{{Kind: FacetTag, Start: 0, End: 1 + 160, Value: strings.Repeat("é", 80)}}}
	recs := Split(long, 50, 3000)
	if len(recs) != 2 || Graphemes(recs[0].Text) != 50 {
		t.Fatalf("records = %+v", recs)
	}
	for _, r := range recs {
		if len(r.Facets) != 0 {
			t.Errorf("a cut facet was kept: %+v", r.Facets)
		}
	}
}

func TestTruncate(t *testing.T) {
	long := Compose(strings.Repeat("Une phrase assez longue pour déborder. ", 12)+"#fin https://city.example/x", "", ComposeOptions{})
	suffix := Text{Text: "…"}
	got, truncated := Truncate(long, suffix, MaxGraphemes, MaxBytes)
	if !truncated || Graphemes(got.Text) > MaxGraphemes || !strings.HasSuffix(got.Text, "déborder.…") && !strings.HasSuffix(got.Text, "…") {
		t.Fatalf("Truncate = %q (%d graphemes), %v", got.Text, Graphemes(got.Text), truncated)
	}
	if strings.Contains(got.Text, " …") || strings.HasSuffix(strings.TrimSuffix(got.Text, "…"), " ") {
		t.Errorf("space before the ellipsis: %q", got.Text)
	}
	if len(got.Facets) != 0 {
		t.Errorf("facets past the cut kept: %+v", got.Facets)
	}

	// The suffix carries its own facet, shifted to its place.
	link := Text{Text: "…\ncity.example/@news/1", Facets: []Facet{{Kind: FacetLink, Start: len("…\n"), End: len("…\ncity.example/@news/1"), Value: "https://city.example/@news/1"}}}
	got, _ = Truncate(long, link, MaxGraphemes, MaxBytes)
	checkFacets(t, got, []span{{FacetLink, "city.example/@news/1", "https://city.example/@news/1"}})
	if Graphemes(got.Text) > MaxGraphemes {
		t.Errorf("%d graphemes", Graphemes(got.Text))
	}

	short := Compose("Court. #ok", "", ComposeOptions{})
	if got, truncated := Truncate(short, suffix, MaxGraphemes, MaxBytes); truncated || got.Text != short.Text {
		t.Errorf("a short text was truncated: %q", got.Text)
	}
}
