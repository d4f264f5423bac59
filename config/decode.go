package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// decoder fills a struct from a yaml.Node tree, following the struct's yaml
// tags. Unlike yaml.Node.Decode it reports unknown and duplicate keys, it
// expands references in scalar values, and it keeps going after a problem
// so that all of them are reported together.
type decoder struct {
	expander
	problems []*Problem
	lines    map[string]int  // key path -> line where it is set
	failed   map[string]bool // key paths that could not be decoded
}

func newDecoder(dir string) *decoder {
	return &decoder{
		expander: expander{dir: dir},
		lines:    map[string]int{},
		failed:   map[string]bool{},
	}
}

// decode stores the value of n into v. path is v's key path.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) > 0 {
			d.decode(n.Content[0], v, path)
		}
		return
	}
	if isNull(n) {
		return // keep the default
	}
	if u, ok := v.Addr().Interface().(yaml.Unmarshaler); ok {
		d.decodeUnmarshaler(n, u, path)
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.decodeScalar(n, v, path)
	default:
		panic(fmt.Sprintf("config: field %s has unsupported type %s", path, v.Type()))
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.typeError(n, path, "a mapping (key: value lines)")
		return
	}
	fields, names := yamlFields(v.Type())
	d.decodeMerges(n, v, path)
	seen := map[string]int{} // key -> line
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if isMerge(k) {
			continue
		}
		if k.Kind != yaml.ScalarNode {
			d.addf(k.Line, "", "keys %s must be plain names, got %s", where(path), describe(k))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.addf(k.Line, "", "duplicate key %s %s (first set on line %d)", quote(k.Value), where(path), first)
			continue
		}
		seen[k.Value] = k.Line
		idx, ok := fields[k.Value]
		if !ok {
			d.addf(k.Line, "", "unknown key %s %s%s", quote(k.Value), where(path), didYouMean(k.Value, names))
			continue
		}
		child := joinPath(path, k.Value)
		d.lines[child] = k.Line
		d.decode(val, v.Field(idx), child)
	}
}

// decodeMerges applies YAML merge keys ("<<: *anchor"); keys written in the
// mapping itself are decoded afterwards and so take precedence.
func (d *decoder) decodeMerges(n *yaml.Node, v reflect.Value, path string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !isMerge(n.Content[i]) {
			continue
		}
		src := resolveAlias(n.Content[i+1])
		if src.Kind == yaml.SequenceNode {
			for _, item := range src.Content {
				d.decodeStruct(resolveAlias(item), v, path)
			}
			continue
		}
		d.decodeStruct(src, v, path)
	}
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.typeError(n, path, "a list")
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		child := fmt.Sprintf("%s[%d]", path, i)
		d.lines[child] = item.Line
		d.decode(item, s.Index(i), child)
	}
	v.Set(s)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.typeError(n, path, "a single value")
		return
	}
	s, ok := d.expandNode(n, path)
	if !ok {
		return
	}
	var err error
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		err = setBool(v, s)
	default:
		err = setInt(v, s)
	}
	if err != nil {
		if s != n.Value {
			err = fmt.Errorf("%w (after expanding %s)", err, quote(n.Value))
		}
		d.fail(n.Line, path, err)
	}
}

// decodeUnmarshaler hands a scalar, once expanded, to a type's own
// UnmarshalYAML (Duration).
func (d *decoder) decodeUnmarshaler(n *yaml.Node, u yaml.Unmarshaler, path string) {
	if n.Kind == yaml.ScalarNode {
		s, ok := d.expandNode(n, path)
		if !ok {
			return
		}
		expanded := *n
		expanded.Value = s
		n = &expanded
	}
	if err := u.UnmarshalYAML(n); err != nil {
		d.fail(n.Line, path, err)
	}
}

// expandNode expands references in a scalar's value, recording a problem
// when that fails.
func (d *decoder) expandNode(n *yaml.Node, path string) (string, bool) {
	s, err := d.expand(n.Value)
	if err != nil {
		d.fail(n.Line, path, err)
		return "", false
	}
	return s, true
}

func setBool(v reflect.Value, s string) error {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on":
		v.SetBool(true)
	case "false", "no", "off":
		v.SetBool(false)
	default:
		return fmt.Errorf("expected true or false, got %s", quote(s))
	}
	return nil
}

func setInt(v reflect.Value, s string) error {
	i, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
	if errors.Is(err, strconv.ErrRange) {
		return fmt.Errorf("%s is out of range", quote(s))
	}
	if err != nil {
		return fmt.Errorf("expected a whole number, got %s", quote(s))
	}
	v.SetInt(i)
	return nil
}

func (d *decoder) typeError(n *yaml.Node, path, want string) {
	d.fail(n.Line, path, fmt.Errorf("expected %s, got %s", want, describe(n)))
}

// fail records a problem with the value at path, and remembers that path
// so that validation does not report it a second time.
func (d *decoder) fail(line int, path string, err error) {
	d.failed[path] = true
	d.problems = append(d.problems, &Problem{Line: line, Key: path, Err: err})
}

// addf records a problem that names its key in the message.
func (d *decoder) addf(line int, key, format string, args ...any) {
	d.problems = append(d.problems, &Problem{Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// yamlFields maps the yaml names of t's fields to their index, and lists
// the names in declaration order (for suggestions).
func yamlFields(t reflect.Type) (map[string]int, []string) {
	fields := map[string]int{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = i
		names = append(names, name)
	}
	return fields, names
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func isMerge(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Value == "<<" && n.ShortTag() == "!!merge"
}

// joinPath appends key to a dotted key path.
func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// where names the mapping holding a key, for messages.
func where(path string) string {
	if path == "" {
		return "at top level"
	}
	return "in " + path
}
