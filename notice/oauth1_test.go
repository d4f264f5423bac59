package notice

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passerelle/passerelle/safehttp"
)

func TestSignatureVectors(t *testing.T) {
	tests := []struct {
		name           string
		method, url    string
		form           url.Values
		params         map[string]string
		consumerSecret string
		tokenSecret    string
		wantBase       string // checked when set
		wantSig        string // checked when set
	}{
		{
			// RFC 5849, section 3.4.1.1: query with encoded characters,
			// repeated names, a form body, and realm left out.
			name: "RFC 5849 3.4.1.1 base string", method: "POST",
			url:  "http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b",
			form: url.Values{"c2": {""}, "a3": {"2 q"}},
			params: map[string]string{
				"realm": "Example", "oauth_consumer_key": "9djdj82h48djs9d2", "oauth_token": "kkk9d7dh3k39sjv7",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131201", "oauth_nonce": "7d8f3e4a",
			},
			wantBase: "POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7",
		},
		{
			// RFC 5849, section 1.2: the protected resource request.
			name: "RFC 5849 1.2 photos", method: "GET",
			url: "http://photos.example.net/photos?file=vacation.jpg&size=original",
			params: map[string]string{
				"realm": "Photos", "oauth_consumer_key": "dpf43f3p2l4k3l03", "oauth_token": "nnch734d00sl2jdk",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "137131202", "oauth_nonce": "chapoH",
			},
			consumerSecret: "kd94hf93k423kf44", tokenSecret: "pfkkdhi9sl3r4s00",
			wantSig: "MdpQcU8iPSUjWoN/UDMsK2sui9I=",
		},
		{
			// X's documentation, "Creating a signature".
			name: "X documentation example", method: "POST",
			url:  "https://api.twitter.com/1.1/statuses/update.json?include_entities=true",
			form: url.Values{"status": {"Hello Ladies + Gentlemen, a signed OAuth request!"}},
			params: map[string]string{
				"oauth_consumer_key": "xvz1evFS4wEEPTGEFPHBog", "oauth_nonce": "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg",
				"oauth_signature_method": "HMAC-SHA1", "oauth_timestamp": "1318622958",
				"oauth_token": "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", "oauth_version": "1.0",
			},
			consumerSecret: "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw", tokenSecret: "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
			wantBase: "POST&https%3A%2F%2Fapi.twitter.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521",
			wantSig:  "hCtSmYh+iHYCEqBWrE7C7hYmtUk=",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			base := SignatureBase(tt.method, u, tt.form, tt.params)
			if tt.wantBase != "" && base != tt.wantBase {
				t.Errorf("base string:\n got  %s\n want %s", base, tt.wantBase)
			}
			if sig := HMACSHA1(base, tt.consumerSecret, tt.tokenSecret); tt.wantSig != "" && sig != tt.wantSig {
				t.Errorf("signature = %s, want %s", sig, tt.wantSig)
			}
		})
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"abcABC123-._~":     "abcABC123-._~",
		"a b+c":             "a%20b%2Bc",
		"!*'();:@&=$,/?#[]": "%21%2A%27%28%29%3B%3A%40%26%3D%24%2C%2F%3F%23%5B%5D",
		"é☃":                "%C3%A9%E2%98%83",
	} {
		if got := PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

// xStandIn is a local stand-in for the X API: it verifies each request's
// OAuth 1.0a signature on its own (parsing the header and recomputing the
// signature with its own encoder), as X does, and records the posts.
type xStandIn struct {
	consumerKey, consumerSecret, token, tokenSecret string

	mu     sync.Mutex
	nonces map[string]bool
	posts  []string
}

// rfc3986 is the stand-in's own percent-encoding, built on net/url.
func rfc3986(s string) string {
	e := url.QueryEscape(s)
	e = strings.ReplaceAll(e, "+", "%20")
	e = strings.ReplaceAll(e, "*", "%2A")
	return strings.ReplaceAll(e, "%7E", "~")
}

func (x *xStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, detail string) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"title": http.StatusText(status), "detail": detail, "status": status})
	}
	if r.Method != http.MethodPost || r.URL.Path != "/2/tweets" {
		fail(http.StatusNotFound, "no such endpoint")
		return
	}
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
	if !ok {
		fail(http.StatusUnauthorized, "no OAuth header")
		return
	}
	params := map[string]string{}
	for _, part := range strings.Split(auth, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
			fail(http.StatusBadRequest, "malformed header")
			return
		}
		dk, err1 := url.PathUnescape(k)
		dv, err2 := url.PathUnescape(v[1 : len(v)-1])
		if err1 != nil || err2 != nil {
			fail(http.StatusBadRequest, "malformed header")
			return
		}
		params[dk] = dv
	}
	ts, err := strconv.ParseInt(params["oauth_timestamp"], 10, 64)
	switch {
	case params["oauth_consumer_key"] != x.consumerKey || params["oauth_token"] != x.token:
		fail(http.StatusUnauthorized, "unknown key")
		return
	case params["oauth_signature_method"] != "HMAC-SHA1" || params["oauth_version"] != "1.0":
		fail(http.StatusUnauthorized, "unsupported method")
		return
	case err != nil || time.Since(time.Unix(ts, 0)).Abs() > 5*time.Minute:
		fail(http.StatusUnauthorized, "stale timestamp")
		return
	}
	x.mu.Lock()
	replay := x.nonces[params["oauth_nonce"]] || params["oauth_nonce"] == ""
	x.nonces[params["oauth_nonce"]] = true
	x.mu.Unlock()
	if replay {
		fail(http.StatusUnauthorized, "nonce reused")
		return
	}
	// The base string, computed independently of package notice.
	var pairs []string
	for k, v := range params {
		if k != "oauth_signature" {
			pairs = append(pairs, rfc3986(k)+"="+rfc3986(v))
		}
	}
	for k, vs := range r.URL.Query() {
		for _, v := range vs {
			pairs = append(pairs, rfc3986(k)+"="+rfc3986(v))
		}
	}
	sort.Strings(pairs)
	base := "POST&" + rfc3986("http://"+r.Host+r.URL.Path) + "&" + rfc3986(strings.Join(pairs, "&"))
	mac := hmac.New(sha1.New, []byte(rfc3986(x.consumerSecret)+"&"+rfc3986(x.tokenSecret)))
	io.WriteString(mac, base)
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); !hmac.Equal([]byte(want), []byte(params["oauth_signature"])) {
		fail(http.StatusUnauthorized, "Could not authenticate you")
		return
	}
	var body struct {
		Text string `json:"text"`
	}
	if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&body) != nil || body.Text == "" {
		fail(http.StatusBadRequest, "body must be JSON with a text")
		return
	}
	x.mu.Lock()
	x.posts = append(x.posts, body.Text)
	id := strconv.Itoa(1000 + len(x.posts))
	x.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	json.NewEncoder(w).Encode(map[string]any{"data": map[string]string{"id": id, "text": body.Text}})
}

