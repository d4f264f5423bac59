// Command bridge is Passerelle: an institution's own fediverse presence on
// its own domain. main only parses the command line and wires components;
// the logic lives in the packages it calls.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		os.Exit(report(err, os.Stderr))
	}
}

// report prints what went wrong to stderr and returns the exit status: a
// usage error (2) gets its message and the usage, other errors (1) their
// message, unless already printed.
func report(err error, stderr io.Writer) int {
	var ue usageError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "bridge: %s\n\n%s", ue.msg, usage)
	case !errors.Is(err, errReported):
		fmt.Fprintln(stderr, "bridge:", err)
	}
	return exitCode(err)
}

// usageError is a command-line mistake (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// errReported means the problem was already printed (exit status 1).
var errReported = errors.New("reported")

func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

const usage = `Usage: bridge [--config PATH] COMMAND [options]

Commands:
  serve                 run the bridge (HTTP server and delivery workers)
  check-config          validate the configuration: exit 0, or print every problem
  version               print the version, commit and build date
  followers list        list an account's followers (--account NAME [--pending])
  followers approve     approve a pending follower (--account NAME ACTOR_URL)
  token create|list|revoke   client API tokens (--account NAME [--scopes "read write"] [--name N] | ID)
  login-code            one-time code to authorize an app on /oauth/authorize (--account NAME)
  team invite           a one-time link inviting EMAIL to the console /admin, with a role
                        on an account (EMAIL --account NAME --role admin|editor|contributor)
  post                  publish (--account NAME "TEXT"|- [--image F [--alt T]]... [--spoiler T]
                        [--visibility V] [--language L] [--sensitive] [--reply-to ID])
  status                delivery of the last 10 posts, or one (--account NAME [ID])
  doctor                check DNS, WebFinger, TLS, clock, database and signatures,
                        with a fix for each problem (--clock-url URL, --timeout D)
  bluesky handle        switch the account's Bluesky handle to its domain, once
                        /.well-known/atproto-did resolves (--account NAME)
  bluesky status        the account's Bluesky mirror: login state, DID, handle (--account NAME)
  healthcheck           GET /healthz of the running bridge; exit 0 if it answers 200
                        (--url URL; the container HEALTHCHECK)
  blocks                domain blocks: list | add DOMAIN... [--reason R] | remove DOMAIN |
                        import FILE | preview | refresh [--force] (see bridge blocks)
  reports list          reports (Flag) received about the accounts, newest first
                        ([--account NAME] [--limit N])
  crisis on|off|status  crisis mode: nobody but the account may reply to or quote its new
                        posts and its last N, on both networks; off reverts exactly
                        (--account NAME [--posts N], N from 1 to 200, default 20)
  feeds status          the accounts' website feeds: last read, entries posted and skipped,
                        caps reached ([--account NAME])
  x notice              the last post on X, pointing to the notice page /x/NAME
                        (--account NAME [--lang L]; --post posts it through the X API)
  import x-archive      backfill the outbox from X's data export, quietly (--account NAME
                        ARCHIVE.zip [--since D] [--until D] [--dry-run] [--bluesky] ...)
  export handles        the accounts' fediverse, Bluesky and X handles for follower-matching
                        tools ([--format json|csv|mastodon] [--output FILE])
  export followers      an account's followers, Mastodon's CSV by default
                        (--account NAME [--format mastodon|csv|actors] [--output FILE])
  export outbox         an account's posts and media as Mastodon's account archive
                        (--account NAME --output DIR|FILE.zip)
  move-in               move followers in from a former account listed in also_known_as:
                        check | expect --from OLD [--days 7] | status (--account NAME)
  move-out              move the account to a new one that lists it in alsoKnownAs: Move to
                        every follower, movedTo, redirect (--account NAME --to NEW | --status)

Options:
  --config PATH         configuration file (default ./config.yaml)
`

// run dispatches a command line. --config may come before or after the
// command name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	global := flag.NewFlagSet("bridge", flag.ContinueOnError)
	global.SetOutput(io.Discard) // report prints the error and the usage
	configPath := global.String("config", "./config.yaml", "configuration file")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return nil
		}
		return usageError{err.Error()}
	}
	rest := global.Args()
	if len(rest) == 0 {
		return usageError{"no command given"}
	}
	cmd, cmdArgs := rest[0], rest[1:]
	switch cmd {
	case "serve":
		return cmdServe(ctx, *configPath, cmdArgs, stderr)
	case "check-config":
		return cmdCheckConfig(*configPath, cmdArgs, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, versionString())
		return nil
	case "followers":
		return cmdFollowers(ctx, *configPath, cmdArgs, stdout, stderr)
	case "token":
		return cmdToken(ctx, *configPath, cmdArgs, stdout, stderr)
	case "team":
		return cmdTeam(ctx, *configPath, cmdArgs, stdout, stderr) // team.go
	case "login-code":
		return cmdLoginCode(ctx, *configPath, cmdArgs, stdout, stderr)
	case "post":
		return cmdPost(ctx, *configPath, cmdArgs, os.Stdin, stdout, stderr)
	case "status":
		return cmdStatus(ctx, *configPath, cmdArgs, stdout, stderr)
	case "doctor":
		return cmdDoctor(ctx, *configPath, cmdArgs, stdout, stderr)
	case "healthcheck":
		return cmdHealthcheck(ctx, *configPath, cmdArgs, stdout, stderr)
	case "bluesky":
		return cmdBluesky(ctx, *configPath, cmdArgs, stdout, stderr)
	case "import":
		return cmdImport(ctx, *configPath, cmdArgs, stdout, stderr)
	case "export":
		return cmdExport(ctx, *configPath, cmdArgs, stdout, stderr)
	case "x":
		return cmdX(ctx, *configPath, cmdArgs, stdout, stderr)
	case "blocks":
		return cmdBlocks(ctx, *configPath, cmdArgs, os.Stdin, stdout, stderr) // blocks.go
	case "reports":
		return cmdReports(ctx, *configPath, cmdArgs, stdout, stderr) // reports.go
	case "feeds":
		return cmdFeeds(ctx, *configPath, cmdArgs, stdout, stderr) // feeds.go
	case "crisis":
		return cmdCrisis(ctx, *configPath, cmdArgs, stdout, stderr) // crisis.go
	case "move-in":
		return cmdMoveIn(ctx, *configPath, cmdArgs, stdout, stderr) // moves.go
	case "move-out":
		return cmdMoveOut(ctx, *configPath, cmdArgs, stdout, stderr) // moves.go
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// commandFlags makes a flag set for a command that also accepts --config.
func commandFlags(name string, configPath *string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bridge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints the options (parseFlags)
	fs.Usage = func() {}
	fs.StringVar(configPath, "config", *configPath, "configuration file")
	return fs
}

// parseFlags parses a command's flags: -h prints its options; a bad flag
// is a usage error naming the command (printed by report, not by the
// flag package).
func parseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.SetOutput(out)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(out, "Options of %s:\n", fs.Name())
			fs.PrintDefaults()
			return errReported
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	return nil
}
