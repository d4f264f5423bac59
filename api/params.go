package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// maxParamsBody bounds request bodies other than media uploads.
const maxParamsBody = 1 << 20

// params are a request's parameters, read as Mastodon (Rails) does from
// the query string and a form-encoded, multipart or JSON body. Form
// fields keep their order, which Rails' "a[][b]" arrays of objects need.
type params struct {
	kv   []field
	json map[string]json.RawMessage
}

type field struct{ key, value string }

var errBadJSON = &apiError{http.StatusBadRequest, "Error occurred while parsing request parameters"}

// parseParams reads r's query and body. File parts of a multipart body
// are skipped (media uploads read their body themselves).
func parseParams(w http.ResponseWriter, r *http.Request) (*params, error) {
	p := &params{}
	if err := p.addQuery(r.URL.RawQuery); err != nil {
		return nil, err
	}
	if r.Body == nil || r.Body == http.NoBody {
		return p, nil
	}
	body := http.MaxBytesReader(w, r.Body, maxParamsBody)
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "application/json":
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, bodyError(err)
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return p, nil
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(&p.json); err != nil || p.json == nil {
			return nil, errBadJSON
		}
	case "application/x-www-form-urlencoded":
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, bodyError(err)
		}
		if err := p.addQuery(string(data)); err != nil {
			return nil, err
		}
	case "multipart/form-data":
		r.Body = body
		mr, err := r.MultipartReader()
		if err != nil {
			return nil, errBadJSON
		}
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				var mbe *http.MaxBytesError
				if errors.As(err, &mbe) {
					return nil, err
				}
				return nil, errBadJSON
			}
			if part.FileName() != "" {
				io.Copy(io.Discard, part)
				continue
			}
			v, err := io.ReadAll(part)
			if err != nil {
				return nil, bodyError(err) // a truncated part: the client's error
			}
			p.kv = append(p.kv, field{part.FormName(), string(v)})
		}
	}
	return p, nil
}

// bodyError is the answer to a body that could not be read: too large
// (413), else malformed or cut short by the client (400), never a 500.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return errBadJSON
}

// addQuery appends the pairs of an URL-encoded string, in order.
func (p *params) addQuery(q string) error {
	for q != "" {
		var pair string
		pair, q, _ = strings.Cut(q, "&")
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		k, err1 := url.QueryUnescape(k)
		v, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return errBadJSON
		}
		p.kv = append(p.kv, field{k, v})
	}
	return nil
}

// jsonScalar turns a JSON string, number or boolean into its text; null
// and other values are absent.
func jsonScalar(raw json.RawMessage) (string, bool) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return "", false
	}
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// get returns the value of key (the last one given, as Rails does).
func (p *params) get(key string) (string, bool) {
	if raw, ok := p.json[key]; ok {
		if v, ok := jsonScalar(raw); ok {
			return v, true
		}
	}
	v, found := "", false
	for _, f := range p.kv {
		if f.key == key {
			v, found = f.value, true
		}
	}
	return v, found
}

func (p *params) str(key string) string {
	v, _ := p.get(key)
	return v
}

// has reports whether key was given at all (a list, an object or a
// field like key[...]).
func (p *params) has(key string) bool {
	if _, ok := p.json[key]; ok {
		return true
	}
	for _, f := range p.kv {
		if f.key == key || strings.HasPrefix(f.key, key+"[") {
			return true
		}
	}
	return false
}

// list returns the values of an array parameter: key[]=a&key[]=b,
// key[0]=a, repeated key=a, or a JSON array (or a single JSON scalar).
func (p *params) list(key string) ([]string, bool) {
	if raw, ok := p.json[key]; ok {
		var arr []json.RawMessage
		if json.Unmarshal(raw, &arr) == nil {
			out := []string{}
			for _, e := range arr {
				if v, ok := jsonScalar(e); ok {
					out = append(out, v)
				}
			}
			return out, true
		}
		if v, ok := jsonScalar(raw); ok {
			return []string{v}, true
		}
		return []string{}, true
	}
	var out []string
	found := false
	for _, f := range p.kv {
		if f.key == key || f.key == key+"[]" || indexedKey(f.key, key) {
			found = true
			if f.value != "" {
				out = append(out, f.value)
			}
		}
	}
	if found && out == nil {
		out = []string{}
	}
	return out, found
}

func indexedKey(k, key string) bool {
	rest, ok := strings.CutPrefix(k, key+"[")
	if !ok || !strings.HasSuffix(rest, "]") {
		return false
	}
	_, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	return err == nil
}

var objectKeyRE = regexp.MustCompile(`^([a-z_]+)\[(\d*)\]\[([a-z_]+)\]$`)

// objects returns an array of objects: a JSON array of objects, or form
// fields key[][field] (a new object starts when a field repeats, as in
// Rack) or key[N][field].
func (p *params) objects(key string) []map[string]string {
	if raw, ok := p.json[key]; ok {
		var arr []map[string]json.RawMessage
		if json.Unmarshal(raw, &arr) != nil {
			return nil
		}
		out := make([]map[string]string, 0, len(arr))
		for _, o := range arr {
			m := map[string]string{}
			for k, v := range o {
				if s, ok := jsonScalar(v); ok {
					m[k] = s
				}
			}
			out = append(out, m)
		}
		return out
	}
	var out []map[string]string
	indexed := map[string]int{}
	for _, f := range p.kv {
		m := objectKeyRE.FindStringSubmatch(f.key)
		if m == nil || m[1] != key {
			continue
		}
		idx, name := m[2], m[3]
		if idx != "" {
			i, ok := indexed[idx]
			if !ok {
				i = len(out)
				indexed[idx] = i
				out = append(out, map[string]string{})
			}
			out[i][name] = f.value
			continue
		}
		if len(out) == 0 {
			out = append(out, map[string]string{})
		}
		if _, dup := out[len(out)-1][name]; dup {
			out = append(out, map[string]string{})
		}
		out[len(out)-1][name] = f.value
	}
	return out
}

// boolParam parses a Rails boolean: "0", "f", "false", "off" and "no"
// (any case) are false, anything else non-empty is true.
func boolParam(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "", "0", "f", "false", "off", "no", "n":
		return false
	}
	return true
}

// parseID parses a status or media id: a positive decimal.
func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}
