package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/reqlog"
	"github.com/passerelle/passerelle/storage"
)

// maxDescription is the alt text limit (publish enforces it too).
const maxDescription = 1500

// multipartOverhead is what a media upload may carry besides the file.
const multipartOverhead = 1 << 20

// uploadTimeout bounds the reading of one media upload.
const uploadTimeout = 10 * time.Minute

// parseFocus parses Mastodon's focus "x,y".
func parseFocus(v string) ([2]float64, error) {
	xs, ys, ok := strings.Cut(v, ",")
	x, err1 := strconv.ParseFloat(strings.TrimSpace(xs), 64)
	y, err2 := strconv.ParseFloat(strings.TrimSpace(ys), 64)
	if !ok || err1 != nil || err2 != nil || x < -1 || x > 1 || y < -1 || y > 1 {
		return [2]float64{}, unprocessable("Validation failed: focus must be two numbers between -1.0 and 1.0")
	}
	return [2]float64{x, y}, nil
}

// uploadLimits are publish's media limits with media's defaults applied.
func (s *Server) uploadLimits() media.Limits {
	lim := s.pub.Limits().MediaLimits
	if lim.MaxBytes <= 0 {
		lim.MaxBytes = media.DefaultMaxBytes
	}
	if lim.MaxPixels <= 0 {
		lim.MaxPixels = media.DefaultMaxPixels
	}
	return lim
}

// maxUpload is the largest file: the image limit, or the video limit
// when videos are enabled and larger.
func (s *Server) maxUpload() int64 { return max(s.uploadLimits().MaxBytes, s.pub.MaxUploadBytes()) }

// uploadMedia stores an image or a video (multipart "file",
// "description", "focus", and for a video Passerelle's "captions", a
// WebVTT file or text, and "captions_lang"). An image is processed at
// once (200); a video is converted in the background: v2 answers 202 with
// url null until it is ready, as Mastodon does (v1 answers 200 with the
// same entity).
func (s *Server) uploadMedia(w http.ResponseWriter, r *http.Request, c *caller) {
	// A large image over a slow mobile uplink takes longer than the
	// server's read timeout, meant for small requests: extend it here.
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(uploadTimeout))
	_ = rc.SetWriteDeadline(time.Now().Add(uploadTimeout + time.Minute))
	limit := s.maxUpload()
	r.Body = http.MaxBytesReader(w, r.Body, limit+multipartOverhead)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		s.fail(w, r, unprocessable("Validation failed: File can't be blank"))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, unprocessable("Validation failed: File can't be blank"))
		return
	}
	var (
		file        []byte
		haveFile    bool
		description string
		focus       [2]float64
		captions    string
		captLang    string
	)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.fail(w, r, uploadReadError(err))
			return
		}
		switch part.FormName() {
		case "file":
			if haveFile {
				s.fail(w, r, unprocessable("Validation failed: only one file per upload"))
				return
			}
			file, err = io.ReadAll(io.LimitReader(part, limit+1))
			if err != nil {
				s.fail(w, r, uploadReadError(err))
				return
			}
			if int64(len(file)) > limit {
				s.fail(w, r, &publish.MediaError{Msg: "File is too large", TooLarge: true})
				return
			}
			haveFile = true
		case "description", "focus", "captions", "captions_lang":
			v, err := io.ReadAll(io.LimitReader(part, 64<<10))
			if err != nil {
				s.fail(w, r, uploadReadError(err))
				return
			}
			switch part.FormName() {
			case "description":
				description = string(v)
			case "captions":
				captions = string(v)
			case "captions_lang":
				captLang = strings.TrimSpace(string(v))
			case "focus":
				if len(v) == 0 {
					break
				}
				if focus, err = parseFocus(string(v)); err != nil {
					s.fail(w, r, err)
					return
				}
			}
		default: // thumbnail and anything else: ignored
			io.Copy(io.Discard, part)
		}
	}
	if !haveFile || len(file) == 0 {
		s.fail(w, r, unprocessable("Validation failed: File can't be blank"))
		return
	}
	m, err := s.pub.Upload(r.Context(), c.name, bytes.NewReader(file), publish.Upload{
		Description: description, FocusX: focus[0], FocusY: focus[1], Captions: captions, CaptionsLang: captLang})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	code := http.StatusOK
	if m.State == storage.MediaProcessing && strings.HasPrefix(r.URL.Path, "/api/v2/") {
		code = http.StatusAccepted
	}
	writeJSON(w, code, s.mediaEntity(m))
}

