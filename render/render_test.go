package render

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	tagPrefix = "https://social.city.example/tags/"
	local     = "city.example"
)

// fakeResolver knows a fixed set of accounts keyed "user@domain" (lower
// case) and counts its calls.
type fakeResolver struct {
	mu       sync.Mutex
	accounts map[string][2]string // actor id, profile URL
	calls    []string
}

var _ Resolver = (*fakeResolver)(nil)

func (f *fakeResolver) ResolveMention(_ context.Context, username, domain string) (string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := strings.ToLower(username) + "@" + domain
	f.calls = append(f.calls, key)
	a, ok := f.accounts[key]
	if !ok {
		return "", "", errors.New("not found")
	}
	return a[0], a[1], nil
}

func newResolver() *fakeResolver {
	return &fakeResolver{accounts: map[string][2]string{
		"news@city.example":     {"https://social.city.example/users/news", "https://social.city.example/@news"},
		"mayor@city.example":    {"https://social.city.example/users/mayor", "https://social.city.example/@mayor"},
		"alice@remote.example":  {"https://remote.example/users/alice", "https://remote.example/@alice"},
		"bob.smith@gts.example": {"https://gts.example/users/bob.smith", "https://gts.example/@bob.smith"},
		"evil@bad.example":      {"https://bad.example/users/evil", "javascript:alert(1)"},
		"worse@bad.example":     {"javascript:alert(1)", "javascript:alert(2)"},
		"quote@odd.example":     {"https://odd.example/u/q", `https://odd.example/@q"><script>`},
		"user_1@remote.example": {"https://remote.example/users/user_1", "https://remote.example/@user_1"},
		"user-2@remote.example": {"https://remote.example/users/user-2", "https://remote.example/@user-2"},
	}}
}

// Helpers that spell out the exact markup, so that the expectations below
// stay readable. TestTextExactMarkup pins them against literal strings.
func link(prefix, display, suffix string) string {
	class := ""
	if suffix != "" {
		class = "ellipsis"
	}
	href := prefix + display + suffix
	return `<a href="` + esc(href) + `" target="_blank" rel="nofollow noopener" translate="no">` +
		`<span class="invisible">` + esc(prefix) + `</span><span class="` + class + `">` + esc(display) +
		`</span><span class="invisible">` + esc(suffix) + `</span></a>`
}

func hashtag(name, slug string) string {
	return `<a href="` + tagPrefix + slug + `" class="mention hashtag" rel="tag">#<span>` + esc(name) + `</span></a>`
}

func mention(profile, user string) string {
	return `<span class="h-card" translate="no"><a href="` + esc(profile) + `" class="u-url mention">@<span>` + user + `</span></a></span>`
}

func esc(s string) string {
	var b strings.Builder
	escapeTo(&b, s)
	return b.String()
}

