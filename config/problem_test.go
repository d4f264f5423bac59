package config

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
)

func TestProblemError(t *testing.T) {
	tests := []struct {
		name string
		p    Problem
		want string
	}{
		{name: "everything", p: Problem{File: "c.yaml", Line: 3, Key: "server.listen", Msg: "bad"}, want: "c.yaml:3: server.listen: bad"},
		{name: "no line", p: Problem{File: "c.yaml", Key: "accounts", Msg: "bad"}, want: "c.yaml: accounts: bad"},
		{name: "no file", p: Problem{Line: 3, Msg: "bad"}, want: "line 3: bad"},
		{name: "key only", p: Problem{Key: "log.level", Msg: "bad"}, want: "log.level: bad"},
		{name: "wrapped error", p: Problem{Key: "k", Msg: "cannot read", Err: fs.ErrNotExist}, want: "k: cannot read: file does not exist"},
		{name: "error only", p: Problem{Key: "k", Err: fs.ErrNotExist}, want: "k: file does not exist"},
		{name: "newlines removed", p: Problem{Msg: "a\nb\r\nc", Err: errors.New("d\ne")}, want: "a b c: d e"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.Error(); got != tt.want {
				t.Errorf("Error() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestProblems(t *testing.T) {
	a := &Problem{Line: 2, Msg: "a"}
	b := &Problem{Msg: "b"}
	c := &Problem{Line: 1, Msg: "c"}
	joined := joinProblems([]*Problem{a, b, c})
	got := Problems(joined)
	if len(got) != 3 || got[0] != c || got[1] != a || got[2] != b {
		t.Errorf("Problems = %v, want c, a, b (by line, unknown lines last)", got)
	}
	if want := "line 1: c\nline 2: a\nb"; joined.Error() != want {
		t.Errorf("Error() = %q, want %q", joined.Error(), want)
	}
	if Problems(nil) != nil || joinProblems(nil) != nil {
		t.Error("nil error must give no problems")
	}
	other := errors.New("plain")
	if ps := Problems(other); len(ps) != 1 || !errors.Is(ps[0], other) {
		t.Errorf("Problems(plain) = %v", ps)
	}
}

func TestQuoteShortensLongValues(t *testing.T) {
	got := quote(strings.Repeat("é", 100))
	if want := `"` + strings.Repeat("é", 60) + `…"`; got != want {
		t.Errorf("quote = %s, want %s", got, want)
	}
}
