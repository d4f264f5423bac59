package publish

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/links"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/policy"
	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// Settings are the publishing limits and where media go.
type Settings struct {
	MaxChars    int           // Mastodon's default: 500
	MaxMedia    int           // per status: 4
	MediaLimits media.Limits  // upload limits
	Video       VideoSettings // videos (video.go); none without a Processor
	Polls       PollLimits    // poll limits (poll.go)
	// MediaDir holds uploaded files; with MediaInDB the bytes are stored
	// in the database instead (PostgreSQL shared by several replicas).
	MediaDir  string
	MediaInDB bool
	// HandleDomain is our accounts' handle domain (local mentions).
	HandleDomain string
	// Languages maps an account to the language of its posts that do not
	// say theirs (config.Account.PostLanguage); none when absent.
	Languages map[string]string
	// Mirror copies posts to Bluesky; nil mirrors nothing.
	Mirror Mirror
	// OnChange, when set, is called with the account after each change
	// this service commits (a post created, edited, deleted, pinned or
	// unpinned, imported), so that what shows the account's posts (the
	// pages) can drop what it keeps. It must not block.
	OnChange func(account string)
	// Drafts, when set, is told of each contributor's draft in the
	// transaction that stores it (package push: its editors' pushes).
	Drafts DraftNotifier
}

// DraftNotifier is told of a contributor's draft waiting for approval.
type DraftNotifier interface {
	DraftSubmitted(ctx context.Context, q storage.Queries, td storage.TeamDraft) error
}

// Defaults for Settings.
const (
	DefaultMaxChars = 500
	DefaultMaxMedia = 4
)

// Errors returned to clients.
var (
	ErrNotFound = errors.New("publish: not found")
	// ErrGone: a media file of a deleted post (its URL answers 410).
	ErrGone = errors.New("publish: gone")
)

// ValidationError is a request that cannot be published as is (422).
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Service publishes.
type Service struct {
	set    Settings
	store  storage.Store
	fed    *federation.Service
	links  links.Site // our own URLs
	mirror Mirror
	log    zerolog.Logger
	now    func() time.Time
	// changed is told the account of every committed change (the pages'
	// cache); nil: nobody.
	changed func(account string)
}

func (s *Service) notifyChange(account string) {
	if s.changed != nil {
		s.changed(account)
	}
}

// Mirror is a second destination for an account's posts (the Bluesky
// mirror). Its methods run inside the publishing transaction, so the
// mirror's jobs are written together with the post or not at all; they
// must only write to q (no network).
type Mirror interface {
	MirrorCreate(ctx context.Context, q storage.Queries, st storage.Status) error
	MirrorUpdate(ctx context.Context, q storage.Queries, st storage.Status) error
	MirrorDelete(ctx context.Context, q storage.Queries, st storage.Status) error
	// MirrorReaction queues the like or repost (undo: its deletion) of a
	// reaction on Bluesky, when there is one to make (a Bluesky post, or
	// a boost of one of our mirrored statuses).
	MirrorReaction(ctx context.Context, q storage.Queries, r storage.OwnReaction, undo bool) error
	// MirrorGates queues the rewriting of a mirrored status's gates
	// (threadgate, postgate) from the policy it now has (crisis mode).
	MirrorGates(ctx context.Context, q storage.Queries, st storage.Status) error
	// Mirrors reports whether the account is mirrored to Bluesky (it can
	// answer Bluesky posts).
	Mirrors(account string) bool
	// Nudge wakes the mirror's workers once the transaction committed.
	Nudge()
}

// New builds the service.
func New(set Settings, store storage.Store, fed *federation.Service, logger zerolog.Logger) *Service {
	if set.MaxChars <= 0 {
		set.MaxChars = DefaultMaxChars
	}
	if set.MaxMedia <= 0 {
		set.MaxMedia = DefaultMaxMedia
	}
	set.Polls = set.Polls.withDefaults()
	set.Video = set.Video.withDefaults()
	return &Service{set: set, store: store, fed: fed, links: fed.Links(), mirror: set.Mirror, changed: set.OnChange, log: logger, now: time.Now}
}

// SetClock replaces the clock (tests).
func (s *Service) SetClock(now func() time.Time) { s.now = now }