func TestTextExactMarkup(t *testing.T) {
	// Literal Mastodon markup, to pin the helpers above.
	got := Text(context.Background(),
		"Hi @news! https://example.com/ #Rathaus https://example.com/a/very/long/path/that/goes/on/and/on",
		Options{TagURLPrefix: tagPrefix, LocalDomain: local, Resolver: newResolver()}).HTML
	want := `<p>Hi <span class="h-card" translate="no"><a href="https://social.city.example/@news" class="u-url mention">@<span>news</span></a></span>! ` +
		`<a href="https://example.com/" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="">example.com/</span><span class="invisible"></span></a> ` +
		`<a href="https://social.city.example/tags/rathaus" class="mention hashtag" rel="tag">#<span>Rathaus</span></a> ` +
		`<a href="https://example.com/a/very/long/path/that/goes/on/and/on" target="_blank" rel="nofollow noopener" translate="no"><span class="invisible">https://</span><span class="ellipsis">example.com/a/very/long/path/t</span><span class="invisible">hat/goes/on/and/on</span></a></p>`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestText(t *testing.T) {
	long := "https://example.com/" + strings.Repeat("a", 40)
	tag100 := "t" + strings.Repeat("1", 99)
	tests := []struct {
		name string
		in   string
		want string
	}{
		// Paragraphs and escaping.
		{"empty", "", ""},
		{"only white space", " \n\t\n  ", ""},
		{"plain", "Hello, city!", "<p>Hello, city!</p>"},
		{"line break", "one\ntwo", "<p>one<br>two</p>"},
		{"paragraphs", "one\ntwo\n\nthree", "<p>one<br>two</p><p>three</p>"},
		{"many blank lines", "\n\none\n\n\n\ntwo\n\n", "<p>one</p><p>two</p>"},
		{"white-space line separates", "one\n  \t\ntwo", "<p>one</p><p>two</p>"},
		{"CRLF", "one\r\ntwo\r\n\r\nthree\rfour", "<p>one<br>two</p><p>three<br>four</p>"},
		{"leading spaces kept", "  indented", "<p>  indented</p>"},
		{"script", `<script>alert("x")</script>`, "<p>&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;</p>"},
		{"quotes and ampersand", `Tom & Jerry's "show" &amp;`, "<p>Tom &amp; Jerry&#39;s &quot;show&quot; &amp;amp;</p>"},
		{"tag-like text", "a <b>bold</b> <!-- c --> <p>", "<p>a &lt;b&gt;bold&lt;/b&gt; &lt;!-- c --&gt; &lt;p&gt;</p>"},
		{"RTL", "مرحبا بالعالم\u200f שלום", "<p>مرحبا بالعالم\u200f שלום</p>"},
		{"emoji", "Fête 🎉👩‍👩‍👧 🇫🇷", "<p>Fête 🎉👩‍👩‍👧 🇫🇷</p>"},
		{"combining", "e\u0301te\u0301 Z\u0351\u0336a\u0337", "<p>e\u0301te\u0301 Z\u0351\u0336a\u0337</p>"},
		{"invalid UTF-8", "a\xffb\xc3", "<p>a\uFFFDb\uFFFD</p>"},
		{"control characters removed", "a\x00b\x07c\u0085d\ufdd0e\uffff", "<p>abcde</p>"},
		{"tab kept", "a\tb", "<p>a\tb</p>"},

		// Links.
		{"link", "https://example.com", "<p>" + link("https://", "example.com", "") + "</p>"},
		{"http link", "http://example.com/x", "<p>" + link("http://", "example.com/x", "") + "</p>"},
		{"www is invisible", "https://www.example.com/", "<p>" + link("https://www.", "example.com/", "") + "</p>"},
		{"long link", long, "<p>" + link("https://", long[8:38], long[38:]) + "</p>"},
		{"exactly 30", "https://example.com/" + strings.Repeat("b", 18), "<p>" + link("https://", "example.com/"+strings.Repeat("b", 18), "") + "</p>"},
		{"31 characters", "https://example.com/" + strings.Repeat("b", 19), "<p>" + link("https://", "example.com/"+strings.Repeat("b", 18), "b") + "</p>"},
		{"cut counts characters not bytes", "https://example.com/" + strings.Repeat("é", 20), "<p>" + link("https://", "example.com/"+strings.Repeat("é", 18), "éé") + "</p>"},
		{"upper-case scheme", "HTTPS://EXAMPLE.COM/X", "<p>" + link("", "HTTPS://EXAMPLE.COM/X", "") + "</p>"},
		{"trailing period", "See https://example.com/page.", "<p>See " + link("https://", "example.com/page", "") + ".</p>"},
		{"trailing comma", "https://example.com/a, b", "<p>" + link("https://", "example.com/a", "") + ", b</p>"},
		{"trailing exclamation", "https://example.com/a!", "<p>" + link("https://", "example.com/a", "") + "!</p>"},
		{"trailing question", "https://example.com/a?", "<p>" + link("https://", "example.com/a", "") + "?</p>"},
		{"trailing colon", "https://example.com:", "<p>" + link("https://", "example.com", "") + ":</p>"},
		{"in parentheses", "(https://example.com/a)", "<p>(" + link("https://", "example.com/a", "") + ")</p>"},
		{"Wikipedia", "https://en.wikipedia.org/wiki/Bonn_(city)",
			"<p>" + link("https://", "en.wikipedia.org/wiki/Bonn_(ci", "ty)") + "</p>"},
		{"Wikipedia in parentheses", "(https://en.wikipedia.org/wiki/A_(b)).",
			"<p>(" + link("https://", "en.wikipedia.org/wiki/A_(b)", "") + ").</p>"},
		{"nested parentheses", "https://example.com/a_(b_(c)_d)", "<p>" + link("https://", "example.com/a_(b_(c)_d)", "") + "</p>"},
		{"query string", "https://example.com/s?q=a&b=c#top ok",
			"<p>" + link("https://", "example.com/s?q=a&b=c#top", "") + " ok</p>"},
		{"query ending", "https://example.com/?q=a.", "<p>" + link("https://", "example.com/?q=a", "") + ".</p>"},
		{"query without path", "https://example.com?x=1", "<p>" + link("https://", "example.com?x=1", "") + "</p>"},
		{"port", "http://example.com:8080/x", "<p>" + link("http://", "example.com:8080/x", "") + "</p>"},
		{"fragment is not a hashtag", "https://example.com/#news", "<p>" + link("https://", "example.com/#news", "") + "</p>"},
		{"at sign in path is not a mention", "https://mastodon.example/@news", "<p>" + link("https://", "mastodon.example/@news", "") + "</p>"},
		{"quote ends a path", `https://example.com/"><b>x`, "<p>" + link("https://", "example.com/", "") + "&quot;&gt;&lt;b&gt;x</p>"},
		{"quote inside path", `https://example.com/a"b`, "<p>" + link("https://", `example.com/a"b`, "") + "</p>"},
		{"unicode path", "https://example.com/straße/日本", "<p>" + link("https://", "example.com/straße/日本", "") + "</p>"},
		{"IDN host", "https://пример.испытание/", "<p>" + link("https://", "пример.испытание/", "") + "</p>"},
		{"punycode TLD", "https://xn--80ak6aa92e.xn--p1ai", "<p>" + link("https://", "xn--80ak6aa92e.xn--p1ai", "") + "</p>"},
		{"two links", "https://a.example https://b.example", "<p>" + link("https://", "a.example", "") + " " + link("https://", "b.example", "") + "</p>"},
		{"link across lines", "https://a.example/x\nhttps://b.example", "<p>" + link("https://", "a.example/x", "") + "<br>" + link("https://", "b.example", "") + "</p>"},
		{"no javascript", "javascript:alert(1)", "<p>javascript:alert(1)</p>"},
		{"no other scheme", "ftp://example.com data:text/html,x", "<p>ftp://example.com data:text/html,x</p>"},
		{"no scheme", "example.com www.example.com", "<p>example.com www.example.com</p>"},
		{"no TLD", "http://localhost:8080/", "<p>http://localhost:8080/</p>"},
		{"IP address", "http://192.0.2.1/", "<p>http://192.0.2.1/</p>"},
		{"numeric TLD backs off", "https://example.com.42/x", "<p>" + link("https://", "example.com", "") + ".42/x</p>"},
		{"user info", "https://user@example.com/", "<p>https://user@example.com/</p>"},
		{"letter before scheme", "xhttps://example.com", "<p>xhttps://example.com</p>"},
		{"bare scheme", "https:// and https://.", "<p>https:// and https://.</p>"},
		{"URL after punctuation", "→https://example.com", "<p>→" + link("https://", "example.com", "") + "</p>"},

		// Hashtags.
		{"hashtag", "#Stadtrat", "<p>" + hashtag("Stadtrat", "stadtrat") + "</p>"},
		{"hashtag in sentence", "Join the #OpenData meetup.", "<p>Join the " + hashtag("OpenData", "opendata") + " meetup.</p>"},
		{"hashtag after punctuation", "(#a) \"#b\" ,#c", "<p>(" + hashtag("a", "a") + ") &quot;" + hashtag("b", "b") + "&quot; ," + hashtag("c", "c") + "</p>"},
		{"hashtag after word character", "foo#bar C#", "<p>foo#bar C#</p>"},
		{"hashtag after slash", "a/#b", "<p>a/#b</p>"},
		{"digits only", "#2024 #1", "<p>#2024 #1</p>"},
		{"digits and letters", "#2024年 #1a #a1", "<p>" + hashtag("2024年", "2024%E5%B9%B4") + " " + hashtag("1a", "1a") + " " + hashtag("a1", "a1") + "</p>"},
		{"underscore", "#open_data #_x #__", "<p>" + hashtag("open_data", "open_data") + " " + hashtag("_x", "_x") + " #__</p>"},
		{"digits with underscore", "#1_2", "<p>" + hashtag("1_2", "1_2") + "</p>"},
		{"middle dot", "#l·lengua #ab·", "<p>" + hashtag("l·lengua", "l%C2%B7lengua") + " " + hashtag("ab", "ab") + "·</p>"},
		{"full-width sign", "＃東京", "<p>" + hashtag("東京", "%E6%9D%B1%E4%BA%AC") + "</p>"},
		{"marks", "#नमस्ते", "<p>" + hashtag("नमस्ते", "%E0%A4%A8%E0%A4%AE%E0%A4%B8%E0%A5%8D%E0%A4%A4%E0%A5%87") + "</p>"},
		{"case kept, URL lower", "#CityCouncil", "<p>" + hashtag("CityCouncil", "citycouncil") + "</p>"},
		{"ends at punctuation", "#tag, #tag2!", "<p>" + hashtag("tag", "tag") + ", " + hashtag("tag2", "tag2") + "!</p>"},
		{"double sign", "##tag", "<p>#" + hashtag("tag", "tag") + "</p>"},
		{"lone sign", "# #! #", "<p># #! #</p>"},
		{"100 characters", "#" + tag100, "<p>" + hashtag(tag100, tag100) + "</p>"},
		{"101 characters", "#" + tag100 + "2", "<p>#" + tag100 + "2</p>"},
		{"hashtag glued to URL", "#newshttps://example.com", "<p>" + hashtag("news", "news") + "https://example.com</p>"},

		// Mentions.
		{"local mention", "@news hello", "<p>" + mention("https://social.city.example/@news", "news") + " hello</p>"},
		{"local mention with domain", "@mayor@City.Example", "<p>" + mention("https://social.city.example/@mayor", "mayor") + "</p>"},
		{"remote mention", "Hi @alice@remote.example!", "<p>Hi " + mention("https://remote.example/@alice", "alice") + "!</p>"},
		{"username case kept", "@ALICE@Remote.Example", "<p>" + mention("https://remote.example/@alice", "ALICE") + "</p>"},
		{"dotted username", "@bob.smith@gts.example.", "<p>" + mention("https://gts.example/@bob.smith", "bob.smith") + ".</p>"},
		{"followed by punctuation", "@news, @news. @news: (@news) @news?",
			"<p>" + mention("https://social.city.example/@news", "news") + ", " +
				mention("https://social.city.example/@news", "news") + ". " +
				mention("https://social.city.example/@news", "news") + ": (" +
				mention("https://social.city.example/@news", "news") + ") " +
				mention("https://social.city.example/@news", "news") + "?</p>"},
		{"underscore and dash", "@user_1@remote.example @user-2@remote.example",
			"<p>" + mention("https://remote.example/@user_1", "user_1") + " " + mention("https://remote.example/@user-2", "user-2") + "</p>"},
		{"unknown stays text", "@nobody@remote.example & @ghost", "<p>@nobody@remote.example &amp; @ghost</p>"},
		{"e-mail is not a mention", "write to news@city.example", "<p>write to news@city.example</p>"},
		{"after equals sign", "x=@news", "<p>x=@news</p>"},
		{"followed by @", "@news@", "<p>@news@</p>"},
		{"followed by accent", "@newsé", "<p>@newsé</p>"},
		{"followed by scheme", "@news://x", "<p>@news://x</p>"},
		{"bare at sign", "@ @@ @.", "<p>@ @@ @.</p>"},
		{"non-ASCII username is not a mention", "@üser@münchen.example", "<p>@üser@münchen.example</p>"},
		{"javascript profile falls back to actor id", "@evil@bad.example", "<p>" + mention("https://bad.example/users/evil", "evil") + "</p>"},
		{"javascript everywhere stays text", "@worse@bad.example", "<p>@worse@bad.example</p>"},
		{"profile URL escaped", "@quote@odd.example", "<p>" + mention(`https://odd.example/@q"><script>`, "quote") + "</p>"},
		{"mention in link text", "https://remote.example/@alice@remote.example", "<p>" + link("https://", "remote.example/@alice@remote.e", "xample") + "</p>"},
		{"all together", "#Bonn: @news shares https://bonn.example/x?a=1&b=2.\n\nThanks @alice@remote.example! #bonn",
			"<p>" + hashtag("Bonn", "bonn") + ": " + mention("https://social.city.example/@news", "news") +
				" shares " + link("https://", "bonn.example/x?a=1&b=2", "") + ".</p><p>Thanks " +
				mention("https://remote.example/@alice", "alice") + "! " + hashtag("bonn", "bonn") + "</p>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := Text(context.Background(), tt.in, Options{TagURLPrefix: tagPrefix, LocalDomain: local, Resolver: newResolver()})
			if res.HTML != tt.want {
				t.Errorf("Text(%q)\n got %s\nwant %s", tt.in, res.HTML, tt.want)
			}
			checkHTML(t, res.HTML)
		})
	}
}

