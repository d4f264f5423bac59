package xarchive

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/passerelle/passerelle/media"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/storage"
)

// Publisher is what an import needs of the publishing service
// (publish.Service).
type Publisher interface {
	UploadMedia(ctx context.Context, account string, r io.Reader, description string, focusX, focusY float64) (storage.Media, error)
	Import(ctx context.Context, account string, p publish.ImportedPost) (publish.ImportResult, error)
	ImportedStatus(ctx context.Context, account, key string) (storage.Status, error)
}

// Options select what is imported and how.
type Options struct {
	Account         string // our account's username
	IncludeReplies  bool   // replies to other accounts (skipped by default)
	IncludeRetweets bool   // retweets (skipped by default)
	// Since and Until bound the tweets' dates: Since <= date < Until;
	// zero means unbounded.
	Since, Until time.Time
	// DryRun only counts: nothing is written.
	DryRun bool
	// Bluesky also queues the imported posts on the Bluesky mirror.
	Bluesky bool
	// SkipBadMedia imports tweets without their photos that are missing,
	// too large or undecodable; by default such photos stop the import
	// (before anything is written when it can be told from the zip).
	SkipBadMedia bool
	// MaxMediaBytes is the largest photo; 0: media.DefaultMaxBytes.
	MaxMediaBytes int64
	// MaxChars is the publishing limit; 0: publish.DefaultMaxChars.
	MaxChars int
	// TempDir holds the import's working file; "": the system's.
	TempDir string
	// Progress, when set, is called after each tweet of the import.
	Progress func(done, total int)
}

// KeyPrefix prefixes the idempotency key of an imported tweet: "x:<id>".
const KeyPrefix = "x:"

// Skip reasons, as counted in Summary.Skipped.
const (
	SkipRetweet  = "retweets"
	SkipReply    = "replies to other accounts"
	SkipBefore   = "before the date range"
	SkipAfter    = "after the date range"
	SkipTooLong  = "longer than the character limit"
	SkipEmpty    = "nothing left to post (a video or GIF alone)"
	SkipRejected = "refused by validation"
)

// Summary is what an import did (or would do, for a dry run).
type Summary struct {
	Account         Account        `json:"x_account"`
	Tweets          int            `json:"tweets"`           // in the archive
	Selected        int            `json:"selected"`         // after the filters
	Imported        int            `json:"imported"`         // by this run
	AlreadyImported int            `json:"already_imported"` // by an earlier run
	Skipped         map[string]int `json:"skipped"`          // by reason
	Threads         int            `json:"threads"`          // imported as replies to an imported tweet
	Photos          int            `json:"photos"`           // imported
	PhotosSkipped   int            `json:"photos_skipped"`   // bad, with SkipBadMedia
	Videos          int            `json:"videos"`           // videos and GIFs, linked, not imported
	Mirrored        int            `json:"mirrored"`         // queued on the Bluesky mirror
	Errors          []string       `json:"errors,omitempty"` // the first few problems
	Resumed         bool           `json:"resumed"`          // an interrupted run was continued
	Done            bool           `json:"done"`             // every selected tweet was handled
	Elapsed         time.Duration  `json:"elapsed"`
}

const maxErrors = 20

func (s *Summary) skip(reason string) { s.Skipped[reason]++ }

func (s *Summary) problem(format string, args ...any) {
	if len(s.Errors) < maxErrors {
		s.Errors = append(s.Errors, fmt.Sprintf(format, args...))
	}
}

// item is a tweet to import, located in the working file.
type item struct {
	ms  int64 // date, Unix milliseconds
	id  uint64
	off int64
	n   int32
}

// Importer imports one archive into one account.
type Importer struct {
	a     *Archive
	pub   Publisher
	store storage.Store
	opts  Options
	owner string
}

// NewImporter prepares the import of a into opts.Account.
func NewImporter(a *Archive, pub Publisher, store storage.Store, opts Options) *Importer {
	if opts.MaxMediaBytes <= 0 {
		opts.MaxMediaBytes = media.DefaultMaxBytes
	}
	if opts.MaxChars <= 0 {
		opts.MaxChars = publish.DefaultMaxChars
	}
	host, _ := os.Hostname()
	return &Importer{a: a, pub: pub, store: store, opts: opts,
		owner: "import-" + host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10)}
}

