package api

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/passerelle/passerelle/video"
)

// supportedMIMETypes are the images media.Process accepts.
var supportedMIMETypes = []string{"image/jpeg", "image/png", "image/gif", "image/webp"}

// videoMIMETypes are the video types accepted when videos are enabled.
var videoMIMETypes = []string{"video/mp4", "video/quicktime", "video/webm"}

// version is the instance version clients parse: Mastodon's, then ours.
func (s *Server) version() string {
	v := s.set.Version
	if v == "" {
		v = "dev"
	}
	return MastodonVersion + " (compatible; Passerelle " + v + ")"
}

func (s *Server) streamingURL() string {
	if rest, ok := strings.CutPrefix(s.set.BaseURL, "https://"); ok {
		return "wss://" + rest
	}
	return "ws://" + strings.TrimPrefix(s.set.BaseURL, "http://")
}

func (s *Server) statusLimits() map[string]any {
	lim := s.pub.Limits()
	return map[string]any{
		"max_characters":              lim.MaxChars,
		"max_media_attachments":       lim.MaxMedia,
		"characters_reserved_per_url": 23,
	}
}

func (s *Server) mediaLimits(v2 bool) map[string]any {
	lim := s.uploadLimits()
	m := map[string]any{
		"supported_mime_types":   supportedMIMETypes,
		"image_size_limit":       lim.MaxBytes,
		"image_matrix_limit":     lim.MaxPixels,
		"video_size_limit":       0,
		"video_frame_rate_limit": 0,
		"video_matrix_limit":     0,
	}
	if s.pub.VideosEnabled() {
		v := s.pub.Limits().Video
		m["supported_mime_types"] = append(slices.Clone(supportedMIMETypes), videoMIMETypes...)
		m["video_size_limit"] = v.MaxBytes
		m["video_frame_rate_limit"] = 120
		m["video_matrix_limit"] = video.DefaultMaxPixels
	}
	if v2 {
		m["description_limit"] = maxDescription
	}
	return m
}

// contactAccount is the first configured account, or nil.
func (s *Server) contactAccount(ctx context.Context) (any, error) {
	if len(s.order) == 0 {
		return nil, nil
	}
	a, err := s.accountEntity(ctx, s.accounts[s.order[0]], false)
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (s *Server) statusCount(ctx context.Context) (int64, error) {
	var total int64
	for _, name := range s.order {
		n, err := s.store.CountStatuses(ctx, name, nil)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func (s *Server) instanceV1(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	contact, err := s.contactAccount(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	statuses, err := s.statusCount(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"uri":               s.set.HandleDomain,
		"title":             s.set.InstanceTitle,
		"short_description": "",
		"description":       "",
		"email":             "",
		"version":           s.version(),
		"urls":              map[string]any{"streaming_api": s.streamingURL()},
		"stats": map[string]any{
			"user_count": len(s.order), "status_count": statuses, "domain_count": 0,
		},
		"thumbnail":         s.set.BaseURL + "/static/header.png",
		"languages":         []string{},
		"registrations":     false,
		"approval_required": false,
		"invites_enabled":   false,
		"configuration": map[string]any{
			"accounts":          map[string]any{"max_featured_tags": 0},
			"statuses":          s.statusLimits(),
			"media_attachments": s.mediaLimits(false),
			"polls":             s.pollLimits(), // polls.go
		},
		"contact_account": contact,
		"rules":           []any{},
	})
}

func (s *Server) instanceV2(w http.ResponseWriter, r *http.Request) {
	contact, err := s.contactAccount(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"domain":      s.set.HandleDomain,
		"title":       s.set.InstanceTitle,
		"version":     s.version(),
		"source_url":  SourceURL,
		"description": "",
		"usage":       map[string]any{"users": map[string]any{"active_month": len(s.order)}},
		"thumbnail":   map[string]any{"url": s.set.BaseURL + "/static/header.png"},
		"icon":        []any{},
		"languages":   []string{},
		"configuration": map[string]any{
			"urls":              map[string]any{"streaming": s.streamingURL()},
			"vapid":             map[string]any{"public_key": ""},
			"accounts":          map[string]any{"max_featured_tags": 0, "max_pinned_statuses": 5},
			"statuses":          s.statusLimits(),
			"media_attachments": s.mediaLimits(true),
			"polls":             s.pollLimits(), // polls.go
			"translation":       map[string]any{"enabled": false},
		},
		"registrations": map[string]any{"enabled": false, "approval_required": false, "message": nil, "url": nil},
		"api_versions":  map[string]any{"mastodon": 2},
		"contact":       map[string]any{"email": "", "account": contact},
		"rules":         []any{},
	})
}
