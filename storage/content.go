package storage

import (
	"context"
	"time"
)

// This file declares the rows of published content (statuses and their
// media), client API credentials (OAuth apps, tokens, authorization codes)
// and remote host availability. Rendered HTML and tag lists are opaque to
// storage: it keeps what the publishing layer hands it.

// Visibility values of a status.
const (
	VisibilityPublic   = "public"
	VisibilityUnlisted = "unlisted"
	VisibilityPrivate  = "private" // followers only
	VisibilityDirect   = "direct"  // the mentioned accounts only
	// VisibilityBluesky is a reply to a Bluesky post, written from the
	// client API: public on Bluesky (mirrored there), never delivered to
	// the fediverse nor shown on our pages (docs/bluesky.md).
	VisibilityBluesky = "bluesky"
)

// Status is one of our accounts' posts.
type Status struct {
	ID          int64
	Account     string // our username
	Text        string // source text as written
	ContentHTML string // rendered HTML
	SpoilerText string
	Sensitive   bool
	Language    string // BCP 47, may be empty
	Visibility  string
	InReplyToID int64 // our status it replies to, 0: none
	// InReplyToURI is the IRI of the remote post it replies to, and
	// InReplyToRemoteID that post's RemoteStatus id ("" and 0: none).
	InReplyToURI      string
	InReplyToRemoteID int64
	// Mentions and Tags are the accounts the status mentions, resolved
	// when it was written, and its hashtags (stored as JSON).
	Mentions []StatusMention
	Tags     []StatusTag
	MediaIDs []int64 // attachment order
	// IdempotencyKey, when not empty, is unique per account: creating a
	// second status with the same key returns ErrAlreadyExists.
	IdempotencyKey string
	CreatedAt      time.Time
	EditedAt       time.Time // zero when never edited
	DeletedAt      time.Time // zero unless deleted (kept as a tombstone)
	PinnedAt       time.Time // zero unless pinned (featured)
}

// StatusMention is an account a status mentions.
type StatusMention struct {
	Handle     string `json:"handle"` // user@domain
	ActorID    string `json:"actor_id"`
	ProfileURL string `json:"profile_url,omitempty"`
	Inbox      string `json:"inbox,omitempty"` // where to deliver, when known
}

// StatusTag is a hashtag of a status.
type StatusTag struct {
	Name string `json:"name"` // without '#'
	URL  string `json:"url"`
}

// Media is an uploaded attachment.
type Media struct {
	ID          int64
	Account     string
	StatusID    int64 // 0 until attached to a status
	MediaType   string
	Width       int
	Height      int
	Size        int64
	Blurhash    string
	Description string // alt text
	FocusX      float64
	FocusY      float64
	// Path is where the bytes live (a file under the data directory),
	// empty when Data holds them (shared storage on PostgreSQL).
	Path      string
	Data      []byte // only filled by GetMediaData
	CreatedAt time.Time
	// RemovedAt is when the status the media was attached to was deleted
	// (or edited without it); zero otherwise, and again once a status
	// attaches it.
	RemovedAt time.Time

	// Videos. State is MediaProcessing from the upload until the video
	// job finishes it (MediaReady) or fails it (MediaFailed, with Error);
	// while processing, Path/Data hold the upload as received.
	State    MediaState
	Error    string // why processing failed, for the uploader
	Duration time.Duration
	// The poster frame (JPEG): a file at PosterPath, or bytes in the
	// database (read by GetMediaPoster; PosterData is only set for
	// InsertMedia and FinishMedia).
	PosterPath   string
	PosterSize   int64
	PosterData   []byte
	Captions     string // WebVTT given with the upload, "" for none
	CaptionsLang string
	Loop         bool // an animated GIF made a silent looping video (gifv)
}

// MediaState is where a media is in its processing.
type MediaState int

const (
	MediaReady      MediaState = 0
	MediaProcessing MediaState = 1
	MediaFailed     MediaState = 2
)

// App is an OAuth client registered through POST /api/v1/apps.
type App struct {
	ID           int64
	ClientID     string
	SecretHash   string // SHA-256 hex of the client secret
	Name         string
	RedirectURIs string // newline-separated, as registered
	Scopes       string // space-separated
	Website      string
	CreatedAt    time.Time
}

// Token is an access token, stored hashed.
type Token struct {
	ID         int64
	Hash       string // SHA-256 hex of the token
	Account    string
	AppID      int64 // 0 for tokens made with the CLI
	Name       string
	Scopes     string // space-separated
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time // zero while valid
	ExpiresAt  time.Time // zero: never
	// MemberID is the team member who authorized the app (0: a login
	// code or the CLI).
	MemberID int64
}

// AuthCode is a one-time OAuth authorization code, stored hashed.
type AuthCode struct {
	Hash        string
	AppID       int64
	Account     string
	RedirectURI string
	Scopes      string
	ExpiresAt   time.Time
	// CodeChallenge is the PKCE challenge (RFC 7636, method S256) the
	// client sent with the authorization request; empty when none.
	CodeChallenge string
	// MemberID is the team member who authorized (0: a login code).
	MemberID int64
}

// Host is what we know of a remote server's availability.
type Host struct {
	Host             string
	Failures         int       // consecutive failed deliveries
	UnavailableUntil time.Time // zero when available
	LastSuccess      time.Time
	LastFailure      time.Time
}

