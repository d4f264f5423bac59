package feeds

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/jobs"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/storage"
)

// Source is one account's feed.
type Source struct {
	Account string
	Feed    config.Feed
}

// Sources lists the feeds of the configured accounts.
func Sources(accounts []config.Account) []Source {
	var out []Source
	for _, a := range accounts {
		for _, f := range a.Feeds {
			out = append(out, Source{Account: a.Username, Feed: f})
		}
	}
	return out
}

// Publisher publishes a post (publish.Service).
type Publisher interface {
	Create(ctx context.Context, account string, d publish.Draft) (storage.Status, error)
}

// Settings configure a Poller.
type Settings struct {
	// MaxChars is the publishing limit posts are fitted to; 0:
	// publish.DefaultMaxChars.
	MaxChars int
	// MaxBody bounds a feed document; 0: DefaultMaxBody.
	MaxBody int64
}

// Poller polls feeds and posts their new entries.
type Poller struct {
	set     Settings
	sources []Source
	store   storage.Store
	pub     Publisher
	client  *http.Client
	log     zerolog.Logger
	now     func() time.Time
	owner   string // of the feeds' locks
}

// NewPoller builds a poller of sources. client must be the SSRF-safe
// client (safehttp.NewClient).
func NewPoller(set Settings, sources []Source, store storage.Store, pub Publisher, client *http.Client, logger zerolog.Logger) *Poller {
	if set.MaxChars <= 0 {
		set.MaxChars = publish.DefaultMaxChars
	}
	if set.MaxBody <= 0 {
		set.MaxBody = DefaultMaxBody
	}
	host, _ := os.Hostname()
	return &Poller{
		set: set, sources: sources, store: store, pub: pub, client: feedClient(client), log: logger, now: time.Now,
		owner: "feeds-" + host + "-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatUint(rand.Uint64()%1e6, 10),
	}
}

// SetClock replaces the clock (tests).
func (p *Poller) SetClock(now func() time.Time) { p.now = now }

// Result is what one poll of a feed did.
type Result struct {
	NotModified bool // the server answered 304
	Entries     int  // entries in the document
	New         int  // entries not seen before
	Posted      int  // new entries posted
	Recorded    int  // new entries recorded without a post (first poll, refused)
	Skipped     int  // older new entries beyond max_posts_per_poll, recorded as skipped
	Deferred    int  // new entries over max_posts_per_hour, left for a later poll
}

// capped reports whether the poll reached a cap.
func (r Result) capped() bool { return r.Skipped > 0 || r.Deferred > 0 }

// JobPoll is the job kind of a feed's polls. Each configured feed has one
// job, keyed by account and URL, that never ends: each run polls the feed
// and puts the job back, due at the feed's next poll. A feed no longer
// configured keeps its job, looked at again daily, so that it comes back
// with its history if the feed is configured again.
const JobPoll = "feed-poll"

// dormantRecheck is how often the job of a feed no longer configured is
// looked at.
const dormantRecheck = 24 * time.Hour

type pollPayload struct {
	Account string `json:"account"`
	URL     string `json:"url"`
}

// pollKey is the key (and ref) of a feed's job.
func pollKey(account, url string) string { return "feed:" + strings.ToLower(account) + ":" + url }

// Register adds the feeds' pool to r: the feeds are polled one at a time,
// each at its interval. Register it even with no feed configured: the
// jobs of feeds no longer configured are still looked at.
func (p *Poller) Register(r *jobs.Runner) error {
	err := r.Register(jobs.Pool{
		Kinds:     []string{JobPoll},
		Handle:    p.handle,
		Workers:   1,
		Lease:     pollLease,
		PollEvery: time.Minute, // polls are on time: the runner remembers when it put them back
		Start:     p.schedule,
		Now:       func() time.Time { return p.now() },
	})
	if err != nil {
		return fmt.Errorf("feeds: %w", err)
	}
	return nil
}