// Limits returns the limits clients read from the instance endpoints.
func (s *Service) Limits() Settings { return s.set }

// Draft is what a client asks to publish.
type Draft struct {
	Text           string
	SpoilerText    string
	Sensitive      bool
	Language       string
	Visibility     string // public (default), unlisted, private
	InReplyToID    int64  // one of our own statuses (threads)
	MediaIDs       []int64
	IdempotencyKey string
	// Replies and Quotes are the post's own interaction policy (package
	// policy's values); empty: the account's.
	Replies, Quotes string
	// Poll makes the status a poll (poll.go); nil: none. An edit keeps
	// the poll as it is.
	Poll *PollDraft `json:",omitempty"`
	// By is who made the post (the team member and app, package admin's
	// attribution), recorded in the status's transaction; nil: nobody
	// recorded. Kept with a scheduled status, so that it is attributed
	// when published.
	By *storage.StatusAttribution `json:",omitempty"`
	// approves is the team draft this status publishes (drafts.go),
	// marked approved in the status's transaction.
	approves *storage.DraftDecision
}

var languageRE = regexp.MustCompile(`^[a-z]{2,3}([_-][A-Za-z0-9]{2,8})?$`)

// validate checks a draft for account and normalises it.
func (s *Service) validate(ctx context.Context, q storage.Queries, account string, d *Draft, editing int64) error {
	d.Text = strings.TrimSpace(strings.ReplaceAll(d.Text, "\r\n", "\n"))
	d.SpoilerText = strings.TrimSpace(d.SpoilerText)
	if d.Text == "" && len(d.MediaIDs) == 0 {
		return invalid("Validation failed: Text can't be blank")
	}
	if n := render.CountCharacters(d.Text) + render.CountCharacters(d.SpoilerText); n > s.set.MaxChars {
		return invalid("Validation failed: Text character limit of %d exceeded (%d characters)", s.set.MaxChars, n)
	}
	switch d.Visibility {
	case "":
		d.Visibility = storage.VisibilityPublic
	case storage.VisibilityPublic, storage.VisibilityUnlisted, storage.VisibilityPrivate, storage.VisibilityDirect:
	default:
		return invalid("Validation failed: visibility must be public, unlisted, private or direct")
	}
	if d.Language == "" {
		d.Language = s.set.Languages[strings.ToLower(account)]
	}
	if d.Language != "" {
		if !languageRE.MatchString(d.Language) {
			return invalid("Validation failed: Language is not a valid language code")
		}
		primary, region, _ := strings.Cut(strings.ReplaceAll(d.Language, "_", "-"), "-")
		d.Language = primary
		if region != "" {
			d.Language += "-" + region
		}
	}
	if d.Replies != "" && !policy.ValidReplies(d.Replies) || d.Quotes != "" && !policy.ValidQuotes(d.Quotes) {
		return invalid("Validation failed: the interaction policy is not valid")
	}
	if err := s.validatePoll(d); err != nil { // poll.go
		return err
	}
	if len(d.MediaIDs) > s.set.MaxMedia {
		return invalid("Validation failed: at most %d media attachments per post", s.set.MaxMedia)
	}
	seen := map[int64]bool{}
	for _, id := range d.MediaIDs {
		if seen[id] {
			return invalid("Validation failed: media %d attached twice", id)
		}
		seen[id] = true
		m, err := q.GetMedia(ctx, id)
		if errors.Is(err, storage.ErrNotFound) || (err == nil && (m.Account != account || (m.StatusID != 0 && m.StatusID != editing))) {
			return invalid("Validation failed: media %d not found", id)
		}
		if err != nil {
			return err
		}
		if strings.HasPrefix(m.MediaType, "video/") && len(d.MediaIDs) > 1 {
			return invalid("Validation failed: a video cannot be combined with other media")
		}
		switch m.State {
		case storage.MediaProcessing:
			return invalid("Validation failed: Cannot attach files that have not finished processing. Try again in a moment!")
		case storage.MediaFailed:
			return invalid("Validation failed: media %d could not be processed: %s", id, m.Error)
		}
	}
	if d.InReplyToID != 0 {
		if _, err := s.replyParent(ctx, q, account, d.InReplyToID); err != nil { // presence.go
			return err
		}
	}
	return nil
}