func TestTextEntities(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		mentions []Mention
		tags     []Tag
		links    []string
		calls    []string
	}{
		{
			name: "tags deduplicated case-insensitively, first spelling kept",
			in:   "#OpenData #opendata #OPENDATA #Bonn",
			tags: []Tag{{"OpenData", tagPrefix + "opendata"}, {"Bonn", tagPrefix + "bonn"}},
		},
		{
			name: "tag inside a URL is not a tag",
			in:   "https://example.com/#frag #real",
			tags: []Tag{{"real", tagPrefix + "real"}}, links: []string{"https://example.com/#frag"},
		},
		{
			name:  "links in order, deduplicated",
			in:    "https://b.example https://a.example https://b.example",
			links: []string{"https://b.example", "https://a.example"},
		},
		{
			name: "each distinct mention resolved once",
			in:   "@news @NEWS @news@city.example @alice@remote.example @Alice@REMOTE.example @nobody @nobody",
			mentions: []Mention{
				{"news", "city.example", "https://social.city.example/users/news", "https://social.city.example/@news"},
				{"alice", "remote.example", "https://remote.example/users/alice", "https://remote.example/@alice"},
			},
			calls: []string{"news@city.example", "alice@remote.example", "nobody@city.example"},
		},
		{
			name:  "e-mail addresses resolve nothing",
			in:    "news@city.example alice@remote.example",
			calls: nil,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newResolver()
			res := Text(context.Background(), tt.in, Options{TagURLPrefix: tagPrefix, LocalDomain: "City.Example", Resolver: r})
			if !reflect.DeepEqual(res.Mentions, tt.mentions) {
				t.Errorf("Mentions = %+v, want %+v", res.Mentions, tt.mentions)
			}
			if !reflect.DeepEqual(res.Tags, tt.tags) {
				t.Errorf("Tags = %+v, want %+v", res.Tags, tt.tags)
			}
			if !reflect.DeepEqual(res.Links, tt.links) {
				t.Errorf("Links = %q, want %q", res.Links, tt.links)
			}
			if !reflect.DeepEqual(r.calls, tt.calls) {
				t.Errorf("resolver calls = %q, want %q", r.calls, tt.calls)
			}
		})
	}
}

