package atproto

import (
	"testing"

	"github.com/passerelle/passerelle/storage"
)

// TestNotMirrored: followers-only and direct statuses, and replies to
// fediverse posts, never go to Bluesky.
func TestNotMirrored(t *testing.T) {
	for _, tc := range []struct {
		name   string
		st     storage.Status
		reason string
	}{
		{"public", storage.Status{Visibility: storage.VisibilityPublic}, ""},
		{"unlisted", storage.Status{Visibility: storage.VisibilityUnlisted}, ""},
		{"reply to our own post", storage.Status{Visibility: storage.VisibilityPublic, InReplyToID: 7}, ""},
		{"followers-only", storage.Status{Visibility: storage.VisibilityPrivate}, "followers-only posts are not mirrored to Bluesky"},
		{"direct", storage.Status{Visibility: storage.VisibilityDirect}, "direct posts are not mirrored to Bluesky"},
		{"reply to a fediverse post", storage.Status{Visibility: storage.VisibilityPublic, InReplyToRemoteID: 9,
			InReplyToURI: "https://remote.example/notes/1"}, "replies to fediverse posts are not mirrored to Bluesky"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := notMirrored(tc.st); got != tc.reason {
				t.Errorf("notMirrored = %q, want %q", got, tc.reason)
			}
		})
	}
}
