package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExpand(t *testing.T) {
	t.Setenv("PASSERELLE_TEST_SET", "value")
	t.Setenv("PASSERELLE_TEST_EMPTY", "")
	t.Setenv("PASSERELLE_TEST_DOLLAR", "${PASSERELLE_TEST_SET}")
	abs := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(abs, []byte("tok\r\n\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	x := expander{dir: "testdata"}
	tests := []struct {
		name    string
		in      string
		want    string
		wantErr string // substring of the error; empty when none
	}{
		{name: "no reference", in: "plain text", want: "plain text"},
		{name: "variable", in: "a-${PASSERELLE_TEST_SET}-b", want: "a-value-b"},
		{name: "variable set but empty", in: "[${PASSERELLE_TEST_EMPTY}]", want: "[]"},
		{name: "default when unset", in: "${PASSERELLE_TEST_UNSET:-fallback}", want: "fallback"},
		{name: "default when empty", in: "${PASSERELLE_TEST_EMPTY:-fallback}", want: "fallback"},
		{name: "default ignored when set", in: "${PASSERELLE_TEST_SET:-fallback}", want: "value"},
		{name: "empty default", in: "${PASSERELLE_TEST_UNSET:-}", want: ""},
		{name: "default is literal", in: "${PASSERELLE_TEST_UNSET:-a$$b:c}", want: "a$$b:c"},
		{name: "escaped dollar", in: "cost: $$5", want: "cost: $5"},
		{name: "escaped reference", in: "$${PASSERELLE_TEST_SET}", want: "${PASSERELLE_TEST_SET}"},
		{name: "lone dollar kept", in: "pa$word $", want: "pa$word $"},
		{name: "result not expanded again", in: "${PASSERELLE_TEST_DOLLAR}", want: "${PASSERELLE_TEST_SET}"},
		{name: "relative file", in: "${file:secret.txt}", want: "s3cr3t"},
		{name: "absolute file, newlines trimmed", in: "<${file:" + abs + "}>", want: "<tok>"},
		{name: "unset variable", in: "${PASSERELLE_TEST_UNSET}",
			wantErr: "environment variable PASSERELLE_TEST_UNSET is not set (write ${PASSERELLE_TEST_UNSET:-default} to give a default)"},
		{name: "missing file", in: "${file:nope.txt}", wantErr: "cannot read ${file:...}: open testdata/nope.txt: no such file or directory"},
		{name: "empty file path", in: "${file:}", wantErr: "empty path in ${file:}"},
		{name: "unterminated", in: "x${PASSERELLE_TEST_SET", wantErr: `unterminated reference "${PASSERELLE_TEST_SET": missing "}"`},
		{name: "invalid name", in: "${1ABC}", wantErr: "invalid reference ${1ABC}"},
		{name: "empty name", in: "${}", wantErr: "invalid reference ${}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := x.expand(tt.in)
			switch {
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("expand(%q) error = %v, want %q", tt.in, err, tt.wantErr)
			case tt.wantErr == "" && err != nil:
				t.Errorf("expand(%q) error = %v", tt.in, err)
			case tt.wantErr == "" && got != tt.want:
				t.Errorf("expand(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestIsVarName(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"HOME", true}, {"_x1", true}, {"a_B_9", true},
		{"", false}, {"9A", false}, {"A-B", false}, {"A B", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := isVarName(tt.in); got != tt.want {
				t.Errorf("isVarName(%q) = %v", tt.in, got)
			}
		})
	}
}