// schedule makes sure every configured feed has its job, due at its next
// poll: a feed polled before a restart waits for the rest of its
// interval; a job due later than that (a shorter interval now) is brought
// forward.
func (p *Poller) schedule(ctx context.Context) error {
	for _, src := range p.sources {
		due := p.now()
		st, err := p.store.GetFeedState(ctx, src.Account, src.Feed.URL)
		switch {
		case err == nil && !st.CheckedAt.IsZero():
			due = st.CheckedAt.Add(src.Feed.IntervalOrDefault())
		case err != nil && !errors.Is(err, storage.ErrNotFound):
			return err
		}
		payload, err := json.Marshal(pollPayload{Account: src.Account, URL: src.Feed.URL})
		if err != nil {
			return err
		}
		key, host := pollKey(src.Account, src.Feed.URL), ""
		if u, err := url.Parse(src.Feed.URL); err == nil {
			host = u.Host
		}
		id, err := p.store.EnqueueJob(ctx, storage.NewJob{Kind: JobPoll, Payload: payload, RunAt: due, Key: key, Host: host, Ref: key})
		if err != nil {
			return err
		}
		j, err := p.store.GetJob(ctx, id)
		if err != nil {
			return err
		}
		switch {
		case j.Status == storage.JobPending && j.RunAt.After(due):
			if err := p.store.RescheduleJob(ctx, id, JobPoll, due); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err // ErrNotFound: claimed meanwhile
			}
		case j.Status == storage.JobDone || j.Status == storage.JobFailed:
			p.log.Error().Str("account", src.Account).Str("feed", src.Feed.URL).Int64("job", id).Str("job_status", j.Status).
				Msg("the feed's job ended; the feed is not polled")
		}
	}
	if len(p.sources) > 0 {
		p.log.Info().Int("feeds", len(p.sources)).Msg("feed polls scheduled")
	}
	return nil
}

// source returns the configured feed of account at url.
func (p *Poller) source(account, url string) (Source, bool) {
	for _, src := range p.sources {
		if strings.EqualFold(src.Account, account) && src.Feed.URL == url {
			return src, true
		}
	}
	return Source{}, false
}

// handle polls a feed and puts its job back for its next poll; a failed
// poll is retried at the next interval too.
func (p *Poller) handle(ctx context.Context, j *jobs.Job) error {
	var pl pollPayload
	if err := json.Unmarshal(j.Payload, &pl); err != nil {
		return jobs.Permanent(fmt.Errorf("undecodable payload: %w", err))
	}
	src, ok := p.source(pl.Account, pl.URL)
	if !ok {
		return jobs.Again(p.now().Add(dormantRecheck)) // no longer configured
	}
	res, err := p.Poll(ctx, src)
	next := p.now().Add(src.Feed.IntervalOrDefault())
	switch {
	case errors.Is(err, errLocked):
		p.log.Debug().Str("account", src.Account).Str("feed", src.Feed.URL).Msg("feed polled by another process")
	case err != nil:
		return jobs.RetryAt(next, err)
	default:
		p.logResult(src, res)
	}
	return jobs.Again(next)
}

// logResult logs what a poll did: one line per poll that reached a cap
// (the state says it too: `bridge feeds`), or that found new entries.
func (p *Poller) logResult(src Source, res Result) {
	log := p.log.With().Str("account", src.Account).Str("feed", src.Feed.URL).Logger()
	switch {
	case res.capped():
		log.Warn().Int("entries", res.Entries).Int("new", res.New).Int("posted", res.Posted).Int("skipped", res.Skipped).
			Int("deferred", res.Deferred).Int("max_posts_per_poll", src.Feed.MaxPostsPerPollOrDefault()).
			Int("max_posts_per_hour", src.Feed.MaxPostsPerHourOrDefault()).Msg("feed post cap reached: " + capNote(res, src.Feed))
	case res.New > 0:
		log.Info().Int("entries", res.Entries).Int("new", res.New).Int("posted", res.Posted).Int("recorded", res.Recorded).Msg("feed polled")
	default:
		log.Debug().Bool("not_modified", res.NotModified).Int("entries", res.Entries).Msg("feed polled, nothing new")
	}
}

