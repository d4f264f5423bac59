package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/passerelle/passerelle/publish"
)

// postImage is one --image with its --alt text.
type postImage struct{ path, alt string }

// imageFlags collects --image FILE and pairs each --alt with the --image
// before it.
type imageFlags struct{ list []postImage }

type imageFlag struct{ f *imageFlags }

func (v imageFlag) String() string { return "" }
func (v imageFlag) Set(s string) error {
	v.f.list = append(v.f.list, postImage{path: s})
	return nil
}

type altFlag struct{ f *imageFlags }

func (v altFlag) String() string { return "" }
func (v altFlag) Set(s string) error {
	if len(v.f.list) == 0 {
		return errors.New("--alt must follow the --image it describes")
	}
	last := &v.f.list[len(v.f.list)-1]
	if last.alt != "" {
		return fmt.Errorf("--image %s already has an --alt", last.path)
	}
	last.alt = s
	return nil
}

// parseInterspersed parses flags placed before and after the positional
// arguments ("bridge post --account a TEXT --image x.png") and returns
// the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := parseFlags(fs, args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		rest := fs.Args()
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// cmdPost publishes a status from the command line, through the same
// publishing service as the client API: images are uploaded first, then
// the status is created and queued for delivery (the server's workers
// send it). TEXT "-" reads the text from standard input.
func cmdPost(ctx context.Context, path string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := commandFlags("post", &path, stderr)
	account := fs.String("account", "", "account username")
	var images imageFlags
	fs.Var(imageFlag{&images}, "image", "attach an image (repeatable)")
	fs.Var(altFlag{&images}, "alt", "alt text of the preceding --image")
	spoiler := fs.String("spoiler", "", "content warning")
	sensitive := fs.Bool("sensitive", false, "mark the media as sensitive")
	visibility := fs.String("visibility", "public", "public, unlisted, private (followers only) or direct (the mentioned only)")
	language := fs.String("language", "", "language code, e.g. fr")
	replyTo := fs.Int64("reply-to", 0, "id of one of the account's posts this one continues (thread)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *account == "" {
		return usageError{"post: --account is required"}
	}
	if len(pos) > 1 {
		return usageError{"post: want the text as one argument (quote it)"}
	}
	text := ""
	if len(pos) == 1 {
		text = pos[0]
	}
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, 1<<20))
		if err != nil {
			return fmt.Errorf("read text from standard input: %w", err)
		}
		text = string(b)
	}
	if strings.TrimSpace(text) == "" && len(images.list) == 0 {
		return usageError{"post: want a text or at least one --image"}
	}
	// Check the files before uploading anything.
	for _, im := range images.list {
		st, err := os.Stat(im.path)
		if err != nil {
			return fmt.Errorf("--image: %w", err)
		}
		if !st.Mode().IsRegular() {
			return fmt.Errorf("--image %s: not a regular file", im.path)
		}
	}
	a, user, err := openAccount(ctx, path, *account, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	d := publish.Draft{
		Text: text, SpoilerText: *spoiler, Sensitive: *sensitive, Visibility: *visibility,
		Language: *language, InReplyToID: *replyTo,
	}
	for _, im := range images.list {
		m, err := uploadFile(ctx, a.pub, user, im)
		if err != nil {
			return err
		}
		d.MediaIDs = append(d.MediaIDs, m)
	}
	st, err := a.pub.Create(ctx, user, d)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, a.links.NoteURL(user, st.ID))
	return nil
}

func uploadFile(ctx context.Context, pub *publish.Service, user string, im postImage) (int64, error) {
	f, err := os.Open(im.path)
	if err != nil {
		return 0, fmt.Errorf("--image: %w", err)
	}
	defer f.Close()
	m, err := pub.UploadMedia(ctx, user, f, im.alt, 0, 0)
	if err != nil {
		return 0, fmt.Errorf("--image %s: %w", im.path, err)
	}
	return m.ID, nil
}
