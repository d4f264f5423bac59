package api

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
)

// Mastodon's entities, as its API serialises them.

// Account is Mastodon's Account entity; Source and Role are set only for
// the CredentialAccount of verify_credentials.
type Account struct {
	ID              string  `json:"id"`
	Username        string  `json:"username"`
	Acct            string  `json:"acct"`
	DisplayName     string  `json:"display_name"`
	Locked          bool    `json:"locked"`
	Bot             bool    `json:"bot"`
	Discoverable    bool    `json:"discoverable"`
	Indexable       bool    `json:"indexable"`
	Group           bool    `json:"group"`
	CreatedAt       string  `json:"created_at"`
	Note            string  `json:"note"`
	URL             string  `json:"url"`
	URI             string  `json:"uri"`
	Avatar          string  `json:"avatar"`
	AvatarStatic    string  `json:"avatar_static"`
	Header          string  `json:"header"`
	HeaderStatic    string  `json:"header_static"`
	FollowersCount  int64   `json:"followers_count"`
	FollowingCount  int64   `json:"following_count"`
	StatusesCount   int64   `json:"statuses_count"`
	LastStatusAt    *string `json:"last_status_at"`
	HideCollections bool    `json:"hide_collections"`
	Noindex         bool    `json:"noindex"`
	Emojis          []any   `json:"emojis"`
	Roles           []any   `json:"roles"`
	Fields          []Field `json:"fields"`
	Source          *Source `json:"source,omitempty"`
	Role            *Role   `json:"role,omitempty"`
}

// Field is a profile field.
type Field struct {
	Name       string  `json:"name"`
	Value      string  `json:"value"`
	VerifiedAt *string `json:"verified_at"`
}

// Source is the plain-text profile a client edits.
type Source struct {
	Privacy             string  `json:"privacy"`
	Sensitive           bool    `json:"sensitive"`
	Language            string  `json:"language"`
	Note                string  `json:"note"`
	Fields              []Field `json:"fields"`
	FollowRequestsCount int64   `json:"follow_requests_count"`
	HideCollections     bool    `json:"hide_collections"`
	Discoverable        bool    `json:"discoverable"`
	Indexable           bool    `json:"indexable"`
}

// Role is the CredentialAccount's role (Mastodon's "everyone" role).
type Role struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Permissions string `json:"permissions"`
	Color       string `json:"color"`
	Highlighted bool   `json:"highlighted"`
}

// Status is Mastodon's Status entity.
type Status struct {
	ID                 string            `json:"id"`
	CreatedAt          string            `json:"created_at"`
	InReplyToID        *string           `json:"in_reply_to_id"`
	InReplyToAccountID *string           `json:"in_reply_to_account_id"`
	Sensitive          bool              `json:"sensitive"`
	SpoilerText        string            `json:"spoiler_text"`
	Visibility         string            `json:"visibility"`
	Language           *string           `json:"language"`
	URI                string            `json:"uri"`
	URL                string            `json:"url"`
	RepliesCount       int               `json:"replies_count"`
	ReblogsCount       int               `json:"reblogs_count"`
	FavouritesCount    int               `json:"favourites_count"`
	EditedAt           *string           `json:"edited_at"`
	Favourited         bool              `json:"favourited"`
	Reblogged          bool              `json:"reblogged"`
	Muted              bool              `json:"muted"`
	Bookmarked         bool              `json:"bookmarked"`
	Pinned             *bool             `json:"pinned,omitempty"`
	Content            *string           `json:"content,omitempty"` // nil with Text (deleted)
	Text               *string           `json:"text,omitempty"`
	Reblog             *Status           `json:"reblog"`
	Application        *StatusApp        `json:"application"` // null: made without an app (CLI, feeds, imports)
	Account            Account           `json:"account"`
	MediaAttachments   []MediaAttachment `json:"media_attachments"`
	Mentions           []Mention         `json:"mentions"`
	Tags               []Tag             `json:"tags"`
	Emojis             []any             `json:"emojis"`
	Card               any               `json:"card"`
	Poll               any               `json:"poll"`
}

// Mention is a Status::Mention.
type Mention struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	URL      string `json:"url"`
	Acct     string `json:"acct"`
}

// Tag is a Status::Tag.
type Tag struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

