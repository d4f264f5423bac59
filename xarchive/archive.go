package xarchive

import (
	"archive/zip"
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// ErrNotArchive is an input that is not an X archive (or is damaged).
var ErrNotArchive = errors.New("xarchive: not an X archive")

// Account is the archive's X account.
type Account struct {
	ID          string // numeric account id
	Username    string // screen name, without "@"
	DisplayName string
}

// Archive is an opened X archive.
type Archive struct {
	zr      *zip.Reader
	closer  io.Closer
	limits  Limits
	read    atomic.Int64 // bytes decompressed so far
	Account Account
	parts   []*zip.File          // tweets.js and its parts, in order
	media   map[string]*zip.File // media files by path
	// Size is the uncompressed size of the tweet files.
	Size int64
}

// Limits bound what reading an archive decompresses: a zip is easily
// made to decompress to far more than it weighs (a "zip bomb"), and a
// damaged or forged archive must be refused before it costs memory or
// hours. Zero fields take the defaults.
type Limits struct {
	// MaxTweetBytes bounds one tweet's JSON; default MaxTweetBytes. A
	// tweet is held in memory while it is decoded: memory stays within
	// about twice this bound whatever the archive.
	MaxTweetBytes int64
	// MaxEntryBytes bounds what one file of the zip (a tweets file, a
	// photo) decompresses to; default DefaultMaxEntryBytes.
	MaxEntryBytes int64
	// MaxTotalBytes bounds what the whole import decompresses (the tweet
	// files and the photos read); default DefaultMaxTotalBytes.
	MaxTotalBytes int64
}

// Default limits: far above the largest real archives' tweet files
// (a few hundred MB for 100,000 tweets), far below what a zip bomb claims.
const (
	DefaultMaxEntryBytes = 4 << 30
	DefaultMaxTotalBytes = 64 << 30
)

func (l Limits) withDefaults() Limits {
	if l.MaxTweetBytes <= 0 {
		l.MaxTweetBytes = MaxTweetBytes
	}
	if l.MaxEntryBytes <= 0 {
		l.MaxEntryBytes = DefaultMaxEntryBytes
	}
	if l.MaxTotalBytes <= 0 {
		l.MaxTotalBytes = DefaultMaxTotalBytes
	}
	return l
}

// Open opens the archive at path, with the default Limits.
func Open(path string) (*Archive, error) { return OpenWith(path, Limits{}) }

// OpenWith opens the archive at path within limits.
func OpenWith(path string, limits Limits) (*Archive, error) {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s cannot be read as a zip file (damaged or partly downloaded?): %v", ErrNotArchive, path, err)
	}
	a, err := newArchive(&zr.Reader, limits)
	if err != nil {
		zr.Close()
		return nil, err
	}
	a.closer = zr
	return a, nil
}

// NewReader reads an archive from r, with the default Limits.
func NewReader(r io.ReaderAt, size int64) (*Archive, error) { return NewReaderWith(r, size, Limits{}) }

// NewReaderWith reads an archive from r within limits.
func NewReaderWith(r io.ReaderAt, size int64, limits Limits) (*Archive, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: not a zip file (damaged or partly downloaded?): %v", ErrNotArchive, err)
	}
	return newArchive(zr, limits)
}

// gib formats a size in GiB.
func gib(n uint64) string { return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30)) }

// tooLarge is the error of a file over the limits.
func tooLarge(name, what string) error {
	return fmt.Errorf("%w: %s %s (a zip bomb, or a damaged archive?)", ErrNotArchive, name, what)
}

// open opens a file of the zip, counting what it decompresses against the
// per-file and total bounds. (The zip reader itself refuses to
// decompress more than a file's header declares.)
func (a *Archive) open(f *zip.File) (io.ReadCloser, error) {
	if f.UncompressedSize64 > uint64(a.limits.MaxEntryBytes) {
		return nil, tooLarge(f.Name, fmt.Sprintf("would decompress to %s, more than the %s allowed for one file",
			gib(f.UncompressedSize64), gib(uint64(a.limits.MaxEntryBytes))))
	}
	rc, err := f.Open()
	if err != nil {
		return nil, err
	}
	return &countedFile{ReadCloser: rc, a: a, name: f.Name}, nil
}

