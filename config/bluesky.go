package config

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/passerelle/passerelle/hostport"
)

// Bluesky mirrors an account's posts to a Bluesky (AT Protocol) account.
// The mirror is enabled when any key is set; identifier and app_password
// are then required.
type Bluesky struct {
	// PDSURL is the account's PDS, or the entryway ("https://bsky.social").
	PDSURL string `yaml:"pds_url"`
	// Identifier is the account's handle or DID, used to log in.
	Identifier string `yaml:"identifier"`
	// AppPassword is an app password of the account (Settings → Privacy
	// and security → App passwords), never the main password. Write it as a
	// ${VAR} or ${file:...} reference.
	AppPassword string `yaml:"app_password"`
	// SessionKey, when set, is the secret the stored session tokens are
	// encrypted with; empty: a key derived from the app password.
	SessionKey string `yaml:"session_key"`
	// Handle is the handle `bridge bluesky handle` switches the account
	// to, whose domain serves /.well-known/atproto-did. Empty: the handle
	// domain (federation.account_domain, else public_url's host).
	Handle string `yaml:"handle"`
	// LongPosts is what happens to a post over Bluesky's 300 characters:
	// thread (a reply thread) or truncate (cut, with a link to the post).
	LongPosts string `yaml:"long_posts"`
	// ImageMaxBytes is the largest image blob uploaded; larger images are
	// re-encoded or scaled down to fit. 0: DefaultBlueskyImageMaxBytes.
	ImageMaxBytes int `yaml:"image_max_bytes"`
	// Edits is what an edit does: recreate (delete and post again: likes
	// and replies on Bluesky are lost) or ignore.
	Edits string `yaml:"edits"`
	// Quotes is allow, or disallow (a postgate forbids quoting).
	Quotes string `yaml:"quotes"`
	// AltText is required (an image without a description is not
	// mirrored, and the post is reported as failed) or optional.
	AltText string `yaml:"alt_text"`
	// SensitiveLabel is the self-label a post marked sensitive carries on
	// its records with media (com.atproto.label.defs#selfLabels): one of
	// Bluesky's values graphic-media (default), nudity, sexual, porn.
	SensitiveLabel string `yaml:"sensitive_label"`
	// Handles maps fediverse handles ("user@server.example") to Bluesky
	// handles ("user.bsky.social"): a mention of such an account becomes a
	// Bluesky mention; other mentions stay plain text.
	Handles BlueskyHandles `yaml:"handles"`
	// PollInterval is how often the account's Bluesky notifications are
	// read (replies, mentions, quotes, likes, reposts, follows): a third
	// of it for a while after something new (a notification, or a post
	// of the account mirrored), four times it after an hour without
	// anything. 0: DefaultBlueskyPollInterval.
	PollInterval Duration `yaml:"poll_interval"`
}

// Bluesky defaults and limits.
const (
	DefaultBlueskyPDSURL        = "https://bsky.social"
	DefaultBlueskyImageMaxBytes = 2_000_000 // app.bsky.embed.images
	MinBlueskyImageMaxBytes     = 50_000
	MaxBlueskyImageMaxBytes     = 2_000_000
	DefaultReplies              = RepliesEveryone

	DefaultBlueskyPollInterval = Duration(30 * time.Second)
	MinBlueskyPollInterval     = Duration(15 * time.Second)
	MaxBlueskyPollInterval     = Duration(time.Hour)
)

// Values of the Bluesky and reply settings.
const (
	RepliesEveryone  = "everyone"
	RepliesFollowers = "followers"
	RepliesFollowing = "following"
	RepliesMentioned = "mentioned"
	RepliesNobody    = "nobody"

	LongPostsThread   = "thread"
	LongPostsTruncate = "truncate"
	EditsRecreate     = "recreate"
	EditsIgnore       = "ignore"
	QuotesAllow       = "allow"
	QuotesDisallow    = "disallow"
	AltTextRequired   = "required"
	AltTextOptional   = "optional"

	// Bluesky's self-label values for media (the app blurs or hides
	// them by the viewer's settings).
	LabelGraphicMedia = "graphic-media"
	LabelNudity       = "nudity"
	LabelSexual       = "sexual"
	LabelPorn         = "porn"
)

