package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"net/http"
	"testing"
)

func TestCheckContentDigest(t *testing.T) {
	body := []byte(`{"hello": "world"}`)
	s256 := sha256.Sum256(body)
	s512 := sha512.Sum512(body)
	good256 := "sha-256=:" + base64.StdEncoding.EncodeToString(s256[:]) + ":"
	good512 := "sha-512=:" + base64.StdEncoding.EncodeToString(s512[:]) + ":"
	other := sha256.Sum256([]byte("other"))
	bad256 := "sha-256=:" + base64.StdEncoding.EncodeToString(other[:]) + ":"
	otherLong := sha512.Sum512([]byte("other"))
	bad512 := "sha-512=:" + base64.StdEncoding.EncodeToString(otherLong[:]) + ":"
	empty := sha256.Sum256(nil)

	tests := []struct {
		name   string
		values []string
		body   []byte
		want   error
	}{
		{"sha-256", []string{good256}, body, nil},
		{"sha-512, the RFC 9421 test request", []string{"sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"}, body, nil},
		{"both", []string{good256 + ", " + good512}, body, nil},
		{"both on two lines", []string{good512, good256}, body, nil},
		{"unknown algorithm beside a good one", []string{"md5=:AAAA:, " + good256}, body, nil},
		{"empty body", []string{"sha-256=:" + base64.StdEncoding.EncodeToString(empty[:]) + ":"}, nil, nil},
		{"absent", nil, body, ErrMissingDigest},
		{"unknown algorithms only", []string{"md5=:AAAA:, unixsum=:AAAA:"}, body, ErrMissingDigest},
		{"sha-256 mismatch", []string{bad256}, body, ErrDigestMismatch},
		{"good sha-256, bad sha-512", []string{good256 + ", " + bad512}, body, ErrDigestMismatch},
		{"bad sha-256, good sha-512", []string{bad256 + ", " + good512}, body, ErrDigestMismatch},
		{"truncated", []string{"sha-256=:" + base64.StdEncoding.EncodeToString(s256[:16]) + ":"}, body, ErrDigestMismatch},
		{"draft-cavage Digest syntax", []string{"SHA-256=" + base64.StdEncoding.EncodeToString(s256[:])}, body, ErrDigestMismatch},
		{"not a byte sequence", []string{`sha-256="` + base64.StdEncoding.EncodeToString(s256[:]) + `"`}, body, ErrDigestMismatch},
		{"inner list", []string{"sha-256=(:AAAA:)"}, body, ErrDigestMismatch},
		{"bad base64", []string{"sha-256=:!!!!:"}, body, ErrDigestMismatch},
		{"trailing comma", []string{good256 + ","}, body, ErrDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tt.values {
				h.Add("Content-Digest", v)
			}
			wantKind(t, CheckContentDigest(h, tt.body), tt.want)
		})
	}
}

func TestContentDigestRoundTrip(t *testing.T) {
	for _, body := range [][]byte{nil, {}, []byte("x"), make([]byte, 1<<16)} {
		h := http.Header{"Content-Digest": {contentDigest(body)}}
		if err := CheckContentDigest(h, body); err != nil {
			t.Fatalf("%d bytes: %v", len(body), err)
		}
	}
}