// rendered is a draft's text turned into HTML, mentions and tags.
type rendered struct {
	html     string
	mentions []storage.StatusMention
	tags     []storage.StatusTag
}

// render formats the text and resolves mentions (WebFinger through the
// SSRF-safe client, before any transaction is open).
func (s *Service) render(ctx context.Context, text string) (rendered, error) {
	res := render.Text(ctx, text, render.Options{
		TagURLPrefix: s.links.TagPrefix(),
		LocalDomain:  s.set.HandleDomain,
		Resolver:     s.fed,
	})
	var out rendered
	out.html = res.HTML
	for _, m := range res.Mentions {
		nm := storage.StatusMention{Handle: m.Username + "@" + m.Domain, ActorID: m.ActorID, ProfileURL: m.ProfileURL}
		if ra, err := s.store.GetRemoteActor(ctx, m.ActorID); err == nil {
			nm.Inbox = ra.SharedInbox
			if nm.Inbox == "" {
				nm.Inbox = ra.Inbox
			}
		}
		out.mentions = append(out.mentions, nm)
	}
	for _, t := range res.Tags {
		out.tags = append(out.tags, storage.StatusTag{Name: t.Name, URL: t.URL})
	}
	return out, nil
}

// Create publishes a status: stored, then delivered to every follower's
// server and mentioned actor by the durable queue. With an idempotency key
// already used, the earlier status is returned and nothing is published.
func (s *Service) Create(ctx context.Context, account string, d Draft) (storage.Status, error) {
	if d.IdempotencyKey != "" {
		if st, err := s.store.GetStatusByIdempotencyKey(ctx, account, d.IdempotencyKey); err == nil {
			return st, nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return storage.Status{}, err
		}
	}
	if err := s.validate(ctx, s.store, account, &d, 0); err != nil {
		return storage.Status{}, err
	}
	r, err := s.render(ctx, d.Text)
	if err != nil {
		return storage.Status{}, err
	}
	st := storage.Status{
		Account: account, Text: d.Text, ContentHTML: r.html, SpoilerText: d.SpoilerText,
		Sensitive: d.Sensitive || d.SpoilerText != "", Language: d.Language, Visibility: d.Visibility,
		InReplyToID: d.InReplyToID, Mentions: r.mentions, Tags: r.tags, MediaIDs: d.MediaIDs,
		IdempotencyKey: d.IdempotencyKey, CreatedAt: s.now().UTC(),
	}
	if err := s.setReplyTarget(ctx, &st); err != nil {
		return storage.Status{}, err
	}
	if st.Visibility == storage.VisibilityDirect && len(st.Mentions) == 0 {
		return storage.Status{}, errNoMention
	}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		if err := s.validate(ctx, q, account, &d, 0); err != nil {
			return err
		}
		id, err := insertStatus(ctx, q, st, true) // time-ordered id (ids.go)
		if err != nil {
			return err
		}
		st.ID = id
		if err := s.insertPoll(ctx, q, st, d.Poll); err != nil { // poll.go
			return err
		}
		if d.By != nil {
			a := *d.By
			a.StatusID, a.CreatedAt = id, st.CreatedAt
			if err := q.PutStatusAttribution(ctx, a); err != nil {
				return err
			}
		}
		if d.approves != nil {
			dec := *d.approves
			dec.StatusID = id
			if err := q.DecideTeamDraft(ctx, dec); err != nil {
				return err
			}
		}
		if d.Replies != "" || d.Quotes != "" {
			if err := q.PutStatusPolicy(ctx, storage.StatusPolicy{StatusID: id, Replies: d.Replies, Quotes: d.Quotes}); err != nil {
				return err
			}
		}
		if err := s.crisisCreate(ctx, q, st, d.Replies, d.Quotes); err != nil { // crisis.go
			return err
		}
		if err := s.queueStatus(ctx, q, federation.StatusCreated, st); err != nil {
			return err
		}
		if s.mirror != nil {
			return s.mirror.MirrorCreate(ctx, q, st)
		}
		return nil
	})
	if errors.Is(err, storage.ErrAlreadyExists) && d.IdempotencyKey != "" {
		// A concurrent request with the same key won.
		return s.store.GetStatusByIdempotencyKey(ctx, account, d.IdempotencyKey)
	}
	if err != nil {
		return storage.Status{}, fmt.Errorf("publish: create: %w", err)
	}
	s.nudge()
	s.notifyChange(account)
	reqlog.Logger(ctx, s.log).Info().Str("account", account).Int64("status", st.ID).Str("visibility", st.Visibility).Msg("status published")
	return s.store.GetStatus(ctx, st.ID)
}