// Source is the import's name in the progress records: one per X account.
func (im *Importer) Source() string { return "x:" + im.a.Account.ID }

// ErrBadMedia is photos of the archive that cannot be imported; the import
// was not started (or stopped before the tweet holding them).
var ErrBadMedia = errors.New("xarchive: photos cannot be imported")

// ErrBusy is another import of the same account running.
var ErrBusy = errors.New("xarchive: another import of this account is running")

// Run imports the archive: a first pass reads and checks every tweet and
// selects those to import, writing them to a working file (nothing is
// written to the database if the archive is damaged); a second pass
// imports them oldest first, so that a thread's parent is there before its
// replies. Each tweet is imported once whatever happens (its key is
// "x:<tweet id>"): an interrupted run (ctx cancelled) is resumed by running
// it again. The summary is returned with the error, if any.
func (im *Importer) Run(ctx context.Context) (sum Summary, err error) {
	start := time.Now()
	sum = Summary{Account: im.a.Account, Skipped: map[string]int{}}
	defer func() { sum.Elapsed = time.Since(start) }()

	work, err := os.CreateTemp(im.opts.TempDir, "passerelle-x-archive-*.json")
	if err != nil {
		return sum, fmt.Errorf("xarchive: working file: %w", err)
	}
	defer func() {
		work.Close()
		os.Remove(work.Name())
	}()
	items, err := im.plan(work, &sum)
	if err != nil {
		return sum, err
	}
	if im.opts.DryRun {
		return sum, im.dryRun(ctx, items, &sum)
	}

	lock := "imports/" + im.opts.Account + "/" + im.Source()
	ok, err := im.store.AcquireLock(ctx, lock, im.owner, time.Now(), 10*time.Minute)
	if err != nil {
		return sum, err
	}
	if !ok {
		return sum, fmt.Errorf("%w (%s)", ErrBusy, im.opts.Account)
	}
	defer im.store.ReleaseLock(context.WithoutCancel(ctx), lock, im.owner)

	run := storage.ImportRun{Account: im.opts.Account, Source: im.Source(), State: storage.ImportRunning,
		Total: int64(len(items)), StartedAt: time.Now()}
	if prev, err := im.store.GetImport(ctx, im.opts.Account, im.Source()); err == nil {
		sum.Resumed = prev.State != storage.ImportDone
	} else if !errors.Is(err, storage.ErrNotFound) {
		return sum, err
	}
	err = im.importAll(ctx, work, items, &sum, &run, lock)
	run.UpdatedAt = time.Now()
	switch {
	case err == nil:
		sum.Done = true
		run.State, run.FinishedAt = storage.ImportDone, run.UpdatedAt
	case ctx.Err() != nil:
		run.LastError = "interrupted"
	default:
		run.State, run.LastError, run.FinishedAt = storage.ImportFailed, err.Error(), run.UpdatedAt
	}
	run.Counts, _ = json.Marshal(sum)
	if perr := im.store.PutImport(context.WithoutCancel(ctx), run); perr != nil && err == nil {
		err = perr
	}
	return sum, err
}

