package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a configuration. Its Error method prints
// it on a single line:
//
//	file:line: key: message
//
// where "file:" and "line:" are left out when unknown, and "key:" is left
// out for problems that name their key in the message (unknown keys).
type Problem struct {
	File string // the configuration file, as passed to Load; empty from Validate
	Line int    // 1-based line in File; 0 when unknown
	Key  string // key path such as "accounts[1].username"; may be empty
	Msg  string // what is wrong
	Err  error  // underlying error, if any; printed after Msg
}

// Error implements error. The result never contains a newline.
func (p *Problem) Error() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			b.WriteString(":" + strconv.Itoa(p.Line))
		}
		b.WriteString(": ")
	} else if p.Line > 0 {
		b.WriteString("line " + strconv.Itoa(p.Line) + ": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key + ": ")
	}
	b.WriteString(p.Msg)
	if p.Err != nil {
		if p.Msg != "" {
			b.WriteString(": ")
		}
		b.WriteString(p.Err.Error())
	}
	return oneLine(b.String())
}

// Unwrap returns the underlying error.
func (p *Problem) Unwrap() error { return p.Err }

// Problems returns the problems in an error returned by Load or Validate, in
// the order they are printed. It returns nil for a nil error, and a single
// Problem holding err for any other error.
func Problems(err error) []*Problem {
	if err == nil {
		return nil
	}
	var p *Problem
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Problem
		for _, e := range joined.Unwrap() {
			out = append(out, Problems(e)...)
		}
		return out
	}
	if errors.As(err, &p) {
		return []*Problem{p}
	}
	return []*Problem{{Err: err}}
}

// joinProblems sorts problems by line (problems without a line last) and
// joins them with errors.Join, so that the result prints one per line.
func joinProblems(ps []*Problem) error {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b *Problem) int {
		return cmp.Compare(lineOrder(a.Line), lineOrder(b.Line))
	})
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// lineOrder sorts problems without a line after all others.
func lineOrder(line int) int {
	if line <= 0 {
		return math.MaxInt
	}
	return line
}

// oneLine replaces line breaks so a message always fits on one line.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// quote returns s quoted as a Go string, shortened when long, for use in
// messages.
func quote(s string) string {
	const max = 60
	if utf8.RuneCountInString(s) > max {
		s = string([]rune(s)[:max]) + "…"
	}
	return strconv.Quote(s)
}

// describe names what a YAML node holds, for type errors.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return quote(n.Value)
	default:
		return fmt.Sprintf("YAML node kind %d", n.Kind)
	}
}