// ownStatus loads a live status of account.
func ownStatus(ctx context.Context, q storage.Queries, account string, id int64) (storage.Status, error) {
	st, err := q.GetStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (st.Account != account || !st.DeletedAt.IsZero())) {
		return storage.Status{}, ErrNotFound
	}
	return st, err
}

// Edit changes a status's text, warning, language or media and sends an
// Update.
func (s *Service) Edit(ctx context.Context, account string, id int64, d Draft) (storage.Status, error) {
	old, err := ownStatus(ctx, s.store, account, id)
	if err != nil {
		return storage.Status{}, err
	}
	d.Visibility = old.Visibility // visibility cannot change on edit (as Mastodon)
	d.Poll = nil                  // nor the poll, here
	d.InReplyToID = old.InReplyToID
	if err := s.validate(ctx, s.store, account, &d, id); err != nil {
		return storage.Status{}, err
	}
	r, err := s.render(ctx, d.Text)
	if err != nil {
		return storage.Status{}, err
	}
	now := s.now().UTC()
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		st, err := ownStatus(ctx, q, account, id)
		if err != nil {
			return err
		}
		if err := s.validate(ctx, q, account, &d, id); err != nil {
			return err
		}
		version := st.EditedAt
		if version.IsZero() {
			version = st.CreatedAt
		}
		if err := q.InsertStatusEdit(ctx, storage.StatusEdit{StatusID: st.ID, Text: st.Text, ContentHTML: st.ContentHTML,
			SpoilerText: st.SpoilerText, Sensitive: st.Sensitive, MediaIDs: st.MediaIDs, CreatedAt: version}); err != nil {
			return err
		}
		st.Text, st.ContentHTML, st.SpoilerText = d.Text, r.html, d.SpoilerText
		st.Sensitive = d.Sensitive || d.SpoilerText != ""
		mentions, err := s.withReplyMention(ctx, q, r.mentions, st) // presence.go
		if err != nil {
			return err
		}
		st.Language, st.Mentions, st.Tags, st.MediaIDs = d.Language, mentions, r.tags, d.MediaIDs
		if st.Visibility == storage.VisibilityDirect && len(st.Mentions) == 0 {
			return errNoMention
		}
		st.EditedAt = now
		if err := q.UpdateStatus(ctx, st); err != nil {
			return err
		}
		if err := s.queueStatus(ctx, q, federation.StatusEdited, st); err != nil {
			return err
		}
		if s.mirror != nil {
			return s.mirror.MirrorUpdate(ctx, q, st)
		}
		return nil
	})
	if err != nil {
		return storage.Status{}, s.wrap("edit", err)
	}
	s.nudge()
	s.notifyChange(account)
	return s.store.GetStatus(ctx, id)
}

// Delete removes a status (it stays as a tombstone answering 410) and
// sends a Delete. It returns the status as it was.
func (s *Service) Delete(ctx context.Context, account string, id int64) (storage.Status, error) {
	var st storage.Status
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		var err error
		if st, err = ownStatus(ctx, q, account, id); err != nil {
			return err
		}
		if err := q.DeleteStatus(ctx, account, id, s.now().UTC()); err != nil {
			return err
		}
		err = s.queueStatus(ctx, q, federation.StatusDeleted, st)
		if err == nil && s.mirror != nil {
			err = s.mirror.MirrorDelete(ctx, q, st)
		}
		return err
	})
	if err != nil {
		return storage.Status{}, s.wrap("delete", err)
	}
	s.nudge()
	s.notifyChange(account)
	return st, nil
}