var errLocked = errors.New("feeds: feed locked by another process")

// pollLease bounds a poll (fetch and posting), so that a crashed process
// does not keep the feed's lock for long.
const pollLease = 5 * time.Minute

// Poll fetches one feed and posts its new entries. At the first poll the
// entries are only recorded (posted with Backfill). The feed's validators
// are saved only once every new entry was handled, so that an error part
// way retries the same entries at the next poll (each is posted once: the
// post's idempotency key comes from the feed and the entry).
func (p *Poller) Poll(ctx context.Context, src Source) (Result, error) {
	lock := "feeds/" + src.Account + "/" + src.Feed.URL
	ok, err := p.store.AcquireLock(ctx, lock, p.owner, p.now(), pollLease)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{}, errLocked
	}
	defer func() {
		_ = p.store.ReleaseLock(context.WithoutCancel(ctx), lock, p.owner)
	}()
	ctx, cancel := context.WithTimeout(ctx, pollLease)
	defer cancel()

	st, err := p.store.GetFeedState(ctx, src.Account, src.Feed.URL)
	if errors.Is(err, storage.ErrNotFound) {
		st = storage.FeedState{Account: src.Account, URL: src.Feed.URL}
	} else if err != nil {
		return Result{}, err
	}
	res, validators, err := p.poll(ctx, src, st)
	st.CheckedAt = p.now().UTC()
	if err != nil {
		st.LastError = err.Error()
	} else {
		st.LastError = ""
		if res.Deferred == 0 {
			// With entries left for later, the next poll reads the whole
			// document again (a 304 would hide them).
			st.ETag, st.LastModified = validators.ETag, validators.LastModified
		}
		st.FirstRunDone = true
	}
	if res.capped() {
		st.CappedAt, st.CapNote = st.CheckedAt, capNote(res, src.Feed)
	}
	if perr := p.store.PutFeedState(context.WithoutCancel(ctx), st); perr != nil && err == nil {
		err = perr
	}
	return res, err
}

func (p *Poller) poll(ctx context.Context, src Source, st storage.FeedState) (Result, Validators, error) {
	var v Validators
	if st.FirstRunDone { // the first poll reads the whole feed
		v = Validators{ETag: st.ETag, LastModified: st.LastModified}
	}
	f, err := fetch(ctx, p.client, src.Feed.URL, v, p.set.MaxBody)
	if err != nil {
		return Result{}, v, err
	}
	if f.notModified {
		return Result{NotModified: true}, f.validators, nil
	}
	feed, err := Parse(f.body, f.url)
	if err != nil {
		return Result{}, v, err
	}
	res := Result{Entries: len(feed.Entries)}
	var fresh []indexed
	seen := map[string]bool{}
	for i, e := range feed.Entries {
		if seen[e.ID] {
			continue // listed twice in the document
		}
		seen[e.ID] = true
		known, err := p.store.FeedEntrySeen(ctx, src.Account, src.Feed.URL, e.ID)
		if err != nil {
			return res, v, err
		}
		if !known {
			fresh = append(fresh, indexed{e, i})
		}
	}
	res.New = len(fresh)
	// Oldest first: by date, and entries without one in the reverse of
	// the feed's order (feeds list the newest first).
	slices.SortStableFunc(fresh, func(a, b indexed) int {
		if !a.Published.IsZero() && !b.Published.IsZero() {
			if c := a.Published.Compare(b.Published); c != 0 {
				return c
			}
		}
		return cmp.Compare(b.pos, a.pos)
	})
	post := st.FirstRunDone || src.Feed.Backfill
	if post {
		var err error
		if fresh, err = p.capFresh(ctx, src, fresh, &res); err != nil {
			return res, v, err
		}
	}
	for _, e := range fresh {
		var statusID int64
		if post {
			id, err := p.post(ctx, src, e.Entry)
			var ve *publish.ValidationError
			switch {
			case errors.As(err, &ve):
				p.log.Warn().Str("account", src.Account).Str("feed", src.Feed.URL).Str("entry", e.ID).Err(err).
					Msg("feed entry cannot be posted; skipped")
			case err != nil:
				return res, v, fmt.Errorf("post entry %s: %w", e.ID, err)
			default:
				statusID = id
			}
		}
		if _, err := p.store.MarkFeedEntry(ctx, src.Account, src.Feed.URL, e.ID, statusID, p.now()); err != nil {
			return res, v, err
		}
		if statusID != 0 {
			res.Posted++
		} else {
			res.Recorded++
		}
	}
	return res, f.validators, nil
}

