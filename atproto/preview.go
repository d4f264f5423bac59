package atproto

import "github.com/passerelle/passerelle/storage"

// Preview is what a post will become on Bluesky, before it is published
// (the console's compose page): its records, cut as the mirror will cut
// them, and the image size over which the mirror re-encodes an image.
type Preview struct {
	Records       []PreviewRecord
	Truncated     bool // long_posts: truncate cut the text
	ImageMaxBytes int64
}

// PreviewRecord is one record of the thread.
type PreviewRecord struct {
	Text      string
	Graphemes int
	Bytes     int
	Images    []int // indexes into the post's media
	Card      string
}

// Preview plans st (not stored yet: its text, content warning and media)
// for account as the mirror will; false when the account is not mirrored.
// Mentions mapped in bluesky.handles are shown as written on Bluesky.
func (m *Mirror) Preview(account string, st storage.Status, media []storage.Media) (Preview, bool) {
	a := m.accounts[lower(account)]
	if a == nil {
		return Preview{}, false
	}
	st.Account = a.Username
	p := m.plan(a, st, media, m.handles)
	out := Preview{Truncated: p.truncated, ImageMaxBytes: int64(a.Bluesky.ImageMaxBytes)}
	for _, r := range p.records {
		out.Records = append(out.Records, PreviewRecord{Text: r.text.Text, Graphemes: Graphemes(r.text.Text), Bytes: len(r.text.Text),
			Images: r.images, Card: r.card})
	}
	return out, true
}
