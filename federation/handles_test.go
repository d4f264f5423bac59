package federation

import (
	"fmt"
	"testing"

	"github.com/passerelle/passerelle/config"
)

func TestWithHandleFields(t *testing.T) {
	bsky := `<a href="https://bsky.app/profile/villedetest.bsky.social" target="_blank" rel="nofollow noopener me" translate="no">@villedetest.bsky.social</a>`
	x := `<a href="https://x.com/VilleDeTest" target="_blank" rel="nofollow noopener me" translate="no">@VilleDeTest</a>`
	web := FieldHTML{Name: "Website", ValueHTML: FieldValueHTML("https://www.city.example")}
	tests := []struct {
		name   string
		acc    config.Account
		fields []FieldHTML
		want   []FieldHTML
	}{
		{"no other handle", config.Account{}, []FieldHTML{web}, []FieldHTML{web}},
		{"notice handles", config.Account{Notice: config.Notice{XHandle: "@VilleDeTest", BlueskyHandle: "@VilleDeTest.bsky.social"}},
			[]FieldHTML{web}, []FieldHTML{web, {"Bluesky", bsky}, {"X", x}}},
		{"Bluesky from the mirror's identifier", config.Account{Bluesky: config.Bluesky{Identifier: "villedetest.bsky.social"}},
			nil, []FieldHTML{{"Bluesky", bsky}}},
		{"a DID identifier is no handle", config.Account{Bluesky: config.Bluesky{Identifier: "did:plc:abc"}}, nil, nil},
		{"already in a configured field", config.Account{Notice: config.Notice{XHandle: "@VilleDeTest"}},
			[]FieldHTML{{"Twitter", FieldValueHTML("@villedetest")}}, []FieldHTML{{"Twitter", FieldValueHTML("@villedetest")}}},
		{"at most four fields", config.Account{Notice: config.Notice{XHandle: "@VilleDeTest", BlueskyHandle: "villedetest.bsky.social"}},
			fields(3), append(fields(3), FieldHTML{"Bluesky", bsky})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := WithHandleFields(tc.acc, tc.fields)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

func fields(n int) []FieldHTML {
	out := make([]FieldHTML, n)
	for i := range out {
		out[i] = FieldHTML{Name: fmt.Sprintf("F%d", i), ValueHTML: "v"}
	}
	return out
}