func TestTextUnicodeDomainMention(t *testing.T) {
	// The domain part of a mention may be non-ASCII; it is lower-cased.
	r := &fakeResolver{accounts: map[string][2]string{
		"anna@münchen.example": {"https://xn--mnchen-3ya.example/users/anna", "https://xn--mnchen-3ya.example/@anna"},
	}}
	res := Text(context.Background(), "@anna@MÜNCHEN.example", Options{Resolver: r})
	want := []Mention{{"anna", "münchen.example", "https://xn--mnchen-3ya.example/users/anna", "https://xn--mnchen-3ya.example/@anna"}}
	if !reflect.DeepEqual(res.Mentions, want) {
		t.Errorf("Mentions = %+v, want %+v", res.Mentions, want)
	}
}

func TestTextMentionCap(t *testing.T) {
	r := &fakeResolver{accounts: map[string][2]string{}}
	var b strings.Builder
	for i := range MaxMentions + 5 {
		u := "u" + strings.Repeat("x", i)
		r.accounts[u+"@remote.example"] = [2]string{"https://remote.example/users/" + u, "https://remote.example/@" + u}
		b.WriteString("@" + u + "@remote.example ")
	}
	b.WriteString("@u@remote.example @uxxxxxxxxxxxxxxxxxxxxxxx@remote.example") // a repeat of the first and of an extra one
	res := Text(context.Background(), b.String(), Options{Resolver: r})
	if len(res.Mentions) != MaxMentions {
		t.Errorf("got %d mentions, want %d", len(res.Mentions), MaxMentions)
	}
	if len(r.calls) != MaxMentions {
		t.Errorf("resolver called %d times, want %d", len(r.calls), MaxMentions)
	}
	if n := strings.Count(res.HTML, `class="h-card"`); n != MaxMentions+1 {
		t.Errorf("%d linked mentions, want %d (the cap plus the repeat)", n, MaxMentions+1)
	}
	if !strings.Contains(res.HTML, " @uxxxxxxxxxxxxxxxxxxxxxxx@remote.example") {
		t.Errorf("the 21st distinct mention should stay text:\n%s", res.HTML)
	}
	checkHTML(t, res.HTML)
}