// MediaAttachment is Mastodon's MediaAttachment entity.
type MediaAttachment struct {
	ID               string    `json:"id"`
	Type             string    `json:"type"`
	URL              *string   `json:"url"`         // null while a video is processed
	PreviewURL       *string   `json:"preview_url"` // a video's poster`
	RemoteURL        *string   `json:"remote_url"`
	PreviewRemoteURL *string   `json:"preview_remote_url"`
	TextURL          *string   `json:"text_url"`
	Meta             MediaMeta `json:"meta"`
	Description      *string   `json:"description"`
	Blurhash         *string   `json:"blurhash"`
}

// MediaMeta is a MediaAttachment's meta: for images the original and
// small renditions; for videos also, as Mastodon, the top-level length,
// duration, fps, size, width, height and aspect (small is the poster).
type MediaMeta struct {
	Length   string    `json:"length,omitempty"`   // "0:01:28.65"
	Duration float64   `json:"duration,omitempty"` // seconds
	Size     string    `json:"size,omitempty"`
	Width    int       `json:"width,omitempty"`
	Height   int       `json:"height,omitempty"`
	Aspect   float64   `json:"aspect,omitempty"`
	Original ImageMeta `json:"original"`
	Small    ImageMeta `json:"small"`
	Focus    *Focus    `json:"focus,omitempty"`
}

// ImageMeta describes one rendition.
type ImageMeta struct {
	Width    int     `json:"width"`
	Height   int     `json:"height"`
	Size     string  `json:"size,omitempty"`
	Aspect   float64 `json:"aspect,omitempty"`
	Duration float64 `json:"duration,omitempty"` // a video's, in seconds
}

// Focus is the focal point, each coordinate in [-1, 1].
type Focus struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
}

// StatusSource is the text of a status for editing.
type StatusSource struct {
	ID          string `json:"id"`
	Text        string `json:"text"`
	SpoilerText string `json:"spoiler_text"`
}

