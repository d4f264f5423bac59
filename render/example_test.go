package render_test

import (
	"context"
	"fmt"

	"github.com/passerelle/passerelle/render"
)

func ExampleText() {
	res := render.Text(context.Background(), "New opening hours: https://city.example/hours #Library", render.Options{
		TagURLPrefix: "https://social.city.example/tags/",
		LocalDomain:  "city.example",
	})
	fmt.Println(res.HTML)
	fmt.Println(res.Tags[0].URL, res.Links)
	// Output:
	// <p>New opening hours: <a href="https://city.example/hours" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="">city.example/hours</span><span class="invisible"></span></a> <a href="https://social.city.example/tags/library" class="mention hashtag" rel="tag">#<span>Library</span></a></p>
	// https://social.city.example/tags/library [https://city.example/hours]
}

func ExampleCountCharacters() {
	fmt.Println(render.CountCharacters("Hi @alice@remote.example, see https://example.com/a/long/path 👩‍👩‍👧"))
	// Output: 40
}