var (
	repliesValues   = []string{RepliesEveryone, RepliesFollowers, RepliesFollowing, RepliesMentioned, RepliesNobody}
	longPostsValues = []string{LongPostsThread, LongPostsTruncate}
	editsValues     = []string{EditsRecreate, EditsIgnore}
	quotesValues    = []string{QuotesAllow, QuotesDisallow}
	altTextValues   = []string{AltTextRequired, AltTextOptional}
	labelValues     = []string{LabelGraphicMedia, LabelNudity, LabelSexual, LabelPorn}
)

// BlueskyHandles maps lower-cased fediverse handles (user@domain, without
// "@") to Bluesky handles (lower-cased, without "@").
type BlueskyHandles map[string]string

// UnmarshalYAML decodes a mapping of handles, normalised: a leading "@"
// removed, lower-cased. Values are taken literally.
func (h *BlueskyHandles) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("expected a mapping of fediverse handles to Bluesky handles, such as {\"user@server.example\": \"user.bsky.social\"}, got %s", describe(n))
	}
	m := BlueskyHandles{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return fmt.Errorf("the entries must be \"user@server\": \"handle\", got %s: %s", describe(k), describe(v))
		}
		fedi := normalizeHandle(k.Value)
		if _, dup := m[fedi]; dup {
			return fmt.Errorf("duplicate key %s", quote(k.Value))
		}
		m[fedi] = normalizeHandle(v.Value)
	}
	*h = m
	return nil
}

func normalizeHandle(s string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(s), "@"))
}

// Enabled reports whether the account is mirrored to Bluesky.
func (b Bluesky) Enabled() bool {
	return b.PDSURL != "" || b.Identifier != "" || b.AppPassword != "" || b.SessionKey != "" ||
		b.Handle != "" || b.LongPosts != "" || b.ImageMaxBytes != 0 || b.Edits != "" ||
		b.Quotes != "" || b.AltText != "" || b.SensitiveLabel != "" || len(b.Handles) > 0 || b.PollInterval != 0
}

// PollIntervalOrDefault returns PollInterval, or DefaultBlueskyPollInterval
// when zero.
func (b Bluesky) PollIntervalOrDefault() time.Duration {
	if b.PollInterval == 0 {
		return DefaultBlueskyPollInterval.Duration()
	}
	return b.PollInterval.Duration()
}

// applyDefaults fills in the defaults of an enabled mirror.
func (b *Bluesky) applyDefaults() {
	if !b.Enabled() {
		return
	}
	setDefault(&b.PDSURL, DefaultBlueskyPDSURL)
	b.PDSURL = strings.TrimRight(b.PDSURL, "/")
	setDefault(&b.LongPosts, LongPostsThread)
	setDefault(&b.Edits, EditsRecreate)
	setDefault(&b.Quotes, QuotesAllow)
	setDefault(&b.AltText, AltTextRequired)
	setDefault(&b.SensitiveLabel, LabelGraphicMedia)
	if b.ImageMaxBytes == 0 {
		b.ImageMaxBytes = DefaultBlueskyImageMaxBytes
	}
	b.Identifier = normalizeHandleOrDID(b.Identifier)
	b.Handle = normalizeHandle(b.Handle)
}

// normalizeHandleOrDID lower-cases a handle (DIDs are case-sensitive).
func normalizeHandleOrDID(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "did:") {
		return s
	}
	return normalizeHandle(s)
}

// BlueskyHandle returns the handle the account's Bluesky mirror should
// have: bluesky.handle, or the handle domain (without port).
func (c *Config) BlueskyHandle(a Account) string {
	if a.Bluesky.Handle != "" {
		return a.Bluesky.Handle
	}
	return strings.ToLower(hostport.Host(c.HandleDomain()))
}

// applyBlueskyDefaults fills in replies and the Bluesky defaults of every
// account.
func (c *Config) applyBlueskyDefaults() {
	for i := range c.Accounts {
		setDefault(&c.Accounts[i].Replies, DefaultReplies)
		c.Accounts[i].Bluesky.applyDefaults()
	}
}

