package archive

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/storage"
)

// Sink receives the archive's files, one at a time: the writer returned
// by Create is valid until the next Create or Close.
type Sink interface {
	Create(name string) (io.Writer, error)
	Close() error
}

// Open returns a Sink writing to path: a .zip file when path ends in
// ".zip", else a directory (created if needed; existing files with the
// same names are replaced).
func Open(path string) (Sink, error) {
	if strings.EqualFold(filepath.Ext(path), ".zip") {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return nil, fmt.Errorf("archive: %w", err)
		}
		return &zipSink{f: f, w: zip.NewWriter(f)}, nil
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	return &dirSink{dir: path}, nil
}

type zipSink struct {
	f *os.File
	w *zip.Writer
}

func (z *zipSink) Create(name string) (io.Writer, error) { return z.w.Create(name) }

func (z *zipSink) Close() error {
	err := z.w.Close()
	if cerr := z.f.Close(); err == nil {
		err = cerr
	}
	return err
}

type dirSink struct {
	dir string
	cur *os.File
}

func (d *dirSink) Create(name string) (io.Writer, error) {
	if err := d.closeCurrent(); err != nil {
		return nil, err
	}
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("archive: %w", err)
	}
	d.cur = f
	return f, nil
}

func (d *dirSink) closeCurrent() error {
	if d.cur == nil {
		return nil
	}
	err := d.cur.Close()
	d.cur = nil
	return err
}

func (d *dirSink) Close() error { return d.closeCurrent() }

// Summary counts what an archive holds.
type Summary struct {
	Posts        int
	Media        int
	MissingMedia int // media whose bytes could not be read (logged by the caller)
}

// MediaPath is where a media file is stored in the archive, and what the
// outbox's attachment url says.
func MediaPath(m storage.Media) string {
	id := strconv.FormatInt(m.ID, 10)
	return "media_attachments/files/" + id + "/original/" + id + mediaExt(m.MediaType)
}

func mediaExt(mediaType string) string {
	switch mediaType {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "image/webp":
		return ".webp"
	case "video/mp4":
		return ".mp4"
	}
	return ".bin"
}

// Write writes account's archive to sink: its live posts of every
// visibility (the audience is in each activity's to and cc), oldest
// first, and their media. missing is called for each media file that
// could not be read; the archive is written without it.
func Write(ctx context.Context, fed *federation.Service, store storage.Store, account string, sink Sink, missing func(storage.Media, error)) (Summary, error) {
	var sum Summary
	if _, err := fed.ActorDocument(ctx, account); err != nil {
		return sum, err // not one of our accounts
	}
	statuses, err := allStatuses(ctx, store, account)
	if err != nil {
		return sum, err
	}
	// A zip entry must be complete before the next one starts: the media
	// first, then outbox.json (streamed), as Mastodon does.
	written := map[int64]bool{}
	for _, st := range statuses {
		if len(st.MediaIDs) == 0 {
			continue
		}
		media, err := store.ListStatusMedia(ctx, st.ID)
		if err != nil {
			return sum, err
		}
		for _, m := range media {
			if written[m.ID] {
				continue
			}
			if err := copyMedia(ctx, store, sink, m); err != nil {
				if ctx.Err() != nil {
					return sum, ctx.Err()
				}
				sum.MissingMedia++
				if missing != nil {
					missing(m, err)
				}
				continue
			}
			written[m.ID] = true
			sum.Media++
		}
	}
	if err := writeOutbox(ctx, fed, store, sink, statuses, written); err != nil {
		return sum, err
	}
	sum.Posts = len(statuses)
	for _, name := range []string{"likes.json", "bookmarks.json"} {
		if err := writeJSON(sink, name, map[string]any{
			"@context": "https://www.w3.org/ns/activitystreams", "id": name,
			"type": "OrderedCollection", "totalItems": 0, "orderedItems": []any{},
		}); err != nil {
			return sum, err
		}
	}
	if err := writeActor(ctx, fed, account, sink); err != nil {
		return sum, err
	}
	return sum, nil
}

