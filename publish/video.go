package publish

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/video"
)

// JobVideo is the job kind that converts an uploaded video.
const JobVideo = "media.video"

// Video defaults (Settings.Video's zero fields).
const (
	DefaultVideoMaxBytes    = 100 << 20
	DefaultVideoMaxDuration = 3 * time.Minute
	// MaxCaptionsBytes is the largest WebVTT track (Bluesky's limit).
	MaxCaptionsBytes = 20_000
)

// VideoProcessor converts an uploaded video (package video's Processor).
type VideoProcessor interface {
	Process(ctx context.Context, dir, file string, lim video.Limits) (video.Result, error)
}

// VideoSettings enable videos: nil Processor refuses them.
type VideoSettings struct {
	Processor   VideoProcessor
	MaxBytes    int64         // default DefaultVideoMaxBytes
	MaxDuration time.Duration // default DefaultVideoMaxDuration
	// Wake is nudged when a video is queued (the pool registered by
	// RegisterVideo listens to it).
	Wake *jobs.Wake
}

func (v VideoSettings) withDefaults() VideoSettings {
	if v.MaxBytes <= 0 {
		v.MaxBytes = DefaultVideoMaxBytes
	}
	if v.MaxDuration <= 0 {
		v.MaxDuration = DefaultVideoMaxDuration
	}
	return v
}

// Upload is an uploaded file with what the client said of it.
type Upload struct {
	Description    string
	FocusX, FocusY float64
	// Captions is a WebVTT track for a video (a Passerelle extension:
	// Bluesky shows it), CaptionsLang its language.
	Captions     string
	CaptionsLang string
}

// VideosEnabled reports whether videos are accepted.
func (s *Service) VideosEnabled() bool { return s.set.Video.Processor != nil }

// MaxUploadBytes is the largest file any upload may be (the larger of
// the image and, when enabled, video limits).
func (s *Service) MaxUploadBytes() int64 {
	n := s.set.MediaLimits.MaxBytes
	if n <= 0 {
		n = media.DefaultMaxBytes
	}
	if s.VideosEnabled() {
		n = max(n, s.set.Video.MaxBytes)
	}
	return n
}

// Upload stores an image (processed at once, see UploadMedia) or a video:
// recognised from its first bytes, kept as received and converted by a
// job (JobVideo); the media is returned processing (State), and the
// clients poll it until it is ready, as on Mastodon.
func (s *Service) Upload(ctx context.Context, account string, r io.Reader, u Upload) (storage.Media, error) {
	br := bufio.NewReaderSize(r, 64)
	head, _ := br.Peek(16)
	switch video.Sniff(head) {
	case video.MP4, video.Matroska:
		return s.uploadVideo(ctx, account, br, u, false)
	case video.GIF:
		if s.VideosEnabled() {
			// An animated GIF becomes a silent looping video (gifv), as on
			// Mastodon; a still one stays an image.
			limit := s.set.MediaLimits.MaxBytes
			if limit <= 0 {
				limit = media.DefaultMaxBytes
			}
			data, err := io.ReadAll(io.LimitReader(br, limit+1))
			if err != nil {
				return storage.Media{}, fmt.Errorf("publish: read upload: %w", err)
			}
			if media.GIFFrames(data) > 1 && u.Captions == "" {
				return s.uploadVideo(ctx, account, bytes.NewReader(data), u, true)
			}
			r = bytes.NewReader(data)
			br = bufio.NewReaderSize(r, 64)
		}
	}
	if u.Captions != "" {
		return storage.Media{}, invalid("Validation failed: captions are only for videos")
	}
	return s.UploadMedia(ctx, account, br, u.Description, u.FocusX, u.FocusY)
}

// uploadVideo stores a video (loop: an animated GIF, for a gifv) and
// queues its conversion.
func (s *Service) uploadVideo(ctx context.Context, account string, r io.Reader, u Upload, loop bool) (storage.Media, error) {
	if !s.VideosEnabled() {
		return storage.Media{}, &MediaError{Msg: "Validation failed: videos are not accepted by this server"}
	}
	if err := checkFocus(u.FocusX, u.FocusY); err != nil {
		return storage.Media{}, err
	}
	if len([]rune(u.Description)) > 1500 {
		return storage.Media{}, invalid("Validation failed: Description is too long (maximum is 1500 characters)")
	}
	if err := checkCaptions(&u); err != nil {
		return storage.Media{}, err
	}
	lim := s.set.Video.MaxBytes
	data, err := io.ReadAll(io.LimitReader(r, lim+1))
	if err != nil {
		return storage.Media{}, fmt.Errorf("publish: read upload: %w", err)
	}
	if int64(len(data)) > lim {
		return storage.Media{}, &MediaError{Msg: "File is too large", TooLarge: true}
	}
	m := storage.Media{
		Account: account, MediaType: "video/mp4", Size: int64(len(data)), Description: u.Description,
		FocusX: u.FocusX, FocusY: u.FocusY, State: storage.MediaProcessing,
		Captions: u.Captions, CaptionsLang: u.CaptionsLang, Loop: loop, CreatedAt: s.now().UTC(),
	}
	if s.set.MediaInDB {
		m.Data = data
	} else if m.Path, err = s.writeBytes(data, ".upload"); err != nil {
		return storage.Media{}, err
	}
	err = s.store.InTx(ctx, func(q storage.Queries) error {
		id, err := q.InsertMedia(ctx, m)
		if err != nil {
			return err
		}
		m.ID = id
		payload, _ := json.Marshal(videoPayload{Media: id})
		_, err = q.EnqueueJob(ctx, storage.NewJob{Kind: JobVideo, Payload: payload, RunAt: s.now().UTC(),
			Key: "video:" + strconv.FormatInt(id, 10), Ref: "media:" + strconv.FormatInt(id, 10)})
		return err
	})
	if err != nil {
		if m.Path != "" {
			os.Remove(m.Path)
		}
		return storage.Media{}, fmt.Errorf("publish: store video: %w", err)
	}
	if s.set.Video.Wake != nil {
		s.set.Video.Wake.Nudge()
	}
	m.Data = nil
	return m, nil
}

