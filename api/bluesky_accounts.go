package api

import (
	"html"
	"strings"
	"time"

	"github.com/passerelle/passerelle/sanitize"
	"github.com/passerelle/passerelle/storage"
)

// Bluesky accounts, as the Mastodon entities the comms team's apps show:
// the accounts whose replies, mentions, quotes, likes, reposts and
// follows the Bluesky mirror reads back (package atproto, inbox.go). Their
// profile's actor id is their DID. The entity's id and acct are the
// handle (alice.bsky.social: no "@", which no fediverse acct lacks); its
// url is the profile on bsky.app and its uri at://DID; a profile field
// named "Bluesky" links to the profile; avatar, name and bio are those of
// the Bluesky profile (the bio sanitised).

// blueskyField is the name of the profile field that marks a Bluesky
// account.
const blueskyField = "Bluesky"

// isBlueskyActor reports whether a remote profile is a Bluesky account.
func isBlueskyActor(actorID string) bool { return strings.HasPrefix(actorID, "did:") }

// blueskyAccount builds the Account of a Bluesky account.
func (s *Server) blueskyAccount(p storage.RemoteProfile) Account {
	avatar := s.set.BaseURL + "/static/avatar.png"
	if strings.HasPrefix(p.AvatarURL, "https://") || strings.HasPrefix(p.AvatarURL, "http://") {
		avatar = p.AvatarURL
	}
	header := s.set.BaseURL + "/static/header.png"
	profile := p.URL
	if profile == "" {
		profile = "https://bsky.app/profile/" + p.ActorID
	}
	link := `<a href="` + html.EscapeString(profile) + `" rel="nofollow noopener noreferrer" target="_blank">@` + html.EscapeString(p.Acct) + `</a>`
	return Account{
		ID: p.Acct, Username: p.Acct, Acct: p.Acct, DisplayName: sanitize.Name(p.DisplayName, sanitize.MaxNameGraphemes),
		CreatedAt: timeString(p.UpdatedAt.UTC().Truncate(24 * time.Hour)),
		Note:      sanitize.HTML(p.Summary),
		URL:       profile, URI: "at://" + p.ActorID,
		Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header,
		Emojis: []any{}, Roles: []any{}, Fields: []Field{{Name: blueskyField, Value: link}},
	}
}
