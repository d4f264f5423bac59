package atproto

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"

	"github.com/passerelle/passerelle/storage"
)

// A status's video (publish allows one, alone) becomes the first
// record's app.bsky.embed.video: the mp4 uploaded as a blob of the
// account's repo, with its alt text, aspect ratio and WebVTT captions
// when the upload gave some. A video over Bluesky's limits, or one the
// PDS refuses as too large, is replaced by a link card to the post's
// page, where it plays.

// Bluesky's video limits (app.bsky.embed.video).
const (
	MaxVideoBytes    = 100_000_000
	MaxVideoDuration = 3 * time.Minute
)

// videoIndex is the index of the status's video among its media, or -1.
func videoIndex(ms []storage.Media) int {
	for i, m := range ms {
		if strings.HasPrefix(m.MediaType, "video/") {
			return i
		}
	}
	return -1
}

// videoFits reports whether Bluesky takes the video as an embed.
func videoFits(m storage.Media) bool {
	return m.Size > 0 && m.Size <= MaxVideoBytes && m.Duration > 0 && m.Duration <= MaxVideoDuration
}

// errVideoRefused: the PDS refused the video blob as too large.
var errVideoRefused = errors.New("atproto: the PDS refused the video")

// videoEmbed uploads the video, and its captions, and builds the embed.
func (mi *Mirror) videoEmbed(ctx context.Context, a *account, m storage.Media) (*bsky.EmbedVideo, error) {
	data, err := mi.mediaBytes(ctx, m)
	if err != nil {
		return nil, err
	}
	blob, err := mi.uploadBlob(ctx, a, data, "video/mp4")
	if tooLarge(err) {
		return nil, errVideoRefused
	}
	if err != nil {
		return nil, err
	}
	embed := &bsky.EmbedVideo{Video: blob}
	if m.Loop { // a GIF: the app plays it as one (muted, looping)
		gif := "gif"
		embed.Presentation = &gif
	}
	if m.Description != "" {
		alt := m.Description
		embed.Alt = &alt
	}
	if m.Width > 0 && m.Height > 0 {
		embed.AspectRatio = &bsky.EmbedDefs_AspectRatio{Width: int64(m.Width), Height: int64(m.Height)}
	}
	if m.Captions != "" {
		cb, err := mi.uploadBlob(ctx, a, []byte(m.Captions), "text/vtt")
		if err != nil {
			return nil, err
		}
		embed.Captions = []*bsky.EmbedVideo_Caption{{File: cb, Lang: m.CaptionsLang}}
	}
	return embed, nil
}

// tooLarge matches a PDS's refusal of a blob for its size.
func tooLarge(err error) bool {
	var api *atclient.APIError
	if !errors.As(err, &api) {
		return false
	}
	msg := strings.ToLower(api.Message + " " + api.Name)
	return api.StatusCode == http.StatusRequestEntityTooLarge ||
		api.StatusCode == http.StatusBadRequest && (strings.Contains(msg, "too large") || strings.Contains(msg, "too big"))
}
