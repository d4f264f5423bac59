package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/storage"
)

// MediaError is an upload refused for its content (422, or 413 when too
// large).
type MediaError struct {
	Msg      string
	TooLarge bool
	Err      error
}

func (e *MediaError) Error() string { return e.Msg }
func (e *MediaError) Unwrap() error { return e.Err }

// UploadMedia validates an image by decoding it, strips its metadata by
// re-encoding it, and stores it unattached (until a status uses it).
func (s *Service) UploadMedia(ctx context.Context, account string, r io.Reader, description string, focusX, focusY float64) (storage.Media, error) {
	if err := checkFocus(focusX, focusY); err != nil {
		return storage.Media{}, err
	}
	if len([]rune(description)) > 1500 {
		return storage.Media{}, invalid("Validation failed: Description is too long (maximum is 1500 characters)")
	}
	img, err := media.Process(r, s.set.MediaLimits)
	if err != nil {
		return storage.Media{}, mediaError(err)
	}
	m := storage.Media{
		Account: account, MediaType: img.MediaType, Width: img.Width, Height: img.Height,
		Size: int64(len(img.Data)), Blurhash: img.Blurhash, Description: description,
		FocusX: focusX, FocusY: focusY, CreatedAt: s.now().UTC(),
	}
	if s.set.MediaInDB {
		m.Data = img.Data
	} else {
		if m.Path, err = s.writeFile(img); err != nil {
			return storage.Media{}, err
		}
	}
	id, err := s.store.InsertMedia(ctx, m)
	if err != nil {
		if m.Path != "" {
			os.Remove(m.Path)
		}
		return storage.Media{}, fmt.Errorf("publish: store media: %w", err)
	}
	m.ID, m.Data = id, nil
	if mp, ok := s.mirror.(MediaPreparer); ok {
		mp.PrepareMedia(m, img.Data)
	}
	return m, nil
}

// MediaPreparer is an optional interface of a Mirror: it is told of each
// uploaded image (with its processed bytes) and may prepare it in the
// background, off the request, so that the post that carries it reaches
// the mirror sooner. It must return at once.
type MediaPreparer interface {
	PrepareMedia(m storage.Media, data []byte)
}

func mediaError(err error) error {
	switch {
	case errors.Is(err, media.ErrTooLarge):
		return &MediaError{Msg: "File is too large", TooLarge: true, Err: err}
	case errors.Is(err, media.ErrTooManyPixels):
		return &MediaError{Msg: "Validation failed: image dimensions are too large", Err: err}
	case errors.Is(err, media.ErrUnsupported):
		return &MediaError{Msg: "Validation failed: file type not supported (JPEG, PNG, GIF or WebP images; mp4, mov or WebM videos)", Err: err}
	case errors.Is(err, media.ErrCorrupt):
		return &MediaError{Msg: "Validation failed: the image could not be decoded", Err: err}
	}
	return fmt.Errorf("publish: process media: %w", err)
}

func checkFocus(x, y float64) error {
	if x < -1 || x > 1 || y < -1 || y > 1 {
		return invalid("Validation failed: focus must be two numbers between -1.0 and 1.0")
	}
	return nil
}

// writeFile stores an image under MediaDir with a random name
// (writeBytes: through a temporary file, so a crash never leaves a partial
// image).
func (s *Service) writeFile(img media.Image) (string, error) {
	ext := map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif", "image/webp": ".webp"}[img.MediaType]
	return s.writeBytes(img.Data, ext)
}

// UpdateMedia changes the alt text or focus of an account's media.
func (s *Service) UpdateMedia(ctx context.Context, account string, id int64, description *string, focus *[2]float64) (storage.Media, error) {
	m, err := s.Media(ctx, account, id)
	if err != nil {
		return storage.Media{}, err
	}
	if description != nil {
		if len([]rune(*description)) > 1500 {
			return storage.Media{}, invalid("Validation failed: Description is too long (maximum is 1500 characters)")
		}
		m.Description = *description
	}
	if focus != nil {
		if err := checkFocus(focus[0], focus[1]); err != nil {
			return storage.Media{}, err
		}
		m.FocusX, m.FocusY = focus[0], focus[1]
	}
	if err := s.store.UpdateMediaMeta(ctx, id, m.Description, m.FocusX, m.FocusY); err != nil {
		return storage.Media{}, fmt.Errorf("publish: update media: %w", err)
	}
	return m, nil
}

// Media returns one of account's media.
func (s *Service) Media(ctx context.Context, account string, id int64) (storage.Media, error) {
	m, err := s.store.GetMedia(ctx, id)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && m.Account != account) {
		return storage.Media{}, ErrNotFound
	}
	return m, err
}

// servedMedia returns a media that may be served (see OpenMedia).
func (s *Service) servedMedia(ctx context.Context, id int64) (storage.Media, error) {
	m, err := s.store.GetMedia(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Media{}, ErrNotFound
	}
	if err != nil {
		return storage.Media{}, err
	}
	if m.StatusID == 0 && !m.RemovedAt.IsZero() {
		return storage.Media{}, ErrGone // its post was deleted
	}
	if m.State != storage.MediaReady {
		return storage.Media{}, ErrNotFound // a video being processed, or refused
	}
	if m.StatusID != 0 {
		st, err := s.store.GetStatus(ctx, m.StatusID)
		if err != nil {
			return storage.Media{}, err
		}
		if st.Visibility == storage.VisibilityPrivate || !st.DeletedAt.IsZero() {
			return storage.Media{}, ErrNotFound
		}
	}
	return m, nil
}

// OpenMedia opens a media file for serving to anyone: media of public and
// unlisted posts are public, as on Mastodon, and so are media not yet
// attached (the uploading client previews them). Deleting a post detaches
// its media (a delete-and-redraft may attach them again) and they answer
// ErrGone until then, as the post answers 410. Media of followers-only
// posts are not served: ids are sequential and could be enumerated.
func (s *Service) OpenMedia(ctx context.Context, id int64) (storage.Media, io.ReadSeekCloser, error) {
	m, err := s.servedMedia(ctx, id)
	if err != nil {
		return storage.Media{}, nil, err
	}
	if m.Path == "" {
		if m, err = s.store.GetMediaData(ctx, id); err != nil {
			return storage.Media{}, nil, err
		}
	}
	if m.Path == "" {
		return m, nopCloser{bytes.NewReader(m.Data)}, nil
	}
	f, err := os.Open(m.Path)
	if err != nil {
		return storage.Media{}, nil, fmt.Errorf("publish: open media %d: %w", id, err)
	}
	return m, f, nil
}

// OpenPoster opens the poster frame of a video, served under the same
// rules as the video itself (OpenMedia).
func (s *Service) OpenPoster(ctx context.Context, id int64) (storage.Media, io.ReadSeekCloser, error) {
	m, err := s.servedMedia(ctx, id)
	if err != nil {
		return storage.Media{}, nil, err
	}
	if m.PosterPath == "" && m.PosterSize == 0 {
		return storage.Media{}, nil, ErrNotFound // an image: no poster
	}
	if m.PosterPath == "" {
		data, err := s.store.GetMediaPoster(ctx, id)
		if err != nil {
			return storage.Media{}, nil, err
		}
		return m, nopCloser{bytes.NewReader(data)}, nil
	}
	pf, err := os.Open(m.PosterPath)
	if err != nil {
		return storage.Media{}, nil, fmt.Errorf("publish: open poster %d: %w", id, err)
	}
	return m, pf, nil
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }
