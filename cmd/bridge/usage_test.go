package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestUsageErrors: a command-line mistake prints what is wrong and the
// usage on stderr, and exits 2; nothing goes to stdout.
func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // in the message
	}{
		{"unknown command", []string{"frobnicate"}, `bridge: unknown command "frobnicate"`},
		{"no command", nil, "bridge: no command given"},
		{"unknown global flag", []string{"--verbose", "serve"}, "bridge: flag provided but not defined: -verbose"},
		{"unknown command flag", []string{"followers", "list", "--bogus"}, "bridge: bridge followers list: flag provided but not defined: -bogus"},
		{"flag without its value", []string{"token", "create", "--account"}, "bridge: bridge token create: flag needs an argument: -account"},
		{"missing subcommand", []string{"blocks"}, "bridge: blocks: want list, add, remove, import, preview or refresh"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), tt.args, &stdout, &stderr)
			if err == nil {
				t.Fatal("run succeeded")
			}
			code := report(err, &stderr)
			if code != 2 {
				t.Errorf("exit status %d, want 2 (error %v)", code, err)
			}
			out := stderr.String()
			if !strings.HasPrefix(out, tt.want+"\n") && !strings.Contains(out, "\n"+tt.want+"\n") {
				t.Errorf("stderr has no line %q:\n%s", tt.want, out)
			}
			if !strings.Contains(out, "Usage: bridge [--config PATH] COMMAND") {
				t.Errorf("stderr has no usage:\n%s", out)
			}
			if strings.Count(out, tt.want) != 1 {
				t.Errorf("the message is printed %d times:\n%s", strings.Count(out, tt.want), out)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %q", stdout.String())
			}
		})
	}
}

// TestHelp: help is not an error.
func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if !strings.HasPrefix(stdout.String(), "Usage: bridge") {
			t.Errorf("%v: stdout %q", args, firstLine(stdout.String()))
		}
	}
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"followers", "list", "-h"}, &stdout, &stderr)
	if err == nil || report(err, &stderr) != 1 {
		t.Fatalf("followers list -h: %v", err)
	}
	if !strings.Contains(stderr.String(), "Options of bridge followers list:") || !strings.Contains(stderr.String(), "-account") {
		t.Errorf("followers list -h printed %q", stderr.String())
	}
}

func firstLine(s string) string { l, _, _ := strings.Cut(s, "\n"); return l }
