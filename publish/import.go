package publish

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/storage"
)

// ImportedPost is a post brought in from an archive (another network's
// data export) with its original date.
type ImportedPost struct {
	// Draft is validated as a client's would be. Its InReplyToID, when
	// set, must be one of the account's statuses (usually imported
	// earlier in the same run: a thread of the account's own posts).
	Draft Draft
	// CreatedAt is the original date; it also orders the status among the
	// account's others (its id is made from it, see ids.go).
	CreatedAt time.Time
	// Key identifies the post in its source ("x:<tweet id>"): importing
	// the same key again returns the status made the first time.
	Key string
	// Mirror also queues the post on the Bluesky mirror (when the
	// account is mirrored), which posts it with its original date.
	Mirror bool
}

// ImportResult tells what Import did.
type ImportResult struct {
	Status   storage.Status
	Created  bool // false: the key had been imported before
	Mirrored bool // queued on the Bluesky mirror
}

// Import stores a post quietly: validated and rendered like a client's,
// dated CreatedAt, but delivered to nobody. Followers' servers are not
// sent old posts (as other servers do for imports); they appear in the
// outbox, the profile and the API. Mentions are left as plain text (they
// named accounts of the other network), so nothing is looked up either.
// Importing a Key already imported changes nothing.
func (s *Service) Import(ctx context.Context, account string, p ImportedPost) (ImportResult, error) {
	if p.Key == "" {
		return ImportResult{}, errors.New("publish: import: empty key")
	}
	if p.CreatedAt.IsZero() || p.CreatedAt.After(s.now().Add(time.Minute)) {
		return ImportResult{}, invalid("Validation failed: an imported post needs its original date, in the past")
	}
	d := p.Draft
	d.IdempotencyKey = p.Key
	if st, err := s.store.GetStatusByIdempotencyKey(ctx, account, p.Key); err == nil {
		return ImportResult{Status: st}, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return ImportResult{}, fmt.Errorf("publish: import: %w", err)
	}
	if err := s.validate(ctx, s.store, account, &d, 0); err != nil {
		return ImportResult{}, err
	}
	if d.InReplyToID != 0 {
		// An imported thread is the account's own posts.
		if parent, err := s.store.GetStatus(ctx, d.InReplyToID); err != nil || parent.Account != account {
			return ImportResult{}, invalid("Validation failed: in_reply_to_id must be one of this account's posts")
		}
	}
	res := render.Text(ctx, d.Text, render.Options{TagURLPrefix: s.links.TagPrefix(), LocalDomain: s.set.HandleDomain})
	var tags []storage.StatusTag
	for _, t := range res.Tags {
		tags = append(tags, storage.StatusTag{Name: t.Name, URL: t.URL})
	}
	st := storage.Status{
		Account: account, Text: d.Text, ContentHTML: res.HTML, SpoilerText: d.SpoilerText,
		Sensitive: d.Sensitive || d.SpoilerText != "", Language: d.Language, Visibility: d.Visibility,
		InReplyToID: d.InReplyToID, Tags: tags, MediaIDs: d.MediaIDs,
		IdempotencyKey: p.Key, CreatedAt: p.CreatedAt.UTC(),
	}
	mirrored := false
	err := s.store.InTx(ctx, func(q storage.Queries) error {
		if err := s.validate(ctx, q, account, &d, 0); err != nil {
			return err
		}
		id, err := insertStatus(ctx, q, st, false)
		if err != nil {
			return err
		}
		st.ID = id
		if p.Mirror && s.mirror != nil {
			mirrored = true
			return s.mirror.MirrorCreate(ctx, q, st)
		}
		return nil
	})
	if errors.Is(err, storage.ErrAlreadyExists) {
		// Imported concurrently (two runs of the same archive).
		st, gerr := s.store.GetStatusByIdempotencyKey(ctx, account, p.Key)
		return ImportResult{Status: st}, gerr
	}
	if err != nil {
		return ImportResult{}, s.wrap("import", err)
	}
	if mirrored {
		s.mirror.Nudge()
	}
	s.notifyChange(account)
	stored, err := s.store.GetStatus(ctx, st.ID)
	if err != nil {
		return ImportResult{}, fmt.Errorf("publish: import: %w", err)
	}
	return ImportResult{Status: stored, Created: true, Mirrored: mirrored}, nil
}

// ImportedStatus returns the status imported with key, or ErrNotFound.
func (s *Service) ImportedStatus(ctx context.Context, account, key string) (storage.Status, error) {
	st, err := s.store.GetStatusByIdempotencyKey(ctx, account, key)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Status{}, ErrNotFound
	}
	return st, err
}