// countedFile counts what is read of a zip file.
type countedFile struct {
	io.ReadCloser
	a    *Archive
	name string
	n    int64
}

func (c *countedFile) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n += int64(n)
	total := c.a.read.Add(int64(n))
	switch {
	case c.n > c.a.limits.MaxEntryBytes:
		return n, tooLarge(c.name, fmt.Sprintf("decompresses to more than the %s allowed for one file", gib(uint64(c.a.limits.MaxEntryBytes))))
	case total > c.a.limits.MaxTotalBytes:
		return n, tooLarge(c.name, fmt.Sprintf("takes what the archive decompresses over the %s allowed in all", gib(uint64(c.a.limits.MaxTotalBytes))))
	}
	return n, err
}

// Close closes the archive file.
func (a *Archive) Close() error {
	if a.closer != nil {
		return a.closer.Close()
	}
	return nil
}

var tweetPartRE = regexp.MustCompile(`^tweets?(-part(\d+))?\.js$`)

func newArchive(zr *zip.Reader, limits Limits) (*Archive, error) {
	a := &Archive{zr: zr, media: map[string]*zip.File{}, limits: limits.withDefaults()}
	type part struct {
		n int
		f *zip.File
	}
	var parts []part
	var account *zip.File
	for _, f := range zr.File {
		name := strings.TrimPrefix(path.Clean("/"+f.Name), "/")
		dir, base := path.Split(name)
		if dir != "data/" {
			if strings.HasPrefix(dir, "data/tweets_media/") || strings.HasPrefix(dir, "data/tweet_media/") {
				a.media[name] = f
			}
			continue
		}
		if base == "account.js" {
			account = f
		}
		if m := tweetPartRE.FindStringSubmatch(base); m != nil {
			n, _ := strconv.Atoi(m[2]) // "" (part 0) gives 0
			if m[1] != "" && n == 0 {
				n = -1 // "-part0" sorts before "-part1" yet after the unnumbered file
			}
			parts = append(parts, part{n, f})
		}
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("%w: no data/tweets.js in the zip file: is this the archive X sends (\"Download an archive of your data\"), unpacked and zipped again without its data folder?", ErrNotArchive)
	}
	if account == nil {
		return nil, fmt.Errorf("%w: no data/account.js in the zip file (incomplete archive?)", ErrNotArchive)
	}
	slices.SortStableFunc(parts, func(x, y part) int { return x.n - y.n })
	var total uint64
	for _, p := range parts {
		if p.f.UncompressedSize64 > uint64(a.limits.MaxEntryBytes) {
			return nil, tooLarge(p.f.Name, fmt.Sprintf("would decompress to %s, more than the %s allowed for one file",
				gib(p.f.UncompressedSize64), gib(uint64(a.limits.MaxEntryBytes))))
		}
		total += p.f.UncompressedSize64
		a.parts = append(a.parts, p.f)
	}
	if total > uint64(a.limits.MaxTotalBytes) {
		return nil, fmt.Errorf("%w: the tweet files would decompress to %s in all, more than the %s allowed (a zip bomb, or a damaged archive?)",
			ErrNotArchive, gib(total), gib(uint64(a.limits.MaxTotalBytes)))
	}
	a.Size = int64(total)
	var err error
	if a.Account, err = readAccount(account); err != nil {
		return nil, err
	}
	return a, nil
}

// readAccount reads data/account.js.
func readAccount(f *zip.File) (Account, error) {
	if f.UncompressedSize64 > 1<<20 {
		return Account{}, fmt.Errorf("%w: data/account.js is too large", ErrNotArchive)
	}
	rc, err := f.Open()
	if err != nil {
		return Account{}, fmt.Errorf("%w: data/account.js: %v", ErrNotArchive, err)
	}
	defer rc.Close()
	br := bufio.NewReader(io.LimitReader(rc, 1<<20))
	if err := skipPrefix(br); err != nil {
		return Account{}, fmt.Errorf("%w: data/account.js: %v", ErrNotArchive, err)
	}
	var v []struct {
		Account struct {
			AccountID          string `json:"accountId"`
			Username           string `json:"username"`
			AccountDisplayName string `json:"accountDisplayName"`
		} `json:"account"`
	}
	if err := json.NewDecoder(br).Decode(&v); err != nil || len(v) == 0 || v[0].Account.Username == "" {
		return Account{}, fmt.Errorf("%w: data/account.js names no account (damaged archive?)", ErrNotArchive)
	}
	acc := v[0].Account
	return Account{ID: acc.AccountID, Username: acc.Username, DisplayName: acc.AccountDisplayName}, nil
}

