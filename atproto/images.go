package atproto

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"

	comatproto "github.com/bluesky-social/indigo/api/atproto"
	"github.com/bluesky-social/indigo/api/bsky"
	"github.com/bluesky-social/indigo/atproto/atclient"
	lexutil "github.com/bluesky-social/indigo/lex/util"
	"golang.org/x/sync/singleflight"

	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/storage"
)

// Images are uploaded as blobs after media.Fit has brought them within the
// account's image_max_bytes and 2000 px (re-encoding or scaling down
// rather than failing), each with its alt text and aspect ratio.

// MaxImageSide is the longest side of an uploaded image.
const MaxImageSide = 2000

// fitCache keeps the last images fitted for Bluesky, so that a retry or an
// edit does not re-encode them again, and fits each image once even when
// asked twice at the same time.
type fitCache struct {
	group singleflight.Group
	mu    sync.Mutex
	keys  []string // oldest first
	items map[string]media.Image
}

const fitCacheSize = 8

func (c *fitCache) get(key string) (media.Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	img, ok := c.items[key]
	return img, ok
}

func (c *fitCache) put(key string, img media.Image) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.items == nil {
		c.items = map[string]media.Image{}
	}
	if _, ok := c.items[key]; ok {
		return
	}
	if len(c.keys) >= fitCacheSize {
		delete(c.items, c.keys[0])
		c.keys = c.keys[1:]
	}
	c.keys = append(c.keys, key)
	c.items[key] = img
}

// fitted returns m's image within maxBytes and MaxImageSide.
func (mi *Mirror) fitted(ctx context.Context, m storage.Media, maxBytes int64) (media.Image, error) {
	return mi.fittedData(ctx, m, nil, maxBytes)
}

// fittedData is fitted with the image's bytes when the caller has them
// (nil: read them).
func (mi *Mirror) fittedData(ctx context.Context, m storage.Media, data []byte, maxBytes int64) (media.Image, error) {
	key := strconv.FormatInt(m.ID, 10) + "/" + strconv.FormatInt(maxBytes, 10)
	if img, ok := mi.fits.get(key); ok {
		return img, nil
	}
	v, err, _ := mi.fits.group.Do(key, func() (any, error) {
		if data == nil {
			var err error
			if data, err = mi.mediaBytes(ctx, m); err != nil {
				return nil, err
			}
		}
		img, err := media.Fit(media.Image{Data: data, MediaType: m.MediaType, Width: m.Width, Height: m.Height, Blurhash: m.Blurhash},
			maxBytes, MaxImageSide)
		if err != nil {
			return nil, fmt.Errorf("atproto: image %d: %w", m.ID, err)
		}
		mi.fits.put(key, img)
		return img, nil
	})
	if err != nil {
		return media.Image{}, err
	}
	return v.(media.Image), nil
}

// mediaBytes reads an attachment's bytes, from its file or the database.
func (mi *Mirror) mediaBytes(ctx context.Context, m storage.Media) ([]byte, error) {
	if m.Path != "" {
		data, err := os.ReadFile(m.Path)
		if err != nil {
			return nil, fmt.Errorf("atproto: read media %d: %w", m.ID, err)
		}
		return data, nil
	}
	full, err := mi.store.GetMediaData(ctx, m.ID)
	if err != nil {
		return nil, fmt.Errorf("atproto: read media %d: %w", m.ID, err)
	}
	return full.Data, nil
}

// uploadBlob uploads data as a blob of the account's repo.
func (mi *Mirror) uploadBlob(ctx context.Context, a *account, data []byte, mimeType string) (*lexutil.LexBlob, error) {
	var out comatproto.RepoUploadBlob_Output
	err := mi.call(ctx, a, func(c *atclient.APIClient) error {
		// RepoUploadBlob would send Content-Type */*: say what it is.
		return c.LexDo(ctx, lexutil.Procedure, mimeType, "com.atproto.repo.uploadBlob", nil, bytes.NewReader(data), &out)
	})
	if err != nil {
		return nil, fmt.Errorf("atproto: upload blob: %w", err)
	}
	if out.Blob == nil {
		return nil, fmt.Errorf("atproto: upload blob: no blob in the answer")
	}
	return out.Blob, nil
}

// imageEmbed fits and uploads the status's images.
func (mi *Mirror) imageEmbed(ctx context.Context, a *account, ms []storage.Media) (*bsky.EmbedImages, error) {
	embed := &bsky.EmbedImages{}
	for _, m := range ms {
		img, err := mi.fitted(ctx, m, a.imageLimit())
		if err != nil {
			return nil, err
		}
		blob, err := mi.uploadBlob(ctx, a, img.Data, img.MediaType)
		if err != nil {
			return nil, err
		}
		embed.Images = append(embed.Images, &bsky.EmbedImages_Image{
			Alt:         m.Description,
			Image:       blob,
			AspectRatio: &bsky.EmbedDefs_AspectRatio{Width: int64(img.Width), Height: int64(img.Height)},
		})
	}
	return embed, nil
}

// PrepareMedia fits an uploaded image for Bluesky in the background
// (publish.MediaPreparer), ahead of the post that will carry it, when its
// account is mirrored: apps upload images while their user is still
// writing, so the post then reaches Bluesky without waiting for the
// re-encoding. One image at a time, so that uploads never take every CPU.
func (mi *Mirror) PrepareMedia(m storage.Media, data []byte) {
	a := mi.accounts[lower(m.Account)]
	if a == nil {
		return
	}
	go func() {
		mi.prefitSem <- struct{}{}
		defer func() { <-mi.prefitSem }()
		if _, err := mi.fittedData(context.Background(), m, data, a.imageLimit()); err != nil {
			mi.log.Debug().Err(err).Int64("media", m.ID).Msg("bluesky: prepare image")
		}
	}()
}