// SetPinned pins or unpins a status and sends Add or Remove for the
// featured collection (Mastodon), and an Update of the actor (GoToSocial).
func (s *Service) SetPinned(ctx context.Context, account string, id int64, pinned bool) (storage.Status, error) {
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		st, err := ownStatus(ctx, q, account, id)
		if err != nil {
			return err
		}
		if st.Visibility == storage.VisibilityPrivate || st.Visibility == storage.VisibilityBluesky {
			return invalid("Validation failed: only public and unlisted posts can be pinned")
		}
		if pinned == !st.PinnedAt.IsZero() {
			return nil // already so
		}
		at := s.now().UTC()
		if !pinned {
			at = time.Time{}
		}
		if err := q.SetStatusPinned(ctx, account, id, at); err != nil {
			return err
		}
		return s.fed.QueuePin(ctx, q, st, pinned)
	})
	if err != nil {
		return storage.Status{}, s.wrap("pin", err)
	}
	s.fed.Nudge()
	s.notifyChange(account)
	return s.store.GetStatus(ctx, id)
}

// queueStatus hands a change of a status to federation, unless the status
// is Bluesky-only (a reply to a Bluesky post): the fediverse never hears
// of it.
func (s *Service) queueStatus(ctx context.Context, q storage.Queries, kind string, st storage.Status) error {
	if st.Visibility == storage.VisibilityBluesky {
		return nil
	}
	return s.fed.QueueStatus(ctx, q, kind, st)
}

// nudge wakes the workers of the jobs a committed transaction queued:
// deliveries, and the mirror's.
func (s *Service) nudge() {
	s.fed.Nudge()
	if s.mirror != nil {
		s.mirror.Nudge()
	}
}

func (s *Service) wrap(action string, err error) error {
	var ve *ValidationError
	if errors.Is(err, ErrNotFound) || errors.As(err, &ve) {
		return err
	}
	return fmt.Errorf("publish: %s: %w", action, err)
}

// Status returns a live status of account with its media.
func (s *Service) Status(ctx context.Context, account string, id int64) (storage.Status, []storage.Media, error) {
	st, err := ownStatus(ctx, s.store, account, id)
	if err != nil {
		return storage.Status{}, nil, err
	}
	media, err := s.store.ListStatusMedia(ctx, id)
	return st, media, err
}

// DeliveryStats reports how far the delivery of a status went: servers
// reached, pending and failed, and whether the fan-out is still queued.
func (s *Service) DeliveryStats(ctx context.Context, id int64) (storage.RefStats, bool, error) {
	return federation.RefDelivery(ctx, s.store, statusRef(id))
}

// DeletionStats reports how far the delivery of a status's Delete went.
func (s *Service) DeletionStats(ctx context.Context, id int64) (storage.RefStats, bool, error) {
	return federation.RefDelivery(ctx, s.store, statusRef(id)+":delete")
}

func statusRef(id int64) string { return "status:" + strconv.FormatInt(id, 10) }

// Delivery is how far a status's delivery went on the fediverse: what the
// delivery API (GET /api/v1/passerelle/statuses/:id/delivery), `bridge
// status` and the console's reach page show.
type Delivery struct {
	storage.RefStats      // servers reached (Done), pending, failed
	FanoutPending    bool // the fan-out is still queued: more servers to come
	// Deletion is how far the delivery of its Delete went, once the
	// status is deleted (nil before).
	Deletion              *storage.RefStats
	DeletionFanoutPending bool
}

// DeliveryOf reads the delivery of st (deleted or not) from store.
func DeliveryOf(ctx context.Context, store storage.Store, st storage.Status) (Delivery, error) {
	stats, fanout, err := federation.RefDelivery(ctx, store, statusRef(st.ID))
	if err != nil {
		return Delivery{}, err
	}
	d := Delivery{RefStats: stats, FanoutPending: fanout}
	if !st.DeletedAt.IsZero() {
		del, delFanout, err := federation.RefDelivery(ctx, store, statusRef(st.ID)+":delete")
		if err != nil {
			return Delivery{}, err
		}
		d.Deletion, d.DeletionFanoutPending = &del, delFanout
	}
	return d, nil
}

// StatusOrTombstone returns a status of account, deleted ones included
// (DeletedAt set): what the delivery reports show after a delete.
func (s *Service) StatusOrTombstone(ctx context.Context, account string, id int64) (storage.Status, error) {
	st, err := s.store.GetStatus(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && st.Account != account) {
		return storage.Status{}, ErrNotFound
	}
	return st, err
}