// timeString formats a Mastodon datetime: UTC, milliseconds, "Z".
func timeString(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := timeString(t)
	return &s
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

// accountCreated is an account's creation date: when its key pair was
// made, truncated to the day as Mastodon does.
func (s *Server) accountCreated(ctx context.Context, name string) time.Time {
	s.createdMu.Lock()
	t, ok := s.created[name]
	s.createdMu.Unlock()
	if ok {
		return t
	}
	kp, err := s.store.GetKeyPair(ctx, name)
	if err != nil {
		return time.Unix(0, 0).UTC()
	}
	t = kp.CreatedAt.UTC().Truncate(24 * time.Hour)
	s.createdMu.Lock()
	s.created[name] = t
	s.createdMu.Unlock()
	return t
}

// assetURL is the public URL of an account's avatar or header: the
// configured URL, the file federation serves, or our placeholder.
func (s *Server) assetURL(name, kind, src string) string {
	switch {
	case strings.HasPrefix(src, "https://"), strings.HasPrefix(src, "http://"):
		return src
	case src != "":
		return s.links.Actor(name) + "/" + kind
	}
	return s.set.BaseURL + "/static/" + kind + ".png"
}

// accountEntity builds the Account of one of our accounts, with its
// counts; credential adds the source and role (verify_credentials).
func (s *Server) accountEntity(ctx context.Context, acc config.Account, credential bool) (Account, error) {
	name := strings.ToLower(acc.Username)
	followers, err := s.store.CountFollowers(ctx, name, storage.FollowerAccepted)
	if err != nil {
		return Account{}, err
	}
	statuses, err := s.store.CountStatuses(ctx, name, nil)
	if err != nil {
		return Account{}, err
	}
	var last *string
	if latest, err := s.store.ListStatuses(ctx, storage.StatusPage{Account: name, Limit: 1}); err != nil {
		return Account{}, err
	} else if len(latest) > 0 {
		d := latest[0].CreatedAt.UTC().Format("2006-01-02")
		last = &d
	}
	avatar := s.assetURL(name, "avatar", acc.Avatar)
	header := s.assetURL(name, "header", acc.Header)
	a := Account{
		ID: name, Username: name, Acct: name, DisplayName: acc.DisplayName,
		Locked:       acc.ManuallyApprovesFollowers,
		Bot:          acc.Type == "Service" || acc.Type == "Application",
		Group:        acc.Type == "Group",
		Discoverable: true, Indexable: true,
		CreatedAt: timeString(s.accountCreated(ctx, name)),
		Note:      s.fed.SummaryHTML(name),
		URL:       s.links.Profile(name), URI: s.links.Actor(name),
		Avatar: avatar, AvatarStatic: avatar, Header: header, HeaderStatic: header,
		FollowersCount: followers, StatusesCount: statuses, LastStatusAt: last,
		Emojis: []any{}, Roles: []any{}, Fields: []Field{},
	}
	for _, f := range acc.Fields {
		a.Fields = append(a.Fields, Field{Name: f.Name, Value: federation.FieldValueHTML(f.Value)})
	}
	if credential {
		pending, err := s.store.CountFollowers(ctx, name, storage.FollowerPending)
		if err != nil {
			return Account{}, err
		}
		src := &Source{
			Privacy: storage.VisibilityPublic, Note: acc.Summary, Fields: []Field{},
			FollowRequestsCount: pending, Discoverable: true, Indexable: true,
		}
		for _, f := range acc.Fields {
			src.Fields = append(src.Fields, Field{Name: f.Name, Value: f.Value})
		}
		a.Source = src
		a.Role = &Role{ID: "-99", Permissions: "0"}
	}
	return a, nil
}

// statusView renders statuses of one account for one viewer.
// StatusApp is the application a status was posted with, as Mastodon
// shows it on a status: its name and website.
type StatusApp struct {
	Name    string  `json:"name"`
	Website *string `json:"website"`
}

type statusView struct {
	s       *Server
	account Account
	owner   bool // the viewer is the author: pinned is shown
	// counts are the replies, boosts and favourites of the statuses
	// preloaded (a page); others are counted one by one.
	counts map[int64]storage.StatusCounts
	// viewer is the signed-in viewer ("" : none); reacted its boosts and
	// favourites of the statuses preloaded, by IRI.
	viewer  string
	reacted map[string][]string
	// apps are the attributions (member, app) of the statuses looked up
	// so far, preloaded with a page.
	apps map[int64]storage.StatusAttribution
}

// preload counts the interactions of a page of statuses in one go.
func (v *statusView) preload(ctx context.Context, rows []storage.Status) error {
	ids := make([]int64, len(rows))
	for i, st := range rows {
		ids[i] = st.ID
	}
	counts, err := v.s.store.StatusCounts(ctx, ids)
	if err != nil {
		return err
	}
	if v.counts == nil {
		v.counts = map[int64]storage.StatusCounts{}
	}
	for _, id := range ids {
		v.counts[id] = counts[id]
	}
	if err := v.loadApps(ctx, ids); err != nil {
		return err
	}
	if v.viewer == "" {
		return nil
	}
	uris := make([]string, len(rows))
	for i, st := range rows {
		uris[i] = v.s.links.Note(st.Account, st.ID)
	}
	kinds, err := v.s.store.OwnReactionKinds(ctx, v.viewer, uris)
	if err != nil {
		return err
	}
	if v.reacted == nil {
		v.reacted = map[string][]string{}
	}
	for _, u := range uris {
		v.reacted[u] = kinds[u]
	}
	return nil
}

// loadApps reads the attributions of statuses not looked up yet.
func (v *statusView) loadApps(ctx context.Context, ids []int64) error {
	if v.apps == nil {
		v.apps = map[int64]storage.StatusAttribution{}
	}
	var missing []int64
	for _, id := range ids {
		if _, ok := v.apps[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	found, err := v.s.store.StatusAttributions(ctx, missing)
	if err != nil {
		return err
	}
	for _, id := range missing {
		v.apps[id] = found[id] // zero: none
	}
	return nil
}

// reactions returns the viewer's boosts and favourites of the status uri.
func (v *statusView) reactions(ctx context.Context, uri string) ([]string, error) {
	if v.viewer == "" {
		return nil, nil
	}
	if k, ok := v.reacted[uri]; ok {
		return k, nil
	}
	kinds, err := v.s.store.OwnReactionKinds(ctx, v.viewer, []string{uri})
	return kinds[uri], err
}

// statusCounts returns the interactions of one status.
func (v *statusView) statusCounts(ctx context.Context, id int64) (storage.StatusCounts, error) {
	if c, ok := v.counts[id]; ok {
		return c, nil
	}
	counts, err := v.s.store.StatusCounts(ctx, []int64{id})
	if err != nil {
		return storage.StatusCounts{}, err
	}
	if v.counts == nil {
		v.counts = map[int64]storage.StatusCounts{}
	}
	v.counts[id] = counts[id] // a notifications page names a post many times
	return counts[id], nil
}

func (s *Server) newStatusView(ctx context.Context, name string, viewer *caller) (*statusView, error) {
	acc, ok := s.account(name)
	if !ok {
		return nil, errNotFound
	}
	a, err := s.accountEntity(ctx, acc, false)
	if err != nil {
		return nil, err
	}
	v := &statusView{s: s, account: a, owner: viewer.owns(name)}
	if viewer != nil {
		v.viewer = viewer.name
	}
	return v, nil
}

// status builds the Status entity of st with its media and the counts
// of what it received.
func (v *statusView) status(ctx context.Context, st storage.Status, media []storage.Media) (Status, error) {
	s := v.s
	counts, err := v.statusCounts(ctx, st.ID)
	if err != nil {
		return Status{}, err
	}
	out := Status{
		ID: idString(st.ID), CreatedAt: timeString(st.CreatedAt),
		Sensitive: st.Sensitive || st.SpoilerText != "", SpoilerText: st.SpoilerText,
		Visibility: st.Visibility, Language: optString(st.Language),
		URI: s.links.Note(st.Account, st.ID), URL: s.links.NoteURL(st.Account, st.ID),
		EditedAt: optTime(st.EditedAt), Content: &st.ContentHTML,
		RepliesCount: int(counts.Replies), ReblogsCount: int(counts.Reblogs), FavouritesCount: int(counts.Favourites),
		Account: v.account, MediaAttachments: []MediaAttachment{}, Mentions: []Mention{}, Tags: []Tag{},
		Emojis: []any{},
	}
	if err := v.loadApps(ctx, []int64{st.ID}); err != nil {
		return Status{}, err
	}
	if a := v.apps[st.ID]; a.AppID != 0 && a.AppName != "" {
		out.Application = &StatusApp{Name: a.AppName, Website: optString(a.AppWebsite)}
	}
	if err := v.inReplyTo(ctx, st, &out); err != nil {
		return Status{}, err
	}
	poll, err := s.statusPoll(ctx, st.ID) // polls.go
	if err != nil {
		return Status{}, err
	}
	if poll != nil {
		out.Poll = poll
	}
	kinds, err := v.reactions(ctx, out.URI)
	if err != nil {
		return Status{}, err
	}
	out.Favourited = slices.Contains(kinds, storage.NotificationFavourite)
	out.Reblogged = slices.Contains(kinds, storage.NotificationReblog)
	if st.Visibility == storage.VisibilityBluesky {
		if err := v.s.blueskyOnly(ctx, st, &out); err != nil { // bluesky_actions.go
			return Status{}, err
		}
	}
	if v.owner && st.Visibility != storage.VisibilityPrivate {
		pinned := !st.PinnedAt.IsZero()
		out.Pinned = &pinned
	}
	for _, m := range media {
		out.MediaAttachments = append(out.MediaAttachments, s.mediaEntity(m))
	}
	for _, m := range st.Mentions {
		out.Mentions = append(out.Mentions, s.mentionEntity(m))
	}
	for _, t := range st.Tags {
		out.Tags = append(out.Tags, Tag{Name: t.Name, URL: t.URL})
	}
	return out, nil
}

// inReplyTo sets the post a status answers: one of ours (its account's
// id), or a remote one (its author's acct).
func (v *statusView) inReplyTo(ctx context.Context, st storage.Status, out *Status) error {
	switch {
	case st.InReplyToRemoteID != 0:
		id := idString(st.InReplyToRemoteID)
		out.InReplyToID = &id
		rs, err := v.s.store.GetRemoteStatus(ctx, st.InReplyToRemoteID)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		a, err := v.s.newProfiles().account(ctx, rs.ActorID)
		if err != nil {
			return err
		}
		out.InReplyToAccountID = &a.ID
	case st.InReplyToID != 0:
		id := idString(st.InReplyToID)
		account := v.account.ID
		if name, _, ok := v.s.links.ParseNote(st.InReplyToURI); ok {
			account = strings.ToLower(name) // another of our accounts
		}
		out.InReplyToID, out.InReplyToAccountID = &id, &account
	}
	return nil
}

// mentionEntity: a mention of one of our accounts has its username as id
// and acct; a remote one has user@domain as both (we keep no remote
// account rows, so its id only identifies it).
func (s *Server) mentionEntity(m storage.StatusMention) Mention {
	user, domain, _ := strings.Cut(m.Handle, "@")
	url := m.ProfileURL
	if url == "" {
		url = m.ActorID
	}
	if strings.EqualFold(domain, s.set.HandleDomain) {
		if acc, ok := s.account(user); ok {
			name := strings.ToLower(acc.Username)
			return Mention{ID: name, Username: name, URL: s.links.Profile(name), Acct: name}
		}
	}
	return Mention{ID: m.Handle, Username: user, URL: url, Acct: m.Handle}
}

// mediaEntity builds a MediaAttachment. Images are served as uploaded
// (metadata stripped), so the preview is the image itself; animated GIFs
// are converted to looping videos (type "gifv") when videos are enabled,
// else stay GIF files (type "image"). A video has its poster as preview,
// and no URL until it is processed.
func (s *Server) mediaEntity(m storage.Media) MediaAttachment {
	meta := ImageMeta{Width: m.Width, Height: m.Height, Size: fmt.Sprintf("%dx%d", m.Width, m.Height)}
	if m.Height > 0 {
		meta.Aspect = float64(m.Width) / float64(m.Height)
	}
	if !strings.HasPrefix(m.MediaType, "video/") {
		u := s.links.Media(m.ID, m.MediaType)
		return MediaAttachment{
			ID: idString(m.ID), Type: "image", URL: &u, PreviewURL: &u,
			Meta:        MediaMeta{Original: meta, Small: meta, Focus: &Focus{X: m.FocusX, Y: m.FocusY}},
			Description: optString(m.Description), Blurhash: optString(m.Blurhash),
		}
	}
	typ := "video"
	if m.Loop {
		typ = "gifv" // an animated GIF, played as a silent loop
	}
	a := MediaAttachment{ID: idString(m.ID), Type: typ, Description: optString(m.Description), Blurhash: optString(m.Blurhash)}
	if m.State != storage.MediaReady {
		a.Meta = MediaMeta{Focus: &Focus{X: m.FocusX, Y: m.FocusY}}
		return a
	}
	u, p := s.links.Media(m.ID, m.MediaType), s.links.MediaPoster(m.ID)
	a.URL, a.PreviewURL = &u, &p
	secs := m.Duration.Seconds()
	original := ImageMeta{Width: m.Width, Height: m.Height, Duration: secs}
	a.Meta = MediaMeta{
		Length: videoLength(m.Duration), Duration: secs, Size: meta.Size, Width: m.Width, Height: m.Height,
		Aspect: meta.Aspect, Original: original, Small: meta, Focus: &Focus{X: m.FocusX, Y: m.FocusY},
	}
	return a
}

// videoLength formats a duration as Mastodon's meta.length: "0:01:28.65".
func videoLength(d time.Duration) string {
	cs := d.Round(10*time.Millisecond) / (10 * time.Millisecond)
	return fmt.Sprintf("%d:%02d:%02d.%02d", cs/360000, cs/6000%60, cs/100%60, cs%100)
}

// loadStatus returns a live status visible to viewer, with its media.
// Others' private statuses and deleted ones are not found.
func (s *Server) loadStatus(ctx context.Context, idText string, viewer *caller) (storage.Status, []storage.Media, error) {
	id, ok := parseID(idText)
	if !ok {
		return storage.Status{}, nil, errNotFound
	}
	st, err := s.store.GetStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !st.DeletedAt.IsZero()) {
		return storage.Status{}, nil, errNotFound
	}
	if err != nil {
		return storage.Status{}, nil, err
	}
	if _, ok := s.account(st.Account); !ok {
		return storage.Status{}, nil, errNotFound
	}
	if st.Visibility != storage.VisibilityPublic && st.Visibility != storage.VisibilityUnlisted && !viewer.owns(st.Account) {
		return storage.Status{}, nil, errNotFound
	}
	media, err := s.store.ListStatusMedia(ctx, id)
	return st, media, err
}
