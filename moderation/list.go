package moderation

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/storage"
)

// Limits of a blocklist file or download.
const (
	MaxListBytes   = 16 << 20
	MaxListEntries = 200_000
)

// ListEntry is one domain read from a blocklist.
type ListEntry struct {
	Domain   string // canonical (config.NormalizeDomain)
	Severity string // storage.SeveritySuspend or storage.SeveritySilence
	Reason   string // the public comment, if any
}

// Skipped is a line of a blocklist that was not used, and why.
type Skipped struct {
	Line int
	Text string
	Why  string
}

func (s Skipped) String() string { return fmt.Sprintf("line %d: %s: %s", s.Line, s.Text, s.Why) }

// ParseList reads a blocklist: Mastodon's domain-block CSV export (header
// "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate",
// or the same columns without "#", or no header at all), or a plain list
// with one domain per line ("#" starts a comment). Severity "suspend" (or
// none) blocks, "silence" silences, "noop" is skipped; reject_media and
// reject_reports are ignored (the bridge fetches no remote media and takes
// no reports). Duplicates keep the most severe entry.
func ParseList(r io.Reader) ([]ListEntry, []Skipped, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxListBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("moderation: read blocklist: %w", err)
	}
	if len(data) > MaxListBytes {
		return nil, nil, fmt.Errorf("moderation: blocklist larger than %d MiB", MaxListBytes>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // UTF-8 BOM
	p := &listParser{index: map[string]int{}}
	if isCSV(data) {
		err = p.csv(data)
	} else {
		p.plain(data)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(p.entries) > MaxListEntries {
		return nil, nil, fmt.Errorf("moderation: blocklist has %d entries, more than %d", len(p.entries), MaxListEntries)
	}
	return p.entries, p.skipped, nil
}

type listParser struct {
	entries []ListEntry
	index   map[string]int // domain -> index in entries
	skipped []Skipped
}

// isCSV tells a CSV (with or without header) from a plain list: a header,
// or a comma on the first line that is not a comment.
func isCSV(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		l := strings.ToLower(strings.TrimSpace(line))
		if l == "" {
			continue
		}
		if strings.HasPrefix(l, "#domain") || strings.HasPrefix(l, "domain,") {
			return true
		}
		if strings.HasPrefix(l, "#") {
			continue
		}
		return strings.Contains(l, ",")
	}
	return false
}

func (p *listParser) add(line int, text, domain, severity, reason string) {
	d, err := config.NormalizeDomain(domain)
	if err != nil {
		p.skip(line, text, err.Error())
		return
	}
	switch strings.ToLower(strings.TrimSpace(severity)) {
	case "", storage.SeveritySuspend:
		severity = storage.SeveritySuspend
	case storage.SeveritySilence:
		severity = storage.SeveritySilence
	case "noop":
		p.skip(line, text, "severity noop")
		return
	default:
		p.skip(line, text, fmt.Sprintf("unknown severity %q", severity))
		return
	}
	e := ListEntry{Domain: d, Severity: severity, Reason: truncateRunes(strings.TrimSpace(reason), maxReason)}
	if i, dup := p.index[d]; dup {
		if p.entries[i].Severity == storage.SeveritySilence && severity == storage.SeveritySuspend {
			p.entries[i] = e
		}
		return
	}
	p.index[d] = len(p.entries)
	p.entries = append(p.entries, e)
}

func (p *listParser) skip(line int, text, why string) {
	if len(p.skipped) < 1000 { // a garbage download must not fill memory
		p.skipped = append(p.skipped, Skipped{Line: line, Text: truncateRunes(text, 80), Why: why})
	}
}

func (p *listParser) plain(data []byte) {
	for i, line := range strings.Split(string(data), "\n") {
		text, comment, _ := strings.Cut(line, "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) > 1 {
			p.skip(i+1, strings.TrimSpace(line), "more than one word")
			continue
		}
		p.add(i+1, strings.TrimSpace(line), fields[0], "", comment)
	}
}

func (p *listParser) csv(data []byte) error {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.LazyQuotes = true
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	cols := map[string]int{"domain": 0, "severity": 1, "public_comment": 4}
	first := true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				p.skip(pe.Line, "", pe.Err.Error())
				continue
			}
			return fmt.Errorf("moderation: read blocklist: %w", err)
		}
		text := strings.Join(rec, ",")
		if first {
			first = false
			header := map[string]int{}
			for i, name := range rec {
				header[strings.ToLower(strings.TrimPrefix(strings.TrimSpace(name), "#"))] = i
			}
			if _, ok := header["domain"]; ok {
				cols = header
				continue
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if strings.HasPrefix(strings.TrimSpace(rec[0]), "#") {
			continue // a comment line
		}
		get := func(name string) string {
			if i, ok := cols[name]; ok && i < len(rec) {
				return rec[i]
			}
			return ""
		}
		p.add(line, text, get("domain"), get("severity"), get("public_comment"))
	}
}

const maxReason = 500 // characters

func truncateRunes(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}