// blueskyAccounts checks every account's replies and Bluesky mirror, and
// that no two mirrors want the same handle.
func (v *validator) blueskyAccounts(c *Config) {
	wanted := map[string]int{} // handle -> account index
	for i, a := range c.Accounts {
		key := fmt.Sprintf("accounts[%d]", i)
		if a.Replies != "" {
			v.oneOf(key+".replies", a.Replies, repliesValues)
		}
		if !a.Bluesky.Enabled() {
			continue
		}
		v.bluesky(key+".bluesky", a.Bluesky)
		h := c.BlueskyHandle(a)
		if a.Bluesky.Handle == "" && !validAtprotoHandle(h) {
			// The same rule as `bridge bluesky handle`: a handle is a
			// domain name, never an IP address or a single label.
			from := "the host of server.public_url"
			if c.Federation.AccountDomain != "" {
				from = "federation.account_domain"
			}
			v.addf(key+".bluesky.handle", "the default Bluesky handle would be %s (%s), which is not a domain name a Bluesky handle can be; set bluesky.handle to a domain such as \"city.example\"", quote(h), from)
			continue
		}
		if first, dup := wanted[h]; dup {
			v.addf(key+".bluesky.handle", "%s is already the Bluesky handle of accounts[%d]; give each mirrored account its own handle, such as %s", quote(h), first, quote(a.Username+"."+h))
			continue
		}
		wanted[h] = i
	}
}

func (v *validator) bluesky(key string, b Bluesky) {
	if b.PDSURL != "" {
		u, err := url.Parse(b.PDSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			v.addf(key+".pds_url", "must be the URL of a PDS such as %s (scheme and host, no path); got %s", quote(DefaultBlueskyPDSURL), quote(b.PDSURL))
		}
	}
	if v.required(key+".identifier", b.Identifier) && !validBlueskyIdentifier(b.Identifier) {
		v.addf(key+".identifier", "must be the account's handle (\"city.bsky.social\", \"city.example\") or DID (\"did:plc:...\"); got %s", quote(b.Identifier))
	}
	// Secrets are never printed, only named.
	v.required(key+".app_password", b.AppPassword)
	if b.SessionKey != "" && len(b.SessionKey) < 16 {
		v.addf(key+".session_key", "must be at least 16 characters long")
	}
	if b.Handle != "" && !validAtprotoHandle(b.Handle) {
		v.addf(key+".handle", "must be a domain name such as \"city.example\" or \"news.city.example\"; got %s", quote(b.Handle))
	}
	v.oneOf(key+".long_posts", b.LongPosts, longPostsValues)
	v.oneOf(key+".edits", b.Edits, editsValues)
	v.oneOf(key+".quotes", b.Quotes, quotesValues)
	v.oneOf(key+".alt_text", b.AltText, altTextValues)
	v.oneOf(key+".sensitive_label", b.SensitiveLabel, labelValues)
	v.intRange(key+".image_max_bytes", b.ImageMaxBytes, MinBlueskyImageMaxBytes, MaxBlueskyImageMaxBytes)
	if b.PollInterval != 0 && (b.PollInterval < MinBlueskyPollInterval || b.PollInterval > MaxBlueskyPollInterval) {
		v.addf(key+".poll_interval", "must be between %s and %s; got %s", MinBlueskyPollInterval, MaxBlueskyPollInterval, b.PollInterval)
	}
	for _, fedi := range sortedHandles(b.Handles) {
		hk := key + ".handles." + fedi
		user, domain, ok := strings.Cut(fedi, "@")
		if !ok || user == "" || !validHostname(hostport.Host(domain)) {
			v.addf(hk, "the key must be a fediverse handle such as \"user@server.example\"")
		}
		if !validAtprotoHandle(b.Handles[fedi]) {
			v.addf(hk, "must be a Bluesky handle such as \"user.bsky.social\"; got %s", quote(b.Handles[fedi]))
		}
	}
}

// validBlueskyIdentifier accepts a handle or a DID.
func validBlueskyIdentifier(s string) bool {
	if rest, ok := strings.CutPrefix(s, "did:"); ok {
		method, id, ok := strings.Cut(rest, ":")
		return ok && method != "" && id != "" && !strings.ContainsAny(s, " /?#")
	}
	return validAtprotoHandle(s)
}

// validAtprotoHandle reports whether s is an AT Protocol handle: a host
// name of at least two labels, the last one starting with a letter.
func validAtprotoHandle(s string) bool {
	if len(s) > 253 || !validHostname(s) {
		return false
	}
	i := strings.LastIndexByte(s, '.')
	if i < 0 || i == len(s)-1 {
		return false
	}
	tld := s[i+1:]
	return 'a' <= tld[0] && tld[0] <= 'z'
}

func sortedHandles(m BlueskyHandles) []string { return slices.Sorted(maps.Keys(m)) }