type indexed struct {
	Entry
	pos int
}

// capFresh applies the feed's caps to its new entries (oldest first) and
// returns those to post now. Beyond max_posts_per_poll, the newest are
// kept and the older ones recorded as skipped, never posted: a feed that
// suddenly has that many new entries is a flood (a CMS that changed every
// entry's id, an archive put in the feed, a first backfill), and old news
// posted as new would bury the account's followers. Over
// max_posts_per_hour (counting the feed's posts of the last hour), the
// newest of those kept wait for a later poll: a busy hour is spread, not
// lost.
func (p *Poller) capFresh(ctx context.Context, src Source, fresh []indexed, res *Result) ([]indexed, error) {
	if len(fresh) == 0 {
		return fresh, nil
	}
	perPoll, perHour := src.Feed.MaxPostsPerPollOrDefault(), src.Feed.MaxPostsPerHourOrDefault()
	if over := len(fresh) - perPoll; over > 0 {
		for _, e := range fresh[:over] {
			if _, err := p.store.SkipFeedEntry(ctx, src.Account, src.Feed.URL, e.ID, p.now()); err != nil {
				return nil, err
			}
		}
		res.Skipped = over
		fresh = fresh[over:]
	}
	stats, err := p.store.FeedEntryStats(ctx, src.Account, src.Feed.URL, p.now().Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	budget := max(perHour-int(stats.PostedSince), 0)
	if len(fresh) > budget {
		res.Deferred = len(fresh) - budget
		fresh = fresh[:budget]
	}
	return fresh, nil
}

// capNote says what a capped poll did, for the log and the feed's state.
func capNote(res Result, f config.Feed) string {
	var parts []string
	if res.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d new entries, more than max_posts_per_poll (%d): the %d oldest recorded as skipped, never posted",
			res.New, f.MaxPostsPerPollOrDefault(), res.Skipped))
	}
	if res.Deferred > 0 {
		parts = append(parts, fmt.Sprintf("max_posts_per_hour (%d) reached: %d entries wait for a later poll",
			f.MaxPostsPerHourOrDefault(), res.Deferred))
	}
	return strings.Join(parts, "; ")
}

// post publishes an entry, idempotently.
func (p *Poller) post(ctx context.Context, src Source, e Entry) (int64, error) {
	text := PostText(src.Feed.TemplateOrDefault(), e, src.Feed.HashtagText(), p.set.MaxChars)
	st, err := p.pub.Create(ctx, src.Account, publish.Draft{Text: text, IdempotencyKey: EntryKey(src.Feed.URL, e.ID)})
	if err != nil {
		return 0, err
	}
	return st.ID, nil
}

// EntryKey is the idempotency key of the post of a feed's entry.
func EntryKey(feedURL, entryID string) string {
	sum := sha256.Sum256([]byte(feedURL + "\x00" + entryID))
	return "feed:" + hex.EncodeToString(sum[:16])
}
