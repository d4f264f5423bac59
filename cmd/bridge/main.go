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
		var ue usageError
		if !errors.As(err, &ue) && !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "bridge:", err)
		}
		os.Exit(exitCode(err))
	}
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

Options:
  --config PATH         configuration file (default ./config.yaml)
`

// run dispatches a command line. --config may come before or after the
// command name.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	global := flag.NewFlagSet("bridge", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.Usage = func() { fmt.Fprint(stderr, usage) }
	configPath := global.String("config", "./config.yaml", "configuration file")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	rest := global.Args()
	if len(rest) == 0 {
		fmt.Fprint(stderr, usage)
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
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}

// commandFlags makes a flag set for a command that also accepts --config.
func commandFlags(name string, configPath *string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("bridge "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(configPath, "config", *configPath, "configuration file")
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errReported
		}
		return usageError{err.Error()}
	}
	return nil
}