func TestXClientAgainstStandIn(t *testing.T) {
	x := &xStandIn{consumerKey: "ck-1", consumerSecret: "cs/secret+=", token: "123-tok", tokenSecret: "ts~secret&", nonces: map[string]bool{}}
	srv := httptest.NewServer(x)
	defer srv.Close()
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: true, Timeout: 5 * time.Second})
	keys := OAuth1{ConsumerKey: "ck-1", ConsumerSecret: "cs/secret+=", AccessToken: "123-tok", AccessTokenSecret: "ts~secret&"}
	tests := []struct {
		name    string
		auth    OAuth1
		text    string
		wantErr int // expected HTTP status of the error; 0 for success
	}{
		{name: "posts", auth: keys, text: "Nous avons quitté X. Suivez-nous : @news@city.example 👋\nhttps://city.example/x/news #eXit"},
		{name: "second post, new nonce", auth: keys, text: "again & again: 100% sure"},
		{name: "wrong consumer secret", auth: func() OAuth1 { k := keys; k.ConsumerSecret = "nope"; return k }(), text: "x", wantErr: 401},
		{name: "wrong token secret", auth: func() OAuth1 { k := keys; k.AccessTokenSecret = "nope"; return k }(), text: "x", wantErr: 401},
		{name: "replayed nonce", auth: func() OAuth1 { k := keys; k.Nonce = func() string { return "fixed" }; return k }(), text: "x"},
		{name: "replayed nonce again", auth: func() OAuth1 { k := keys; k.Nonce = func() string { return "fixed" }; return k }(), text: "x", wantErr: 401},
		{name: "clock far off", auth: func() OAuth1 { k := keys; k.Now = func() time.Time { return time.Now().Add(-time.Hour) }; return k }(), text: "x", wantErr: 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := XClient{BaseURL: srv.URL + "/", Auth: tt.auth, HTTP: client}
			id, err := c.Post(context.Background(), tt.text)
			if tt.wantErr != 0 {
				var xe *XError
				if !errors.As(err, &xe) || xe.Status != tt.wantErr {
					t.Fatalf("Post = %q, %v; want HTTP %d", id, err, tt.wantErr)
				}
				return
			}
			if err != nil || id == "" {
				t.Fatalf("Post = %q, %v", id, err)
			}
			if got := x.posts[len(x.posts)-1]; got != tt.text {
				t.Errorf("posted %q, want %q", got, tt.text)
			}
		})
	}
}