// StatusPage selects statuses newest first.
type StatusPage struct {
	Account string
	// MaxID/SinceID/MinID as in Mastodon's paging (0 = unset): ids strictly
	// below MaxID, strictly above SinceID or MinID. With MinID the page is
	// the oldest ones above it (still returned newest first).
	MaxID, SinceID, MinID int64
	Limit                 int
	// Visibilities restricts the result (empty = all); deleted statuses are
	// never returned.
	Visibilities []string
}

// Content is the storage of published content and API credentials.
type Content interface {
	// InsertStatus stores a new status (ID and CreatedAt assigned when
	// zero) and attaches its MediaIDs (which must belong to the account and
	// be unattached, else ErrNotFound). Returns the id.
	InsertStatus(ctx context.Context, s Status) (int64, error)
	// UpdateStatus replaces text, HTML, spoiler, sensitive, language,
	// mentions, tags, media ids and EditedAt of a live status.
	UpdateStatus(ctx context.Context, s Status) error
	// DeleteStatus marks a status deleted at `at` (it stays as a tombstone)
	// and detaches its media.
	DeleteStatus(ctx context.Context, account string, id int64, at time.Time) error
	// SetStatusPinned pins (at non-zero) or unpins (zero) a status.
	SetStatusPinned(ctx context.Context, account string, id int64, at time.Time) error
	// GetStatus returns a status, deleted ones included (check DeletedAt).
	GetStatus(ctx context.Context, id int64) (Status, error)
	GetStatusByIdempotencyKey(ctx context.Context, account, key string) (Status, error)
	ListStatuses(ctx context.Context, p StatusPage) ([]Status, error)
	// ListPinned returns the account's live pinned statuses, most recently
	// pinned first.
	ListPinned(ctx context.Context, account string) ([]Status, error)
	CountStatuses(ctx context.Context, account string, visibilities []string) (int64, error)

	InsertMedia(ctx context.Context, m Media) (int64, error)
	GetMedia(ctx context.Context, id int64) (Media, error)
	// GetMediaData returns the media row with Data filled when the bytes
	// are stored in the database.
	GetMediaData(ctx context.Context, id int64) (Media, error)
	UpdateMediaMeta(ctx context.Context, id int64, description string, focusX, focusY float64) error
	// GetMediaPoster returns the poster bytes stored in the database (nil
	// when the poster is a file, at PosterPath).
	GetMediaPoster(ctx context.Context, id int64) ([]byte, error)
	// FinishMedia records the result of a media's processing: the fields
	// MediaType, Width, Height, Size, Blurhash, Duration, Path, Data,
	// PosterPath, PosterSize and PosterData of m replace the upload's, and
	// the media becomes ready. ErrNotFound unless it is processing.
	FinishMedia(ctx context.Context, m Media) error
	// FailMedia marks a processing media failed, with the reason, and
	// drops its bytes. ErrNotFound unless it is processing.
	FailMedia(ctx context.Context, id int64, reason string) error
	// ListStatusMedia returns a status's media in attachment order.
	ListStatusMedia(ctx context.Context, statusID int64) ([]Media, error)

	InsertApp(ctx context.Context, a App) (int64, error)
	GetAppByClientID(ctx context.Context, clientID string) (App, error)
	InsertToken(ctx context.Context, t Token) (int64, error)
	// GetTokenByHash returns the token whatever its state (check RevokedAt
	// and ExpiresAt).
	GetTokenByHash(ctx context.Context, hash string) (Token, error)
	ListTokens(ctx context.Context, account string) ([]Token, error)
	RevokeToken(ctx context.Context, id int64, at time.Time) error
	RevokeTokenByHash(ctx context.Context, hash string, at time.Time) error
	TouchToken(ctx context.Context, id int64, at time.Time) error
	InsertAuthCode(ctx context.Context, c AuthCode) error
	// TakeAuthCode returns the code and deletes it (one use); ErrNotFound
	// if unknown or already used.
	TakeAuthCode(ctx context.Context, hash string) (AuthCode, error)
	// DeleteAuthCodes deletes the account's unused codes of app (0: the
	// login codes) and returns how many went.
	DeleteAuthCodes(ctx context.Context, account string, appID int64) (int64, error)

	// ListFollowerInboxes returns the distinct delivery inboxes of the
	// account's accepted followers (shared inbox when the follower has one,
	// its own inbox otherwise), ordered, after `after`, at most limit.
	ListFollowerInboxes(ctx context.Context, account, after string, limit int) ([]string, error)
	// DeleteFollowersByInbox removes the followers whose inbox or shared
	// inbox is inbox (the inbox answered 410 Gone) and returns how many.
	DeleteFollowersByInbox(ctx context.Context, inbox string) (int64, error)

	GetHost(ctx context.Context, host string) (Host, error)
	// RecordHostSuccess resets the host's failures.
	RecordHostSuccess(ctx context.Context, host string, at time.Time) error
	// RecordHostFailure increments the host's failures and sets
	// UnavailableUntil to until (zero leaves it unchanged); returns the row.
	RecordHostFailure(ctx context.Context, host string, at, until time.Time) (Host, error)
	// ListUnavailableHosts returns the hosts marked unavailable beyond now
	// (their deliveries wait until then).
	ListUnavailableHosts(ctx context.Context, now time.Time) ([]Host, error)
	// SetHostEd25519 records whether host verifies RFC 9421 signatures
	// made with an Ed25519 key (it accepted one, or refused one).
	SetHostEd25519(ctx context.Context, host string, verifies bool) error
	// ListHostsEd25519 returns every host whose answer to an Ed25519
	// signature is known: host to whether it verifies them.
	ListHostsEd25519(ctx context.Context) (map[string]bool, error)
}