// plan reads every tweet, applies the filters, checks the selected
// tweets' photos in the zip directory, and writes the selected tweets to
// work. It returns them oldest first.
func (im *Importer) plan(work *os.File, sum *Summary) ([]item, error) {
	var (
		items []item
		off   int64
		bad   []string
		nBad  int
		own   = im.a.Account.ID
	)
	err := im.a.scanTweets(func(t Tweet, raw []byte) error {
		sum.Tweets++
		switch {
		case t.Retweet && !im.opts.IncludeRetweets:
			sum.skip(SkipRetweet)
			return nil
		case t.InReplyToStatusID != "" && t.InReplyToUserID != own && !im.opts.IncludeReplies:
			sum.skip(SkipReply)
			return nil
		case !im.opts.Since.IsZero() && t.CreatedAt.Before(im.opts.Since):
			sum.skip(SkipBefore)
			return nil
		case !im.opts.Until.IsZero() && !t.CreatedAt.Before(im.opts.Until):
			sum.skip(SkipAfter)
			return nil
		}
		id, err := strconv.ParseUint(t.ID, 10, 64)
		if err != nil {
			return fmt.Errorf("%w: tweet id %q is not a number", ErrNotArchive, t.ID)
		}
		for _, m := range t.Media {
			if m.Type != MediaPhoto {
				sum.Videos++
				continue
			}
			f := im.a.MediaFile(t.ID, m)
			switch {
			case f == nil:
				nBad++
				if len(bad) < 10 {
					bad = append(bad, fmt.Sprintf("tweet %s: photo %s is missing from the archive", t.ID, m.MediaURL))
				}
			case int64(f.UncompressedSize64) > im.opts.MaxMediaBytes:
				nBad++
				if len(bad) < 10 {
					bad = append(bad, fmt.Sprintf("tweet %s: photo %s is %d MB, more than the %d MB allowed",
						t.ID, f.Name, f.UncompressedSize64>>20, im.opts.MaxMediaBytes>>20))
				}
			}
		}
		if _, err := work.Write(raw); err != nil {
			return fmt.Errorf("xarchive: working file: %w", err)
		}
		items = append(items, item{ms: t.CreatedAt.UnixMilli(), id: id, off: off, n: int32(len(raw))})
		off += int64(len(raw))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if nBad > 0 && !im.opts.SkipBadMedia {
		more := ""
		if nBad > len(bad) {
			more = fmt.Sprintf("\n  ... and %d more", nBad-len(bad))
		}
		return nil, fmt.Errorf("%w: %d photo(s) of the tweets to import are missing or too large; nothing was imported:\n  %s%s\n"+
			"Check that the archive is complete (X splits large archives into several zip files), or run again with --skip-bad-media to import these tweets without those photos",
			ErrBadMedia, nBad, strings.Join(bad, "\n  "), more)
	}
	slices.SortFunc(items, func(a, b item) int {
		if c := cmp.Compare(a.ms, b.ms); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	// A tweet listed twice (in two parts) is imported once.
	items = slices.CompactFunc(items, func(a, b item) bool { return a.id == b.id })
	sum.Selected = len(items)
	return items, nil
}

// dryRun counts what an import would do, without writing.
func (im *Importer) dryRun(ctx context.Context, items []item, sum *Summary) error {
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		_, err := im.pub.ImportedStatus(ctx, im.opts.Account, KeyPrefix+strconv.FormatUint(it.id, 10))
		switch {
		case err == nil:
			sum.AlreadyImported++
		case !errors.Is(err, publish.ErrNotFound):
			return err
		}
	}
	sum.Done = true
	return nil
}

// saveEvery is how often the progress record is written.
const saveEvery = 2 * time.Second

func (im *Importer) importAll(ctx context.Context, work *os.File, items []item, sum *Summary, run *storage.ImportRun, lock string) error {
	buf := make([]byte, 0, 4096)
	lastSave := time.Time{}
	save := func(force bool) error {
		if !force && time.Since(lastSave) < saveEvery {
			return nil
		}
		lastSave = time.Now()
		run.UpdatedAt = lastSave
		run.Counts, _ = json.Marshal(sum)
		if err := im.store.PutImport(ctx, *run); err != nil {
			return err
		}
		return im.store.RenewLock(ctx, lock, im.owner, lastSave, 10*time.Minute)
	}
	if err := save(true); err != nil {
		return err
	}
	for i, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf = slices.Grow(buf[:0], int(it.n))[:it.n]
		if _, err := work.ReadAt(buf, it.off); err != nil {
			return fmt.Errorf("xarchive: working file: %w", err)
		}
		t, err := decodeTweet(buf)
		if err != nil {
			return fmt.Errorf("xarchive: working file: %w", err)
		}
		if err := im.importTweet(ctx, t, sum); err != nil {
			return err
		}
		run.Processed = int64(i + 1)
		if im.opts.Progress != nil {
			im.opts.Progress(i+1, len(items))
		}
		if err := save(false); err != nil {
			return err
		}
	}
	return save(true)
}

// importTweet imports one tweet, unless it was imported before.
func (im *Importer) importTweet(ctx context.Context, t Tweet, sum *Summary) error {
	key := KeyPrefix + t.ID
	if _, err := im.pub.ImportedStatus(ctx, im.opts.Account, key); err == nil {
		sum.AlreadyImported++
		return nil
	} else if !errors.Is(err, publish.ErrNotFound) {
		return err
	}
	text := t.PostText()
	var photos []Media
	for _, m := range t.Media {
		if m.Type == MediaPhoto && len(photos) < publish.DefaultMaxMedia {
			photos = append(photos, m)
		}
	}
	// Checked before any photo is stored, so that a skipped tweet leaves
	// nothing behind.
	if render.CountCharacters(text) > im.opts.MaxChars {
		sum.skip(SkipTooLong)
		return nil
	}
	d := publish.Draft{Text: text, Language: t.Language(), Sensitive: t.Sensitive}
	for _, m := range photos {
		id, err := im.uploadPhoto(ctx, t, m)
		if err != nil {
			if ctx.Err() != nil || !isMediaProblem(err) {
				return err
			}
			if !im.opts.SkipBadMedia {
				return fmt.Errorf("%w: %v; run again with --skip-bad-media to import the tweet without it", ErrBadMedia, err)
			}
			sum.PhotosSkipped++
			sum.problem("%v: photo skipped", err)
			continue
		}
		d.MediaIDs = append(d.MediaIDs, id)
	}
	if strings.TrimSpace(d.Text) == "" && len(d.MediaIDs) == 0 {
		sum.skip(SkipEmpty)
		return nil
	}
	if t.InReplyToStatusID != "" && t.InReplyToUserID == im.a.Account.ID {
		if parent, err := im.pub.ImportedStatus(ctx, im.opts.Account, KeyPrefix+t.InReplyToStatusID); err == nil {
			d.InReplyToID = parent.ID
		} else if !errors.Is(err, publish.ErrNotFound) {
			return err
		}
	}
	res, err := im.pub.Import(ctx, im.opts.Account, publish.ImportedPost{Draft: d, CreatedAt: t.CreatedAt, Key: key, Mirror: im.opts.Bluesky})
	var ve *publish.ValidationError
	switch {
	case errors.As(err, &ve):
		sum.skip(SkipRejected)
		sum.problem("tweet %s: %s", t.ID, ve.Msg)
		return nil
	case err != nil:
		return fmt.Errorf("xarchive: import tweet %s: %w", t.ID, err)
	}
	if !res.Created {
		sum.AlreadyImported++
		return nil
	}
	sum.Imported++
	sum.Photos += len(d.MediaIDs)
	if d.InReplyToID != 0 {
		sum.Threads++
	}
	if res.Mirrored {
		sum.Mirrored++
	}
	return nil
}

// mediaProblem is a photo that cannot be imported.
type mediaProblem struct{ err error }

func (e *mediaProblem) Error() string { return e.err.Error() }
func (e *mediaProblem) Unwrap() error { return e.err }

func isMediaProblem(err error) bool {
	var mp *mediaProblem
	return errors.As(err, &mp)
}

// uploadPhoto stores one photo of t, read from the zip. A photo that
// cannot be imported is a *mediaProblem.
func (im *Importer) uploadPhoto(ctx context.Context, t Tweet, m Media) (int64, error) {
	f := im.a.MediaFile(t.ID, m)
	if f == nil {
		return 0, &mediaProblem{fmt.Errorf("tweet %s: %s is missing from the archive", t.ID, m.MediaURL)}
	}
	rc, err := im.a.open(f)
	if err != nil {
		return 0, &mediaProblem{fmt.Errorf("tweet %s: %s: %v", t.ID, f.Name, err)}
	}
	defer rc.Close()
	md, err := im.pub.UploadMedia(ctx, im.opts.Account, rc, m.AltText, 0, 0)
	var me *publish.MediaError
	if errors.As(err, &me) {
		return 0, &mediaProblem{fmt.Errorf("tweet %s: %s: %s", t.ID, f.Name, me.Msg)}
	}
	if err != nil {
		return 0, err
	}
	return md.ID, nil
}
