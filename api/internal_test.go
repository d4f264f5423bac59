package api

import (
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/passerelle/passerelle/storage"
)

func TestScopes(t *testing.T) {
	tests := []struct {
		name    string
		granted string
		need    string
		want    bool
	}{
		{"top scope grants sub-scope", "read", "read:statuses", true},
		{"sub-scope grants itself", "read:statuses", "read:statuses", true},
		{"sub-scope grants no sibling", "read:statuses", "read:accounts", false},
		{"read grants no write", "read", "write:statuses", false},
		{"alternatives", "profile", "read:accounts|profile", true},
		{"follow grants nothing", "follow", "read:follows", false},
		{"push", "push", "push", true},
		{"nothing needed", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := allows(strings.Fields(tt.granted), tt.need); got != tt.want {
				t.Errorf("allows(%q, %q) = %v", tt.granted, tt.need, got)
			}
		})
	}
	parse := []struct {
		in   string
		want string
		err  bool
	}{
		{"", "read", false},
		{"read write follow push", "read write follow push", false},
		{"read+write", "read write", false},
		{"read read", "read", false},
		{"write:media read:accounts", "write:media read:accounts", false},
		{"admin:read", "", true},
		{"read:everything", "", true},
	}
	for _, tt := range parse {
		got, err := ParseScopes(tt.in)
		if (err != nil) != tt.err || (err == nil && strings.Join(got, " ") != tt.want) {
			t.Errorf("ParseScopes(%q) = %v, %v", tt.in, got, err)
		}
	}
	if !subset([]string{"read:accounts", "write"}, []string{"read", "write"}) || subset([]string{"follow"}, []string{"read"}) {
		t.Error("subset")
	}
}

func TestParams(t *testing.T) {
	tests := []struct {
		name, contentType, body string
		want                    []map[string]string
		ids                     []string
	}{
		{"rack arrays of objects", "application/x-www-form-urlencoded",
			"media_ids[]=1&media_ids[]=2&media_attributes[][id]=1&media_attributes[][description]=a%20b&media_attributes[][id]=2&media_attributes[][focus]=0,0",
			[]map[string]string{{"id": "1", "description": "a b"}, {"id": "2", "focus": "0,0"}}, []string{"1", "2"}},
		{"indexed", "application/x-www-form-urlencoded",
			"media_ids[0]=3&media_attributes[0][id]=3&media_attributes[1][id]=4&media_attributes[0][description]=x",
			[]map[string]string{{"id": "3", "description": "x"}, {"id": "4"}}, []string{"3"}},
		{"json", "application/json",
			`{"media_ids":[5,"6"],"media_attributes":[{"id":"5","description":"d","focus":null}]}`,
			[]map[string]string{{"id": "5", "description": "d"}}, []string{"5", "6"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("PUT", "/api/v1/statuses/1", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.contentType)
			p, err := parseParams(httptest.NewRecorder(), r)
			if err != nil {
				t.Fatal(err)
			}
			if got := p.objects("media_attributes"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("objects = %v, want %v", got, tt.want)
			}
			if got, _ := p.list("media_ids"); !reflect.DeepEqual(got, tt.ids) {
				t.Errorf("list = %v, want %v", got, tt.ids)
			}
		})
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":           "192.0.2.1",
		"::ffff:192.0.2.1":    "192.0.2.1",
		"2001:db8:1:2::1":     "2001:db8:1:2::/64",
		"2001:db8:1:2:abcd::": "2001:db8:1:2::/64",
		"not an address":      "not an address",
	} {
		if got := addrKey(in); got != want {
			t.Errorf("addrKey(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLoginCodeFormat(t *testing.T) {
	for _, in := range []string{"abcd-efgh", " ABCD EFGH ", "abcdefgh"} {
		if got := normalizeLoginCode(in); got != "ABCDEFGH" {
			t.Errorf("normalizeLoginCode(%q) = %q", in, got)
		}
	}
	for _, tt := range []struct{ uri, want string }{
		{"https://app.example/cb", " https://app.example"},
		{"myapp://oauth", " myapp:"},
		{OOBRedirect, ""},
		{"https://a b/", ""},
	} {
		if got := formAction(tt.uri); got != tt.want {
			t.Errorf("formAction(%q) = %q, want %q", tt.uri, got, tt.want)
		}
	}
}

func TestRaidSpans(t *testing.T) {
	t0 := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	w := func(i int) time.Time { return t0.Add(time.Duration(i) * raidWindow) }
	b := func(i int, n int64) storage.NotificationBucket {
		return storage.NotificationBucket{Start: w(i), Notifications: n}
	}
	tests := []struct {
		name    string
		buckets []storage.NotificationBucket
		want    []raidSpan // newest first
	}{
		{"quiet", []storage.NotificationBucket{b(0, 3), b(1, 5), b(3, 19)}, nil},
		{"one window over the threshold", []storage.NotificationBucket{b(0, 3), b(2, 25)}, []raidSpan{{w(2), w(3)}}},
		{"a burst across a window's edge", []storage.NotificationBucket{b(0, 15), b(1, 15)}, []raidSpan{{w(0), w(2)}}},
		{"the window a raid goes on in", []storage.NotificationBucket{b(0, 24), b(1, 6)}, []raidSpan{{w(0), w(2)}}},
		{"ordinary traffic after a raid joins one window at most", []storage.NotificationBucket{b(0, 200), b(1, 2), b(2, 2), b(3, 2)}, []raidSpan{{w(0), w(2)}}},
		{"not adjacent windows do not add up", []storage.NotificationBucket{b(0, 15), b(2, 15)}, nil},
		{"two raids", []storage.NotificationBucket{b(0, 30), b(1, 30), b(5, 40)}, []raidSpan{{w(5), w(6)}, {w(0), w(2)}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := raidSpans(tc.buckets, raidThreshold); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("raidSpans = %v, want %v", got, tc.want)
			}
		})
	}
}
