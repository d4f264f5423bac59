package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// keyPaths lists the configuration keys of t (a struct type) as documented:
// "server.tls.mode", "accounts[].username"; a list of structs also
// appears itself ("accounts[].fields").
func keyPaths(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		ft := f.Type
		switch {
		case ft.Kind() == reflect.Struct && ft != reflect.TypeFor[Duration]():
			out = append(out, keyPaths(ft, path)...)
		case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
			if prefix != "" {
				out = append(out, path)
			}
			out = append(out, keyPaths(ft.Elem(), path+"[]")...)
		default:
			out = append(out, path)
		}
	}
	return out
}

// exampleKeys lists the key paths written in the example file, and the
// names of keys shown commented out ("# cert_file: ...").
func exampleKeys(t *testing.T, path string) (written map[string]bool, commented map[string]bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		t.Fatal(err)
	}
	written = map[string]bool{}
	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, prefix)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				p := n.Content[i].Value
				if prefix != "" {
					p = prefix + "." + p
				}
				written[p] = true
				walk(n.Content[i+1], p)
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, prefix+"[]")
			}
		}
	}
	walk(&root, "")
	commented = map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s*#\s*([a-z_]+):`).FindAllStringSubmatch(string(data), -1) {
		commented[m[1]] = true
	}
	return written, commented
}

// TestReferenceDocumentsEveryKey keeps config.example.yaml,
// docs/configuration.md and the Config type in agreement: every key is in
// the example file (written, or commented out when it has no sensible
// example value) and in the reference, and the reference names no key that
// does not exist.
func TestReferenceDocumentsEveryKey(t *testing.T) {
	keys := keyPaths(reflect.TypeFor[Config](), "")
	written, commented := exampleKeys(t, "../config.example.yaml")
	doc, err := os.ReadFile("../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	const fix = "; document it in config.example.yaml and docs/configuration.md"
	for _, k := range keys {
		leaf := k[strings.LastIndexAny(k, ".]")+1:]
		if !written[k] && !commented[leaf] {
			t.Errorf("key %s is not in config.example.yaml%s", k, fix)
		}
		if !strings.Contains(string(doc), "`"+k+"`") {
			t.Errorf("key %s is not in docs/configuration.md%s", k, fix)
		}
	}
	sections := map[string]bool{}
	for _, k := range keys {
		for i := range k {
			if k[i] == '.' {
				sections[strings.TrimSuffix(k[:i], "[]")] = true
			}
		}
	}
	for k := range written {
		if !slices.Contains(keys, k) && !sections[k] {
			t.Errorf("config.example.yaml has key %s, which the program does not know", k)
		}
	}
	// Every key in the reference's tables exists.
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_.\\[\\]]+)` \\|").FindAllStringSubmatch(string(doc), -1) {
		if !slices.Contains(keys, m[1]) {
			t.Errorf("docs/configuration.md documents %s, which the program does not know", m[1])
		}
	}
}
