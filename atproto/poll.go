package atproto

import (
	"context"
	"errors"
	"strings"

	"github.com/passerelle/passerelle/render"
	"github.com/passerelle/passerelle/storage"
)

// Bluesky has no polls (issue 19): the mirrored post carries the poll's
// options as text, one "☐ option" line each, and a link to vote on the
// fediverse (the status's page), after the post's text; the thread is cut
// as usual when it does not fit one record.

// pollOf reads the poll of st for plan; nil when it has none (or it
// cannot be read: the post is then mirrored without it, and the error
// logged).
func (m *Mirror) pollOf(st storage.Status) *storage.Poll {
	if m.store == nil || st.ID == 0 {
		return nil
	}
	p, err := m.store.GetPoll(context.Background(), st.ID)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			m.log.Error().Err(err).Int64("status", st.ID).Msg("read the poll of a mirrored post")
		}
		return nil
	}
	return &p
}

// PollVoteLabel introduces the link to vote.
const PollVoteLabel = "Vote: "

// withPoll appends the poll's options and the link to vote (noteURL,
// when known) to t.
func withPoll(t Text, p *storage.Poll, noteURL string) Text {
	if p == nil || len(p.Options) == 0 {
		return t
	}
	var b strings.Builder
	b.WriteString(t.Text)
	if t.Text != "" {
		b.WriteString("\n\n")
	}
	for _, o := range p.Options {
		b.WriteString("☐ ")
		b.WriteString(strings.TrimSpace(render.Sanitize(o.Title)))
		b.WriteString("\n")
	}
	facets := append([]Facet(nil), t.Facets...)
	if noteURL != "" {
		b.WriteString(PollVoteLabel)
		start := b.Len()
		b.WriteString(render.ShortURL(noteURL))
		facets = append(facets, Facet{Kind: FacetLink, Start: start, End: b.Len(), Value: noteURL})
	}
	return Text{Text: strings.TrimRight(b.String(), "\n"), Facets: facets}
}