// skipPrefix consumes the JavaScript assignment "window.YTD.x.part0 = "
// before the JSON value (absent in some tools' re-exports).
func skipPrefix(br *bufio.Reader) error {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return fmt.Errorf("empty file")
		}
		switch b[0] {
		case '[', '{':
			return nil
		case '=':
			_, _ = br.ReadByte()
			return nil
		}
		if _, err := br.ReadByte(); err != nil {
			return err
		}
	}
}

// MediaFile returns the zip entry of a tweet's media, or nil.
func (a *Archive) MediaFile(tweetID string, m Media) *zip.File {
	name := path.Base(m.MediaURL)
	if name == "." || name == "/" || name == "" {
		return nil
	}
	for _, dir := range []string{"data/tweets_media/", "data/tweet_media/"} {
		if f := a.media[dir+tweetID+"-"+name]; f != nil {
			return f
		}
	}
	return nil
}

// Tweet is one tweet of the archive.
type Tweet struct {
	ID                  string
	CreatedAt           time.Time
	FullText            string // as in the archive: t.co links, &amp; &lt; &gt; escaped
	Lang                string
	InReplyToStatusID   string
	InReplyToUserID     string
	InReplyToScreenName string
	Retweet             bool
	Sensitive           bool
	// DisplayStart is where the text shown by X starts (after the
	// "@name " prefix of a reply), in characters; -1 when unknown.
	DisplayStart int
	URLs         []URL
	Mentions     []Mention
	Media        []Media
}

// URL is a t.co link of a tweet and what it stands for.
type URL struct {
	Short    string // https://t.co/...
	Expanded string
}

// Mention is an @mention of an X account.
type Mention struct {
	ScreenName string
	ID         string
}

// Media types.
const (
	MediaPhoto = "photo"
	MediaVideo = "video"
	MediaGIF   = "animated_gif"
)

// Media is a tweet's photo, video or GIF.
type Media struct {
	ID       string
	Type     string // MediaPhoto, MediaVideo or MediaGIF
	Short    string // the t.co link in the text
	Expanded string // the link to the media on X
	MediaURL string // https://pbs.twimg.com/media/NAME.jpg: names the file
	AltText  string // ext_alt_text, when the archive has it (rarely)
}

// rawTweet is a tweet as the archive writes it. Numbers are strings
// there; booleans are accepted both ways.
type rawTweet struct {
	ID                  string    `json:"id_str"`
	CreatedAt           string    `json:"created_at"`
	FullText            *string   `json:"full_text"`
	Text                string    `json:"text"`
	Lang                string    `json:"lang"`
	InReplyToStatusID   string    `json:"in_reply_to_status_id_str"`
	InReplyToUserID     string    `json:"in_reply_to_user_id_str"`
	InReplyToScreenName string    `json:"in_reply_to_screen_name"`
	Retweeted           flexBool  `json:"retweeted"`
	PossiblySensitive   flexBool  `json:"possibly_sensitive"`
	DisplayTextRange    []flexInt `json:"display_text_range"`
	Entities            struct {
		URLs []struct {
			URL         string `json:"url"`
			ExpandedURL string `json:"expanded_url"`
		} `json:"urls"`
		UserMentions []struct {
			ScreenName string `json:"screen_name"`
			ID         string `json:"id_str"`
		} `json:"user_mentions"`
		Media []rawMedia `json:"media"`
	} `json:"entities"`
	ExtendedEntities struct {
		Media []rawMedia `json:"media"`
	} `json:"extended_entities"`
}

