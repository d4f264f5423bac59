package links

import (
	"strconv"
	"strings"
)

// Site is the bridge's public base URL and the domain of its handles.
type Site struct {
	base         string // without a trailing slash
	handleDomain string // lower case
}

// New returns the Site at baseURL (its trailing slash dropped) whose
// handles are user@handleDomain.
func New(baseURL, handleDomain string) Site {
	return Site{base: strings.TrimRight(baseURL, "/"), handleDomain: strings.ToLower(handleDomain)}
}

// Base is the public base URL, without a trailing slash.
func (s Site) Base() string { return s.base }

// HandleDomain is the domain of our handles.
func (s Site) HandleDomain() string { return s.handleDomain }

// Handle is account's fediverse handle, without "@": news@city.example.
func (s Site) Handle(account string) string {
	return strings.ToLower(account) + "@" + s.handleDomain
}

// Actor is account's actor IRI.
func (s Site) Actor(account string) string { return s.base + "/users/" + strings.ToLower(account) }

// Profile is account's HTML profile page.
func (s Site) Profile(account string) string { return s.base + "/@" + strings.ToLower(account) }

// Followers is account's followers collection.
func (s Site) Followers(account string) string { return s.Actor(account) + "/followers" }

// Featured is account's featured (pinned posts) collection.
func (s Site) Featured(account string) string { return s.Actor(account) + "/collections/featured" }

// Note is the ActivityPub id of account's status id.
func (s Site) Note(account string, id int64) string {
	return s.Actor(account) + "/statuses/" + strconv.FormatInt(id, 10)
}

// NoteURL is the HTML permalink of account's status id.
func (s Site) NoteURL(account string, id int64) string {
	return s.Profile(account) + "/" + strconv.FormatInt(id, 10)
}

// Media is where media file id is served; its extension follows its type.
func (s Site) Media(id int64, mediaType string) string {
	ext := ""
	switch mediaType {
	case "image/jpeg":
		ext = ".jpg"
	case "image/png":
		ext = ".png"
	case "image/gif":
		ext = ".gif"
	case "image/webp":
		ext = ".webp"
	case "video/mp4":
		ext = ".mp4"
	}
	return s.base + "/media/" + strconv.FormatInt(id, 10) + ext
}

// MediaPoster is the URL of a video's poster frame (a JPEG).
func (s Site) MediaPoster(id int64) string {
	return s.base + "/media/" + strconv.FormatInt(id, 10) + "/poster.jpg"
}

// TagPrefix is what a tag's name follows in its page's URL.
func (s Site) TagPrefix() string { return s.base + "/tags/" }

// Tag is the page of hashtag name (without "#").
func (s Site) Tag(name string) string { return s.TagPrefix() + strings.ToLower(name) }

// InstanceActor is the IRI of the instance actor, which signs our GETs.
func (s Site) InstanceActor() string { return s.base + "/actor" }

// SharedInbox is the inbox of every account.
func (s Site) SharedInbox() string { return s.base + "/inbox" }

// ParseActor returns the account of an actor IRI of ours (as written by
// Actor, its name in lower case); false for any other IRI.
func (s Site) ParseActor(iri string) (account string, ok bool) {
	name, ok := strings.CutPrefix(iri, s.base+"/users/")
	if !ok || name == "" || strings.ContainsAny(name, "/?#") {
		return "", false
	}
	return name, true
}

// ParseNote returns the account and status id of a Note IRI of ours (as
// written by Note); false for any other IRI.
func (s Site) ParseNote(iri string) (account string, id int64, ok bool) {
	rest, ok := strings.CutPrefix(iri, s.base+"/users/")
	if !ok {
		return "", 0, false
	}
	account, idText, ok := strings.Cut(rest, "/statuses/")
	if !ok || account == "" || strings.ContainsAny(account, "/?#") {
		return "", 0, false
	}
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != idText {
		return "", 0, false
	}
	return account, id, true
}