func TestTextNoResolver(t *testing.T) {
	res := Text(context.Background(), "@news @alice@remote.example", Options{})
	if want := "<p>@news @alice@remote.example</p>"; res.HTML != want || res.Mentions != nil {
		t.Errorf("got %q %v, want %q and no mentions", res.HTML, res.Mentions, want)
	}
}

func TestTextCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := newResolver()
	res := Text(ctx, "@news", Options{LocalDomain: local, Resolver: r})
	if res.HTML != "<p>@news</p>" || len(r.calls) != 0 {
		t.Errorf("got %q with %d calls; a cancelled context must not resolve", res.HTML, len(r.calls))
	}
	var nilCtx context.Context // a nil context must not panic either
	if res := Text(nilCtx, "@news", Options{LocalDomain: local, Resolver: r}); !strings.Contains(res.HTML, "h-card") {
		t.Errorf("nil context: got %q", res.HTML)
	}
}

// TestGolden renders the posts in testdata/*.txt and compares them with the
// .html files next to them (go test -run TestGolden -update rewrites them).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			text, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := Text(context.Background(), string(text), Options{TagURLPrefix: tagPrefix, LocalDomain: local, Resolver: newResolver()}).HTML + "\n"
			checkHTML(t, got)
			golden := strings.TrimSuffix(in, ".txt") + ".html"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("%s differs from %s:\n got %s\nwant %s", in, golden, got, want)
			}
		})
	}
}