type rawMedia struct {
	ID            string `json:"id_str"`
	Type          string `json:"type"`
	URL           string `json:"url"`
	ExpandedURL   string `json:"expanded_url"`
	MediaURL      string `json:"media_url"`
	MediaURLHTTPS string `json:"media_url_https"`
	ExtAltText    string `json:"ext_alt_text"`
}

// element is an item of the tweets array: {"tweet": {...}} in current
// archives, the tweet itself in older ones.
type element struct {
	Tweet *rawTweet `json:"tweet"`
	rawTweet
}

// flexBool decodes true, false, "true" and "false".
type flexBool bool

func (b *flexBool) UnmarshalJSON(data []byte) error {
	s := strings.Trim(string(data), `"`)
	*b = flexBool(s == "true" || s == "1")
	return nil
}

// flexInt decodes 12 and "12".
type flexInt int

func (n *flexInt) UnmarshalJSON(data []byte) error {
	v, err := strconv.Atoi(strings.Trim(string(data), `"`))
	*n = flexInt(v)
	return err
}

// createdAtLayout is the archive's date format: "Wed Oct 10 20:19:24 +0000 2018".
const createdAtLayout = "Mon Jan 02 15:04:05 -0700 2006"

// twitterEpochMS is the time origin of tweet ids (snowflakes), in Unix ms.
const twitterEpochMS = 1288834974657

// decodeTweet turns an array element into a Tweet.
func decodeTweet(data []byte) (Tweet, error) {
	var el element
	if err := json.Unmarshal(data, &el); err != nil {
		return Tweet{}, err
	}
	rt := &el.rawTweet
	if el.Tweet != nil {
		rt = el.Tweet
	}
	if rt.ID == "" {
		return Tweet{}, errors.New("a tweet without id_str")
	}
	created, err := time.Parse(createdAtLayout, rt.CreatedAt)
	if err != nil {
		if created, err = time.Parse(time.RFC3339, rt.CreatedAt); err != nil {
			return Tweet{}, fmt.Errorf("tweet %s: unreadable created_at %q", rt.ID, rt.CreatedAt)
		}
	}
	// created_at has whole seconds; the id (a snowflake) has milliseconds.
	if id, err := strconv.ParseInt(rt.ID, 10, 64); err == nil && id > 1<<32 {
		if ms := id>>22 + twitterEpochMS; ms/1000 == created.Unix() {
			created = time.UnixMilli(ms)
		}
	}
	t := Tweet{
		ID: rt.ID, CreatedAt: created.UTC(), Lang: rt.Lang,
		InReplyToStatusID: rt.InReplyToStatusID, InReplyToUserID: rt.InReplyToUserID, InReplyToScreenName: rt.InReplyToScreenName,
		Retweet: bool(rt.Retweeted), Sensitive: bool(rt.PossiblySensitive), DisplayStart: -1,
	}
	if len(rt.DisplayTextRange) == 2 {
		t.DisplayStart = int(rt.DisplayTextRange[0])
	}
	if rt.FullText != nil {
		t.FullText = *rt.FullText
	} else {
		t.FullText = rt.Text
	}
	if strings.HasPrefix(t.FullText, "RT @") {
		t.Retweet = true
	}
	for _, u := range rt.Entities.URLs {
		t.URLs = append(t.URLs, URL{Short: u.URL, Expanded: u.ExpandedURL})
	}
	for _, m := range rt.Entities.UserMentions {
		t.Mentions = append(t.Mentions, Mention{ScreenName: m.ScreenName, ID: m.ID})
	}
	media := rt.ExtendedEntities.Media // all of them; entities.media has the first only
	if len(media) == 0 {
		media = rt.Entities.Media
	}
	for _, m := range media {
		mu := m.MediaURLHTTPS
		if mu == "" {
			mu = m.MediaURL
		}
		t.Media = append(t.Media, Media{ID: m.ID, Type: m.Type, Short: m.URL, Expanded: m.ExpandedURL, MediaURL: mu, AltText: m.ExtAltText})
	}
	return t, nil
}

// MaxTweetBytes bounds one tweet's JSON: a larger one means a damaged file.
const MaxTweetBytes = 1 << 20

