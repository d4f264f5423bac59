package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// expander replaces references in scalar values:
//
//	${VAR}        environment variable VAR; an error if it is unset
//	${VAR:-text}  VAR, or text (taken literally) when VAR is unset or empty
//	${file:path}  the file's contents without trailing newlines; a relative
//	              path is resolved against dir
//	$$            a literal $
//
// A $ followed by anything else is kept as is. The result is not expanded
// again, so a value coming from the environment or a file is used verbatim.
type expander struct {
	dir string // directory of the configuration file
}

// expand returns s with its references replaced.
func (x expander) expand(s string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.IndexByte(s, '$')
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		b.WriteString(s[:i])
		s = s[i:]
		switch {
		case strings.HasPrefix(s, "$$"):
			b.WriteByte('$')
			s = s[2:]
		case strings.HasPrefix(s, "${"):
			end := strings.IndexByte(s, '}')
			if end < 0 {
				return "", fmt.Errorf("unterminated reference %s: missing \"}\"", quote(s))
			}
			v, err := x.reference(s[2:end])
			if err != nil {
				return "", err
			}
			b.WriteString(v)
			s = s[end+1:]
		default:
			b.WriteByte('$')
			s = s[1:]
		}
	}
}

// reference resolves the inside of one ${...}.
func (x expander) reference(ref string) (string, error) {
	if path, ok := strings.CutPrefix(ref, "file:"); ok {
		return x.readFile(path)
	}
	name, fallback, hasFallback := strings.Cut(ref, ":-")
	if !isVarName(name) {
		return "", fmt.Errorf("invalid reference ${%s}: expected ${NAME}, ${NAME:-default} or ${file:/path}", ref)
	}
	v, set := os.LookupEnv(name)
	switch {
	case hasFallback && v == "":
		return fallback, nil
	case !set:
		return "", fmt.Errorf("environment variable %s is not set (write ${%s:-default} to give a default)", name, name)
	}
	return v, nil
}

// readFile returns a file's contents with trailing newlines removed.
func (x expander) readFile(path string) (string, error) {
	if path == "" {
		return "", fmt.Errorf("empty path in ${file:}")
	}
	if !filepath.IsAbs(path) {
		path = filepath.Join(x.dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("cannot read ${file:...}: %w", err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// isVarName reports whether s is a valid environment variable name:
// a letter or underscore followed by letters, digits or underscores.
func isVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
