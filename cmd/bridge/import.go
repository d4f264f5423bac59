package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/passerelle/passerelle/xarchive"
)

const importUsage = `usage: bridge import x-archive --account NAME [options] ARCHIVE.zip

Backfills the account's outbox with the tweets of X's data export, with
their original dates, quietly: nothing is delivered to followers. Running
it again imports only what is missing (an interrupted import resumes).

Options:
  --since YYYY-MM-DD    only tweets from that day on
  --until YYYY-MM-DD    only tweets up to that day (included)
  --include-replies     also replies to other accounts (skipped by default)
  --include-retweets    also retweets (skipped by default)
  --dry-run             count what would be imported; write nothing
  --bluesky             also backfill the account's Bluesky mirror (original dates)
  --skip-bad-media      import tweets without their missing or broken photos
  --force               import an archive of another X account than notice.x_handle`

// cmdImport dispatches "bridge import SOURCE".
func cmdImport(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "x-archive" {
		return usageError{importUsage}
	}
	return cmdImportX(ctx, path, args[1:], stdout, stderr)
}

func cmdImportX(ctx context.Context, path string, args []string, stdout, stderr io.Writer) error {
	fs := commandFlags("import x-archive", &path, stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, importUsage) }
	account := fs.String("account", "", "account username")
	since := fs.String("since", "", "first day, YYYY-MM-DD")
	until := fs.String("until", "", "last day, YYYY-MM-DD")
	replies := fs.Bool("include-replies", false, "also replies to other accounts")
	retweets := fs.Bool("include-retweets", false, "also retweets")
	dryRun := fs.Bool("dry-run", false, "count only")
	bluesky := fs.Bool("bluesky", false, "also backfill Bluesky")
	skipBad := fs.Bool("skip-bad-media", false, "skip missing or broken photos")
	force := fs.Bool("force", false, "import an archive of another X account")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *account == "" || len(pos) != 1 {
		return usageError{importUsage}
	}
	opts := xarchive.Options{Account: strings.ToLower(*account), IncludeReplies: *replies, IncludeRetweets: *retweets,
		DryRun: *dryRun, Bluesky: *bluesky, SkipBadMedia: *skipBad}
	for _, d := range []struct {
		flag, v string
		t       *time.Time
		add     int
	}{{"--since", *since, &opts.Since, 0}, {"--until", *until, &opts.Until, 1}} {
		if d.v == "" {
			continue
		}
		day, err := time.Parse(time.DateOnly, d.v)
		if err != nil {
			return usageError{fmt.Sprintf("%s %s: want a date such as 2024-12-31", d.flag, d.v)}
		}
		*d.t = day.AddDate(0, 0, d.add)
	}
	if !opts.Since.IsZero() && !opts.Until.IsZero() && !opts.Since.Before(opts.Until) {
		return usageError{"--since must be before --until"}
	}

	cfg, err := loadConfig(path, stderr)
	if err != nil {
		return err
	}
	acc, ok := cfg.Account(opts.Account)
	if !ok {
		return fmt.Errorf("no account %q in %s", *account, path)
	}
	if opts.Bluesky && !acc.Bluesky.Enabled() {
		return fmt.Errorf("--bluesky: account %q is not mirrored to Bluesky (no bluesky section in %s)", acc.Username, path)
	}
	archive, err := xarchive.Open(pos[0])
	if err != nil {
		return err
	}
	defer archive.Close()
	if err := archive.CheckAccount(acc.Notice.XHandle); err != nil {
		if !*force {
			return err
		}
		fmt.Fprintf(stderr, "bridge: --force: %v\n", err)
	}
	a, err := newApp(ctx, cfg, newLogger(cfg.Log, stderr))
	if err != nil {
		return err
	}
	defer a.Close()
	set := publishSettings(cfg)
	opts.MaxMediaBytes, opts.MaxChars = set.MediaLimits.MaxBytes, a.pub.Limits().MaxChars
	if opts.MaxMediaBytes == 0 {
		opts.MaxMediaBytes = 16 << 20
	}
	bar := newProgressBar(stderr, "importing tweets")
	opts.Progress = bar.update
	verb := "importing"
	if opts.DryRun {
		verb = "counting (dry run)"
	}
	fmt.Fprintf(stderr, "%s the tweets of @%s (%s) into @%s...\n", verb, archive.Account.Username, pos[0], cfg.Handle(acc.Username))
	sum, err := xarchive.NewImporter(archive, a.pub, a.store, opts).Run(ctx)
	bar.finish()
	printImportSummary(stdout, sum, opts)
	switch {
	case err != nil && ctx.Err() != nil:
		return fmt.Errorf("interrupted: run the same command again to resume (%d imported so far are kept)", sum.Imported)
	case errors.Is(err, xarchive.ErrBadMedia), errors.Is(err, xarchive.ErrNotArchive):
		return err
	case err != nil:
		return fmt.Errorf("import stopped: %w; run the same command again to resume", err)
	}
	return nil
}

