package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path, expands ${...} references,
// applies defaults and validates the result.
//
// When anything is wrong, Load returns a nil Config and an error listing
// every problem found, each a *Problem on its own line of Error(), sorted
// by line:
//
//	config.yaml:12: unknown key "listne" in server (did you mean "listen"?)
//	config.yaml:20: accounts[0].username: required
//
// Use Problems to get them one by one.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return load(path, data)
}

// load does Load's work on data read from path.
func load(path string, data []byte) (*Config, error) {
	root, p := parseYAML(data)
	if p != nil {
		p.File = path
		return nil, joinProblems([]*Problem{p})
	}
	dir := filepath.Dir(path)
	d := newDecoder(dir)
	cfg := Default()
	if root != nil {
		d.decode(root, reflect.ValueOf(cfg).Elem(), "")
	}
	cfg.ApplyDefaults()
	cfg.resolvePaths(dir)

	problems := append(d.problems, d.validationProblems(cfg)...)
	for _, p := range problems {
		p.File = path
	}
	if err := joinProblems(problems); err != nil {
		return nil, err
	}
	return cfg, nil
}

// parseYAML parses a single YAML document. It returns nil for an empty
// document, and a Problem for a syntax error.
func parseYAML(data []byte) (*yaml.Node, *Problem) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, syntaxProblem(err)
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
		return &root, nil
	case err != nil:
		return nil, syntaxProblem(err)
	}
	return nil, &Problem{Line: next.Line, Msg: "only one YAML document is allowed (remove the \"---\" separator)"}
}

// syntaxProblem turns yaml.v3's "yaml: line 3: message" into a Problem.
func syntaxProblem(err error) *Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, found := strings.Cut(rest, ": ")
		if line, convErr := strconv.Atoi(num); found && convErr == nil {
			return &Problem{Line: line, Msg: "invalid YAML: " + text}
		}
	}
	return &Problem{Msg: "invalid YAML: " + msg}
}

// validationProblems runs Validate and gives each problem the line of its
// key (or of the nearest enclosing key that is written in the file). It
// leaves out problems with keys that already failed to decode.
func (d *decoder) validationProblems(cfg *Config) []*Problem {
	var out []*Problem
	for _, p := range Problems(cfg.Validate()) {
		if d.alreadyFailed(p.Key) {
			continue
		}
		p.Line = d.lineOf(p.Key)
		out = append(out, p)
	}
	return out
}

// alreadyFailed reports whether key, or a key containing it, failed to
// decode.
func (d *decoder) alreadyFailed(key string) bool {
	for {
		if d.failed[key] {
			return true
		}
		if key == "" {
			return false
		}
		key = parentPath(key)
	}
}

// lineOf returns the line where key, or the nearest enclosing key, is set.
func (d *decoder) lineOf(key string) int {
	for ; key != ""; key = parentPath(key) {
		if line, ok := d.lines[key]; ok {
			return line
		}
	}
	return 0
}

// parentPath strips the last element of a key path:
// "accounts[1].fields[0]" → "accounts[1].fields" → "accounts[1]" → "accounts" → "".
func parentPath(key string) string {
	i := strings.LastIndexAny(key, ".[")
	if i < 0 {
		return ""
	}
	return key[:i]
}

// resolvePaths makes the image and TLS file paths absolute, resolving
// relative ones against dir (the configuration file's directory).
func (c *Config) resolvePaths(dir string) {
	for i := range c.Accounts {
		a := &c.Accounts[i]
		a.Avatar = resolveFile(dir, a.Avatar)
		a.Header = resolveFile(dir, a.Header)
	}
	c.Server.TLS.CertFile = resolveFile(dir, c.Server.TLS.CertFile)
	c.Server.TLS.KeyFile = resolveFile(dir, c.Server.TLS.KeyFile)
	c.Server.TLS.ACMECARoot = resolveFile(dir, c.Server.TLS.ACMECARoot)
}

// resolveFile returns p as an absolute path, relative to dir, unless it is
// empty or a URL.
func resolveFile(dir, p string) string {
	if p == "" || strings.Contains(p, "://") {
		return p
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return filepath.Clean(p)
}