// checkHTML fails unless h is well-formed, balanced HTML made only of the
// elements and attributes Text writes, with every text node inside a <p>,
// every '&' starting one of the five entities we write, and every href an
// http(s) URL.
func checkHTML(t testing.TB, h string) {
	t.Helper()
	if err := validHTML(h); err != nil {
		t.Fatalf("invalid HTML (%v):\n%s", err, h)
	}
}

var allowedAttrs = map[string]map[string]bool{
	"p":    {},
	"br":   {},
	"a":    {"href": true, "target": true, "rel": true, "translate": true, "class": true},
	"span": {"class": true, "translate": true},
}

func validHTML(h string) error {
	if !utf8.ValidString(h) {
		return errors.New("not UTF-8")
	}
	z := html.NewTokenizer(strings.NewReader(h))
	var stack []string
	for {
		tt := z.Next()
		raw := string(z.Raw())
		switch tt {
		case html.ErrorToken:
			if z.Err() != io.EOF {
				return z.Err()
			}
			if len(stack) != 0 {
				return errors.New("unclosed " + strings.Join(stack, ","))
			}
			return nil
		case html.TextToken:
			if strings.Trim(raw, "\n") == "" && len(stack) == 0 {
				continue // the golden files end in a newline
			}
			if len(stack) == 0 {
				return errors.New("text outside <p>: " + raw)
			}
			if strings.ContainsAny(raw, "<>") {
				return errors.New("unescaped < or > in " + raw)
			}
		case html.StartTagToken:
			name, more := z.TagName()
			tag := string(name)
			attrs, ok := allowedAttrs[tag]
			if !ok {
				return errors.New("element " + tag)
			}
			if (tag == "p") != (len(stack) == 0) {
				return errors.New("misplaced <" + tag + ">")
			}
			if tag == "a" && contains(stack, "a") {
				return errors.New("nested <a>")
			}
			for more {
				var k, v []byte
				k, v, more = z.TagAttr()
				if !attrs[string(k)] {
					return errors.New("attribute " + string(k) + " on " + tag)
				}
				if string(k) == "href" && !strings.HasPrefix(strings.ToLower(string(v)), "https://") && !strings.HasPrefix(strings.ToLower(string(v)), "http://") {
					return errors.New("href " + string(v))
				}
			}
			if tag != "br" {
				stack = append(stack, tag)
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			if len(stack) == 0 || stack[len(stack)-1] != string(name) {
				return errors.New("unbalanced </" + string(name) + ">")
			}
			stack = stack[:len(stack)-1]
		default:
			return errors.New("unexpected token " + raw)
		}
		if err := checkEntities(raw); err != nil {
			return err
		}
	}
}

func checkEntities(raw string) error {
	for i := strings.IndexByte(raw, '&'); i >= 0; {
		rest := raw[i:]
		ok := false
		for _, e := range []string{"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"} {
			if strings.HasPrefix(rest, e) {
				ok = true
			}
		}
		if !ok {
			return errors.New("bare & in " + raw)
		}
		j := strings.IndexByte(raw[i+1:], '&')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestTextLinear feeds large adversarial inputs; a quadratic scanner would
// take minutes here.
func TestTextLinear(t *testing.T) {
	const n = 100_000
	inputs := map[string]string{
		"dotted host":    "https://" + strings.Repeat("a.", n) + "1",
		"dotted host ok": "https://" + strings.Repeat("a.", n) + "com",
		"parentheses":    "https://a.example/" + strings.Repeat("(", n),
		"nested":         "https://a.example/" + strings.Repeat("a_(b_(c)_d)", n/10),
		"schemes":        strings.Repeat("http://", n),
		"query":          "https://a.example/?" + strings.Repeat("!", n),
		"path":           "https://a.example/" + strings.Repeat(".", n),
		"hashes":         strings.Repeat("#", n) + strings.Repeat("a", n),
		"tags":           strings.Repeat("#a·", n),
		"digit tags":     strings.Repeat("#1 ", n),
		"at signs":       strings.Repeat("@", n) + "a",
		"mentions":       strings.Repeat("@a@", n),
		"dotted user":    "@" + strings.Repeat("a.", n) + "@" + strings.Repeat("b.", n) + "é",
		"blank lines":    strings.Repeat("\n \n", n),
		"entities":       strings.Repeat("<&>\"'", n),
	}
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			res := Text(context.Background(), in, Options{TagURLPrefix: tagPrefix, LocalDomain: local, Resolver: resolveAll{}})
			checkHTML(t, res.HTML)
			CountCharacters(in)
		})
	}
}