// scanTweets decodes the tweet files one tweet at a time, calling fn with
// each tweet and its raw JSON (fn may keep it). A decoding error names the
// file and the tweet's position.
func (a *Archive) scanTweets(fn func(t Tweet, raw []byte) error) error {
	for _, f := range a.parts {
		if err := a.scanPart(f, fn); err != nil {
			return err
		}
	}
	return nil
}

func (a *Archive) scanPart(f *zip.File, fn func(t Tweet, raw []byte) error) error {
	rc, err := a.open(f)
	if errors.Is(err, ErrNotArchive) {
		return err
	}
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotArchive, f.Name, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 64<<10)
	if err := skipPrefix(br); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrNotArchive, f.Name, err)
	}
	// The decoder reads a tweet until its end, however long: the bounded
	// reader stops it once a tweet is longer than MaxTweetBytes.
	lim := &tweetBound{r: br, max: a.limits.MaxTweetBytes}
	dec := json.NewDecoder(lim)
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return fmt.Errorf("%w: %s does not hold an array of tweets", ErrNotArchive, f.Name)
	}
	for n := 1; dec.More(); n++ {
		lim.start = dec.InputOffset()
		var msg json.RawMessage
		if err := dec.Decode(&msg); err != nil {
			switch {
			case errors.Is(err, errTweetTooLarge):
				return fmt.Errorf("%w: %s: tweet %d is larger than %d bytes (damaged file, or not an X archive?)",
					ErrNotArchive, f.Name, n, a.limits.MaxTweetBytes)
			case errors.Is(err, ErrNotArchive): // over the per-file or total bound
				return err
			}
			return fmt.Errorf("%w: %s: tweet %d: %v (damaged or truncated file?)", ErrNotArchive, f.Name, n, err)
		}
		if int64(len(msg)) > a.limits.MaxTweetBytes {
			return fmt.Errorf("%w: %s: tweet %d is %d bytes long, more than %d", ErrNotArchive, f.Name, n, len(msg), a.limits.MaxTweetBytes)
		}
		t, err := decodeTweet(msg)
		if err != nil {
			return fmt.Errorf("%w: %s: tweet %d: %v", ErrNotArchive, f.Name, n, err)
		}
		if err := fn(t, msg); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: %s ends before its last tweet (truncated file?): %v", ErrNotArchive, f.Name, err)
	}
	return nil
}

var errTweetTooLarge = errors.New("tweet too large")

// tweetBound reads for a json.Decoder, failing once the decoder has been
// handed more than max bytes (plus its read-ahead) since start, the input
// offset where the current tweet began: a tweet of any length costs at
// most about twice max of memory.
type tweetBound struct {
	r      io.Reader
	max    int64
	start  int64 // decoder's input offset at the start of the current value
	handed int64 // bytes handed to the decoder
}

// tweetReadAhead is how far past a value the decoder may have read.
const tweetReadAhead = 64 << 10

func (b *tweetBound) Read(p []byte) (int, error) {
	if b.handed-b.start > b.max+tweetReadAhead {
		return 0, errTweetTooLarge
	}
	n, err := b.r.Read(p)
	b.handed += int64(n)
	return n, err
}

// Errors of CheckAccount.
var (
	// ErrOtherAccount is an archive of another X account than the one
	// configured (notice.x_handle).
	ErrOtherAccount = errors.New("xarchive: archive of another X account")
	// ErrUnknownAccount is an account whose X handle is not configured,
	// so that the archive cannot be checked.
	ErrUnknownAccount = errors.New("xarchive: the account's X handle is not configured")
)

// CheckAccount checks that the archive is of the X account xHandle
// ("@VilleDeTest" or "VilleDeTest", compared case-insensitively).
func (a *Archive) CheckAccount(xHandle string) error {
	want := strings.TrimPrefix(strings.TrimSpace(xHandle), "@")
	if want == "" {
		return fmt.Errorf("%w: the archive is of @%s; set notice.x_handle, or pass --force to import it anyway", ErrUnknownAccount, a.Account.Username)
	}
	if !strings.EqualFold(want, a.Account.Username) {
		return fmt.Errorf("%w: the archive is of @%s, but the account's notice.x_handle is @%s; pass --force if this is right", ErrOtherAccount, a.Account.Username, want)
	}
	return nil
}