// printImportSummary writes what the import did.
func printImportSummary(w io.Writer, s xarchive.Summary, o xarchive.Options) {
	if s.Tweets == 0 && s.Selected == 0 {
		return
	}
	line := func(label string, n int) {
		if n > 0 {
			fmt.Fprintf(w, "  %-42s %7d\n", label, n)
		}
	}
	fmt.Fprintf(w, "X archive of @%s: %d tweets\n", s.Account.Username, s.Tweets)
	if o.DryRun {
		line("would be imported", s.Selected-s.AlreadyImported)
		line("already imported", s.AlreadyImported)
	} else {
		line("imported", s.Imported)
		line("  of which replies in a thread", s.Threads)
		line("  photos", s.Photos)
		line("already imported (earlier run)", s.AlreadyImported)
		line("queued for Bluesky", s.Mirrored)
	}
	reasons := make([]string, 0, len(s.Skipped))
	for r := range s.Skipped {
		reasons = append(reasons, r)
	}
	slices.Sort(reasons)
	for _, r := range reasons {
		line("skipped: "+r, s.Skipped[r])
	}
	line("videos and GIFs (not imported; linked)", s.Videos)
	line("photos skipped (--skip-bad-media)", s.PhotosSkipped)
	for _, e := range s.Errors {
		fmt.Fprintf(w, "  ! %s\n", e)
	}
	switch {
	case s.Done && !o.DryRun:
		fmt.Fprintf(w, "done in %s; nothing was sent to followers\n", s.Elapsed.Round(time.Millisecond))
	case !s.Done && !o.DryRun && s.Selected > 0:
		fmt.Fprintf(w, "not finished: %d of %d tweets handled\n", s.Imported+s.AlreadyImported+skippedLate(s), s.Selected)
	}
}

// skippedLate counts the selected tweets skipped during the import (not
// by the filters).
func skippedLate(s xarchive.Summary) int {
	return s.Skipped[xarchive.SkipTooLong] + s.Skipped[xarchive.SkipEmpty] + s.Skipped[xarchive.SkipRejected]
}

// progressBar draws "\r[=====>    ] 42% 4213/10000 1234/s" on a terminal,
// and writes a line every 10 s otherwise (logs, CI).
type progressBar struct {
	w        io.Writer
	label    string
	terminal bool
	start    time.Time

	mu      sync.Mutex
	last    time.Time
	drawn   bool
	done    int
	total   int
	lastPct int
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, terminal: isTerminal(w), start: time.Now(), lastPct: -1}
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func (p *progressBar) update(done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.done == 0 || done < p.done {
		p.start = now // the rate counts from the first tweet, not from the archive's reading
	}
	p.done, p.total = done, total
	every := 10 * time.Second
	if p.terminal {
		every = 100 * time.Millisecond
	}
	if done < total && (now.Sub(p.last) < every || now.Sub(p.start) < time.Second) {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *progressBar) draw(now time.Time) {
	if p.total == 0 {
		return
	}
	pct := p.done * 100 / p.total
	elapsed := now.Sub(p.start)
	rate := float64(p.done) / max(elapsed.Seconds(), 0.001)
	eta := ""
	if elapsed > time.Second && p.done < p.total {
		eta = " ETA " + (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	if !p.terminal {
		if pct != p.lastPct {
			fmt.Fprintf(p.w, "%s: %d/%d (%d%%), %.0f/s%s\n", p.label, p.done, p.total, pct, rate, eta)
			p.lastPct = pct
		}
		return
	}
	const width = 30
	fill := width * p.done / p.total
	bar := strings.Repeat("=", fill)
	if fill < width {
		bar += ">" + strings.Repeat(" ", width-fill-1)
	}
	fmt.Fprintf(p.w, "\r[%s] %3d%% %d/%d %.0f/s%s   ", bar, pct, p.done, p.total, rate, eta)
	p.drawn = true
}

// finish draws the final state and ends the line.
func (p *progressBar) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.total > 0 && (p.terminal || p.lastPct != p.done*100/p.total) {
		p.draw(time.Now())
	}
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