// allStatuses lists the account's live statuses, oldest first.
func allStatuses(ctx context.Context, store storage.Store, account string) ([]storage.Status, error) {
	var out []storage.Status
	for maxID := int64(0); ; {
		page, err := store.ListStatuses(ctx, storage.StatusPage{Account: account, MaxID: maxID, Limit: 200})
		if err != nil {
			return nil, fmt.Errorf("archive: list posts: %w", err)
		}
		out = append(out, page...)
		if len(page) < 200 {
			break
		}
		maxID = page[len(page)-1].ID
	}
	slices.Reverse(out)
	return out, nil
}

func copyMedia(ctx context.Context, store storage.Store, sink Sink, m storage.Media) error {
	var src io.Reader
	if m.Path == "" {
		full, err := store.GetMediaData(ctx, m.ID)
		if err != nil {
			return err
		}
		if full.Data == nil {
			return errors.New("no bytes stored")
		}
		src = bytes.NewReader(full.Data)
	} else {
		f, err := os.Open(m.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	w, err := sink.Create(MediaPath(m))
	if err != nil {
		return err
	}
	_, err = io.Copy(w, src)
	return err
}

// writeOutbox streams outbox.json: one Create per status, with the
// attachments' urls rewritten to their paths in the archive (those whose
// file is missing keep their URL on the bridge).
func writeOutbox(ctx context.Context, fed *federation.Service, store storage.Store, sink Sink, statuses []storage.Status, written map[int64]bool) error {
	w, err := sink.Create("outbox.json")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	for i, st := range statuses {
		act, err := createActivity(ctx, fed, store, st, written)
		if err != nil {
			return err
		}
		if i == 0 {
			// The collection carries the notes' @context, once.
			if err := writeOutboxHead(bw, act["@context"], len(statuses)); err != nil {
				return err
			}
		} else {
			bw.WriteByte(',')
		}
		delete(act, "@context")
		b, err := marshal(act)
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	if len(statuses) == 0 {
		if err := writeOutboxHead(bw, "https://www.w3.org/ns/activitystreams", 0); err != nil {
			return err
		}
	}
	bw.WriteString("]}")
	return bw.Flush()
}

// writeOutboxHead writes the collection up to the opening of orderedItems.
func writeOutboxHead(w *bufio.Writer, atContext any, total int) error {
	head, err := marshal(map[string]any{
		"@context": atContext, "id": "outbox.json", "type": "OrderedCollection", "totalItems": total,
	})
	if err != nil {
		return err
	}
	w.Write(head[:len(head)-1]) // without the closing brace
	_, err = w.WriteString(`,"orderedItems":[`)
	return err
}

// createActivity is the Create of st, as the bridge's outbox serves it,
// its attachments pointing inside the archive.
func createActivity(ctx context.Context, fed *federation.Service, store storage.Store, st storage.Status, written map[int64]bool) (map[string]any, error) {
	var media []storage.Media
	if len(st.MediaIDs) > 0 {
		var err error
		if media, err = store.ListStatusMedia(ctx, st.ID); err != nil {
			return nil, err
		}
	}
	n, err := fed.NoteFromStatus(st, media)
	if err != nil {
		return nil, err
	}
	if err := fed.ApplyStatusPolicy(ctx, store, &n, st.ID); err != nil {
		return nil, err
	}
	for j, m := range media {
		if written[m.ID] && j < len(n.Attachments) {
			n.Attachments[j].URL = MediaPath(m)
		}
	}
	raw, err := federation.EncodeNoteActivity("Create", n)
	if err != nil {
		return nil, err
	}
	var act map[string]any
	if err := json.Unmarshal(raw, &act); err != nil {
		return nil, err
	}
	return act, nil
}

// writeActor writes actor.json: the actor document as served, with its
// collections pointing inside the archive, as in Mastodon's archives.
func writeActor(ctx context.Context, fed *federation.Service, account string, sink Sink) error {
	doc, err := fed.ActorDocument(ctx, account)
	if err != nil {
		return err
	}
	var actor map[string]any
	if err := json.Unmarshal(doc, &actor); err != nil {
		return err
	}
	actor["outbox"] = "outbox.json"
	actor["likes"] = "likes.json"
	actor["bookmarks"] = "bookmarks.json"
	return writeJSON(sink, "actor.json", actor)
}

func writeJSON(sink Sink, name string, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	w, err := sink.Create(name)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// marshal encodes without escaping <, > and & (HTML content stays
// readable).
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}