// checkCaptions validates a WebVTT track: its signature, its size, UTF-8;
// the language defaults to "en".
func checkCaptions(u *Upload) error {
	if u.Captions == "" {
		if u.CaptionsLang != "" {
			return invalid("Validation failed: captions_lang without captions")
		}
		return nil
	}
	if len(u.Captions) > MaxCaptionsBytes {
		return invalid("Validation failed: captions are too long (at most %d bytes)", MaxCaptionsBytes)
	}
	c := strings.TrimPrefix(u.Captions, "\ufeff")
	if !utf8.ValidString(c) || !strings.HasPrefix(c, "WEBVTT") || (len(c) > 6 && !strings.ContainsRune(" \t\r\n", rune(c[6]))) {
		return invalid("Validation failed: captions must be a WebVTT file (starting with WEBVTT)")
	}
	u.Captions = c
	if u.CaptionsLang == "" {
		u.CaptionsLang = "en"
	}
	if !validLang(u.CaptionsLang) {
		return invalid("Validation failed: captions_lang must be a language tag (like fr or pt-BR)")
	}
	return nil
}

// validLang accepts a plausible BCP 47 tag: letters, digits and hyphens,
// starting with 2 or 3 letters.
func validLang(l string) bool {
	if len(l) < 2 || len(l) > 35 {
		return false
	}
	for i, part := range strings.Split(l, "-") {
		if part == "" || len(part) > 8 || (i == 0 && (len(part) < 2 || len(part) > 3)) {
			return false
		}
		for _, c := range part {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' && i > 0) {
				return false
			}
		}
	}
	return true
}

type videoPayload struct {
	Media int64 `json:"media"`
}

