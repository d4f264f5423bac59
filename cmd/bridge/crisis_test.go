package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestCrisisCommand: crisis on, on again, status, off and off again, each
// with its message; the accounts are apart; bad arguments are usage errors.
func TestCrisisCommand(t *testing.T) {
	path := writeAPIConfig(t)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"--config", path, "post", "--account", "news", "Road works on Main Street."}, &out, &errb); err != nil {
		t.Fatalf("post: %v\n%s", err, errb.String())
	}
	tests := []struct {
		name    string
		args    []string
		want    string
		wantErr string
	}{
		{name: "no verb", args: nil, wantErr: "crisis: want on, off or status"},
		{name: "no account", args: []string{"on"}, wantErr: "--account is required"},
		{name: "posts out of bounds", args: []string{"on", "--account", "news", "--posts", "201"}, wantErr: "--posts must be between 1 and 200"},
		{name: "posts zero", args: []string{"on", "--account", "news", "--posts", "0"}, wantErr: "--posts must be between 1 and 200"},
		{name: "unknown account", args: []string{"on", "--account", "nobody"}, wantErr: `no account "nobody"`},
		{name: "off when off", args: []string{"off", "--account", "news"}, want: "crisis mode is not on for @news: nothing to do"},
		{name: "status off", args: []string{"status", "--account", "news"}, want: "crisis mode off for @news"},
		{name: "on", args: []string{"on", "--account", "news", "--posts", "5"}, want: "1 of its last 5 posts closed now"},
		{name: "on again", args: []string{"on", "--account", "news"}, want: "crisis mode was already on for @news"},
		{name: "status on", args: []string{"status", "--account", "news"}, want: "crisis mode on for @news since"},
		{name: "status counts the post", args: []string{"status", "--account", "news"}, want: "1 posts closed (the last 5"},
		{name: "another account stays off", args: []string{"status", "--account", "mayor"}, want: "crisis mode off for @mayor"},
		{name: "off", args: []string{"off", "--account", "news"}, want: "1 posts got back their replies and quotes policy"},
		{name: "off again", args: []string{"off", "--account", "news"}, want: "nothing to do"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := cli(t, cmdCrisis, path, tt.args...)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("output %q lacks %q", out, tt.want)
			}
		})
	}
}
