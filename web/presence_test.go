package web_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// TestProfileShowsBoosts: the profile page lists the account's boosts
// of public posts among its own posts (remote ones with their author,
// their content as sanitised when received); boosts of posts that are
// not public are not shown.
func TestProfileShowsBoosts(t *testing.T) {
	s := newSite(t, siteOptions{posts: 2})
	ctx := context.Background()
	bob := "https://remote.example/users/bob"
	if err := s.store.UpsertRemoteProfile(ctx, storage.RemoteProfile{ActorID: bob, Acct: "bob@remote.example", Domain: "remote.example",
		URL: "https://remote.example/@bob", UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	post := func(id int64, name, visibility string) storage.RemoteStatus {
		rs, _, err := s.store.InsertRemoteStatus(ctx, storage.RemoteStatus{ID: id, NoteID: bob + "/statuses/" + name, ActorID: bob,
			URL: "https://remote.example/@bob/" + name, ContentHTML: "<p>River " + name + "</p>", Visibility: visibility, CreatedAt: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	boost := func(id int64, rs storage.RemoteStatus) {
		if _, _, err := s.store.PutOwnReaction(ctx, storage.OwnReaction{ID: id, Account: "news", Kind: storage.NotificationReblog,
			ObjectURI: rs.NoteID, RemoteStatusID: rs.ID, ActivityID: "a" + rs.NoteID, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	future := time.Now().Add(time.Hour).UnixMilli() << 16 // after the site's posts
	boost(future, post(1, "rising", storage.VisibilityPublic))
	boost(future+1, post(2, "unlisted", storage.VisibilityUnlisted))
	resp, err := http.Get(s.url + "/@news")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	page := string(b)
	i := strings.Index(page, "River rising")
	if i < 0 || !strings.Contains(page, `Boosted from <a href="https://remote.example/@bob" rel="nofollow noopener">bob@remote.example</a>`) {
		t.Fatalf("the profile page does not show the boost of bob's post:\n%s", page)
	}
	if j := strings.Index(page, "Public post number 2"); j < 0 || j < i {
		t.Errorf("the boost (newest) is not listed before the posts")
	}
	if strings.Contains(page, "River unlisted") {
		t.Error("the profile page shows the boost of an unlisted post")
	}
}