// RegisterVideo adds the video pool to r: one video at a time (each is
// single-threaded ffmpeg and the machine must keep serving), retried
// three times when the processor fails (not the file).
func (s *Service) RegisterVideo(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:   []string{JobVideo},
		Handle:  s.processVideo,
		Workers: 1,
		Lease:   5 * time.Minute,
		Backoff: jobs.Backoff{Base: 30 * time.Second, Max: 5 * time.Minute, MaxAttempts: 3},
		Wake:    s.set.Video.Wake,
		Now:     func() time.Time { return s.now() },
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// processVideo converts one uploaded video. A file refused for its
// content fails the media (the reason is shown to the uploader) and the
// job is done; a failure of the processor is retried, and fails the
// media on the last attempt.
func (s *Service) processVideo(ctx context.Context, j *jobs.Job) error {
	var p videoPayload
	if err := json.Unmarshal(j.Payload, &p); err != nil {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	m, err := s.store.GetMediaData(ctx, p.Media)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.State != storage.MediaProcessing {
		return nil
	}
	if s.set.Video.Processor == nil {
		return errors.New("videos are not enabled in this process")
	}
	res, dir, err := s.convert(ctx, m)
	// The work directory goes before the outcome is recorded: once the
	// uploader sees it, nothing of the work is left.
	cleanup := func() {
		if dir != "" {
			os.RemoveAll(dir)
			dir = ""
		}
	}
	defer cleanup()
	var reason string
	switch {
	case err == nil:
	case isBadVideo(err):
		reason = videoErrorText(err)
	case j.LastAttempt():
		reason = "Validation failed: the video could not be processed"
	default:
		return err
	}
	if reason != "" {
		// The upload goes too, before the failure is recorded (a retry
		// after a failed recording fails on the missing file, as it
		// should).
		cleanup()
		if m.Path != "" {
			os.Remove(m.Path)
		}
		if ferr := s.store.FailMedia(ctx, m.ID, reason); ferr != nil && !errors.Is(ferr, storage.ErrNotFound) {
			return ferr
		}
		s.log.Info().Err(err).Int64("media", m.ID).Msg("video refused")
		return nil
	}
	done, err := s.storeVideo(m, res)
	if err != nil {
		return err
	}
	cleanup()
	if err := s.store.FinishMedia(ctx, done); err != nil {
		removeFiles(done.Path, done.PosterPath)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		return err
	}
	if m.Path != "" {
		os.Remove(m.Path)
	}
	s.log.Info().Int64("media", m.ID).Bool("remuxed", res.Remuxed).Dur("duration", res.Duration).
		Int("width", res.Width).Int("height", res.Height).Msg("video ready")
	return nil
}

// convert runs the processor on the upload in a private work directory
// (under MediaDir, so that the result is renamed into place).
func (s *Service) convert(ctx context.Context, m storage.Media) (video.Result, string, error) {
	parent := s.set.MediaDir
	if s.set.MediaInDB || parent == "" {
		parent = os.TempDir()
	}
	if err := os.MkdirAll(parent, 0o750); err != nil {
		return video.Result{}, "", fmt.Errorf("publish: video work directory: %w", err)
	}
	dir, err := os.MkdirTemp(parent, ".video-")
	if err != nil {
		return video.Result{}, "", fmt.Errorf("publish: video work directory: %w", err)
	}
	in := filepath.Join(dir, "in")
	if m.Path == "" {
		err = os.WriteFile(in, m.Data, 0o600)
	} else if err = os.Link(m.Path, in); err != nil {
		err = copyFile(m.Path, in)
	}
	if err != nil {
		return video.Result{}, dir, fmt.Errorf("publish: video input: %w", err)
	}
	res, err := s.set.Video.Processor.Process(ctx, dir, "in", video.Limits{MaxDuration: s.set.Video.MaxDuration})
	return res, dir, err
}

// storeVideo puts the converted video and its poster where media live
// and returns the media row to finish.
func (s *Service) storeVideo(m storage.Media, res video.Result) (storage.Media, error) {
	poster, err := media.Process(bytes.NewReader(res.Poster), media.Limits{})
	if err != nil {
		return storage.Media{}, fmt.Errorf("publish: video poster: %w", err)
	}
	done := storage.Media{ID: m.ID, MediaType: "video/mp4", Width: res.Width, Height: res.Height,
		Blurhash: poster.Blurhash, Duration: res.Duration, PosterSize: int64(len(poster.Data))}
	if s.set.MediaInDB {
		if done.Data, err = os.ReadFile(res.Path); err != nil {
			return storage.Media{}, fmt.Errorf("publish: read converted video: %w", err)
		}
		done.Size, done.PosterData = int64(len(done.Data)), poster.Data
		return done, nil
	}
	fi, err := os.Stat(res.Path)
	if err != nil {
		return storage.Media{}, fmt.Errorf("publish: converted video: %w", err)
	}
	done.Size = fi.Size()
	done.Path = filepath.Join(s.set.MediaDir, randomName()+".mp4")
	if err := syncFile(res.Path); err != nil {
		return storage.Media{}, err
	}
	if err := os.Rename(res.Path, done.Path); err != nil {
		return storage.Media{}, fmt.Errorf("publish: store converted video: %w", err)
	}
	if done.PosterPath, err = s.writeBytes(poster.Data, ".jpg"); err != nil {
		os.Remove(done.Path)
		return storage.Media{}, err
	}
	return done, nil
}

func isBadVideo(err error) bool {
	for _, e := range []error{video.ErrUnsupported, video.ErrNoVideo, video.ErrCorrupt, video.ErrTooLong, video.ErrTooLarge, media.ErrCorrupt, media.ErrUnsupported} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// videoErrorText is the reason shown to the uploader.
func videoErrorText(err error) string {
	switch {
	case errors.Is(err, video.ErrUnsupported):
		return "Validation failed: file type not supported (mp4, mov or WebM videos)"
	case errors.Is(err, video.ErrTooLong), errors.Is(err, video.ErrTooLarge), errors.Is(err, video.ErrNoVideo), errors.Is(err, video.ErrCorrupt):
		return "Validation failed: " + strings.TrimPrefix(err.Error(), "video: ")
	}
	return "Validation failed: the video could not be decoded"
}

func randomName() string {
	var rnd [16]byte
	rand.Read(rnd[:])
	return hex.EncodeToString(rnd[:])
}

// writeBytes stores data under MediaDir with a random name and the given
// extension, through a temporary file so that a crash never leaves a
// partial file.
func (s *Service) writeBytes(data []byte, ext string) (string, error) {
	if err := os.MkdirAll(s.set.MediaDir, 0o750); err != nil {
		return "", fmt.Errorf("publish: media directory: %w", err)
	}
	path := filepath.Join(s.set.MediaDir, randomName()+ext)
	tmp, err := os.CreateTemp(s.set.MediaDir, ".upload-*")
	if err != nil {
		return "", fmt.Errorf("publish: write media: %w", err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("publish: write media: %w", err)
	}
	return path, nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("publish: sync video: %w", err)
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("publish: sync video: %w", err)
	}
	return nil
}

func copyFile(from, to string) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(dst, src)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	return err
}

func removeFiles(paths ...string) {
	for _, p := range paths {
		if p != "" {
			os.Remove(p)
		}
	}
}