// uploadReadError: a body over the limit is 413, anything else a
// malformed upload.
func uploadReadError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return &publish.MediaError{Msg: "File is too large", TooLarge: true, Err: err}
	}
	return unprocessable("Validation failed: the upload could not be read")
}

func (s *Server) getMedia(w http.ResponseWriter, r *http.Request, c *caller) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	m, err := s.pub.Media(r.Context(), c.name, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch m.State {
	case storage.MediaProcessing: // Mastodon: 206 until processed
		writeJSON(w, http.StatusPartialContent, s.mediaEntity(m))
	case storage.MediaFailed:
		s.fail(w, r, unprocessable(m.Error))
	default:
		writeJSON(w, http.StatusOK, s.mediaEntity(m))
	}
}

func (s *Server) updateMedia(w http.ResponseWriter, r *http.Request, c *caller) {
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	p, err := parseParams(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var desc *string
	if v, ok := p.get("description"); ok {
		desc = &v
	}
	var focus *[2]float64
	if v := p.str("focus"); v != "" {
		f, err := parseFocus(v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		focus = &f
	}
	m, err := s.pub.UpdateMedia(r.Context(), c.name, id, desc, focus)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.mediaEntity(m))
}

var mediaExt = map[string]string{"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp", "video/mp4": "mp4"}

// mediaFile serves /media/ID and /media/ID.EXT (the extension must match
// the stored type). Files never change: they are cached for a year.
// http.ServeContent answers range requests (video players seek with
// them) and conditional ones.
func (s *Server) mediaFile(w http.ResponseWriter, r *http.Request) {
	idText, ext, hasExt := strings.Cut(r.PathValue("file"), ".")
	s.serveMedia(w, r, idText, ext, hasExt, false)
}

// mediaPoster serves /media/ID/poster.jpg, a video's poster frame.
func (s *Server) mediaPoster(w http.ResponseWriter, r *http.Request) {
	s.serveMedia(w, r, r.PathValue("id"), "", false, true)
}

func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request, idText, ext string, hasExt, poster bool) {
	id, ok := parseID(idText)
	if !ok {
		http.NotFound(w, r)
		return
	}
	open := s.pub.OpenMedia
	if poster {
		open = s.pub.OpenPoster
	}
	m, f, err := open(r.Context(), id)
	if errors.Is(err, publish.ErrNotFound) {
		http.NotFound(w, r)
		return
	}
	if errors.Is(err, publish.ErrGone) { // its post was deleted: gone at once, as the post
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "This media was removed with its post.", http.StatusGone)
		return
	}
	if err != nil {
		reqlog.Logger(r.Context(), s.log).Error().Err(err).Int64("media", id).Msg("open media")
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	if hasExt && !strings.EqualFold(ext, mediaExt[m.MediaType]) && !(ext == "jpeg" && m.MediaType == "image/jpeg") {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	if poster {
		h.Set("Content-Type", "image/jpeg")
		h.Set("ETag", fmt.Sprintf(`"p%d-%d"`, m.ID, m.PosterSize))
	} else {
		h.Set("Content-Type", m.MediaType)
		h.Set("ETag", fmt.Sprintf(`"m%d-%d"`, m.ID, m.Size))
	}
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	http.ServeContent(w, r, "", m.CreatedAt, f)
}

// serveStatic serves one embedded image.
func serveStatic(body []byte) http.HandlerFunc {
	etag := fmt.Sprintf(`"s%x"`, crc(body))
	mod := time.Unix(0, 0)
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "image/png")
		h.Set("Cache-Control", "public, max-age=86400")
		h.Set("ETag", etag)
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", mod, bytes.NewReader(body))
	}
}
