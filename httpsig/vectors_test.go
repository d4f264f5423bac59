package httpsig

import (
	"testing"
	"time"
)

// rfcNow is the created time of every example of RFC 9421.
var rfcNow = time.Unix(1618884473, 0)

// TestRFC9421Vectors verifies the signatures published in RFC 9421
// (Appendix B.2 and B.4) with the RFC's own test keys: see
// testdata/rfc9421/README.md for where each comes from. The examples do
// not all meet our acceptance rules (ParseRFC9421), so the signature is
// read without them, then the rules are checked apart.
func TestRFC9421Vectors(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		key    string
		alg    string // known from the key, as the RFC's examples send no alg
		policy error  // what ParseRFC9421 says of the example
	}{
		{"B.2.1 minimal rsa-pss-sha512", "b21-minimal-rsa-pss.http", "test-key-rsa-pss.pub.pem", AlgRSAPSSSHA512, ErrMissingComponent},
		{"B.2.3 full coverage rsa-pss-sha512", "b23-full-coverage-rsa-pss.http", "test-key-rsa-pss.pub.pem", AlgRSAPSSSHA512, nil},
		{"B.2.6 ed25519", "b26-ed25519.http", "test-key-ed25519.pub.pem", "", ErrMissingComponent},
		{"B.4 transformations ed25519", "b4-transform-ed25519.http", "test-key-ed25519.pub.pem", "", ErrMissingComponent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := readWireFile(t, "rfc9421/"+tt.file)
			pub := publicKeyFile(t, "rfc9421/"+tt.key)
			p, err := parseRFC9421(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			if p.Alg != "" {
				t.Fatalf("alg = %q, the example has none", p.Alg)
			}
			p.Alg = tt.alg
			v := Verifier{PublicScheme: "https"}
			if err := v.VerifyRFC9421(r, body, p, pub, rfcNow); err != nil {
				t.Fatalf("published signature does not verify: %v", err)
			}

			tampered := p
			tampered.Signature = append([]byte(nil), p.Signature...)
			tampered.Signature[len(tampered.Signature)/2] ^= 0x01
			wantKind(t, v.VerifyRFC9421(r, body, tampered, pub, rfcNow), ErrSignatureInvalid)

			_, err = ParseRFC9421(r)
			wantKind(t, err, tt.policy)
		})
	}
}

// TestRFC9421Transformations replays Appendix B.4: changes HTTP allows
// keep the signature valid, others break it.
func TestRFC9421Transformations(t *testing.T) {
	pub := publicKeyFile(t, "rfc9421/test-key-ed25519.pub.pem")
	tests := []struct {
		name   string
		oldnew []string
		want   error
	}{
		{"unchanged", nil, nil},
		{"query and Accept-Language added", []string{
			"/demo?name1=Value1&Name2=value2", "/demo?name1=Value1&Name2=value2&param=added",
			"Accept: */*\r\n", "Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\n",
		}, nil},
		{"Date removed, Referer added, Accept collapsed", []string{
			"Date: Fri, 15 Jul 2022 14:24:55 GMT\r\n", "Referer: https://developer.example.org/demo\r\n",
			"Accept: application/json\r\nAccept: */*\r\n", "Accept: application/json, */*\r\n",
		}, nil},
		{"whitespace around a field value", []string{
			"Accept: application/json\r\n", "Accept:    application/json   \r\n",
		}, nil},
		{"authority changed", []string{"Host: example.org", "Host: example.com"}, ErrSignatureInvalid},
		{"method changed", []string{"GET /demo", "HEAD /demo"}, ErrSignatureInvalid},
		// The RFC's own example: POST to example.com. A POST carries a body,
		// so the missing Content-Digest is what refuses it here.
		{"method POST and authority changed", []string{"GET /demo", "POST /demo", "Host: example.org", "Host: example.com"}, ErrMissingDigest},
		{"Accept lines swapped", []string{
			"Accept: application/json\r\nAccept: */*\r\n", "Accept: */*\r\nAccept: application/json\r\n",
		}, ErrSignatureInvalid},
		{"path changed", []string{"GET /demo", "GET /demo2"}, ErrSignatureInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, body := readWireFile(t, "rfc9421/b4-transform-ed25519.http")
			if tt.oldnew != nil {
				r, body = editWire(t, r, body, tt.oldnew...)
			}
			p, err := parseRFC9421(r, nil)
			if err != nil {
				t.Fatal(err)
			}
			wantKind(t, Verifier{}.VerifyRFC9421(r, body, p, pub, rfcNow), tt.want)
		})
	}
}

// TestRFC9421SignatureBase checks the signature base rebuilt for B.2.3
// against the one printed in the RFC.
func TestRFC9421SignatureBase(t *testing.T) {
	r, _ := readWireFile(t, "rfc9421/b23-full-coverage-rsa-pss.http")
	p, err := parseRFC9421(r, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := newMessage(r, "https").signatureBase(p.Components, p.sigParams)
	if err != nil {
		t.Fatal(err)
	}
	want := `"date": Tue, 20 Apr 2021 02:07:55 GMT
"@method": POST
"@path": /foo
"@query": ?param=Value&Pet=dog
"@authority": example.com
"content-type": application/json
"content-digest": sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:
"content-length": 18
"@signature-params": ("date" "@method" "@path" "@query" "@authority" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-rsa-pss"`
	if got != want {
		t.Fatalf("signature base:\n%s\nwant:\n%s", got, want)
	}
}

// TestDerivedComponents checks each derived component on a server
// request, against RFC 9421 §2.2.
func TestDerivedComponents(t *testing.T) {
	wire := "POST /path?param=value&foo=bar&baz=bat%2Dman HTTP/1.1\r\nHost: WWW.Example.com:443\r\nContent-Length: 0\r\n\r\n"
	r, _ := readWire(t, []byte(wire))
	m := newMessage(r, "https")
	want := map[string]string{
		"@method":         "POST",
		"@target-uri":     "https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman",
		"@authority":      "www.example.com",
		"@scheme":         "https",
		"@request-target": "/path?param=value&foo=bar&baz=bat%2Dman",
		"@path":           "/path",
		"@query":          "?param=value&foo=bar&baz=bat%2Dman",
		"host":            "WWW.Example.com:443",
		"content-length":  "0",
	}
	for c, w := range want {
		got, err := m.componentValue(c)
		if err != nil || got != w {
			t.Errorf("%s = %q, %v; want %q", c, got, err, w)
		}
	}

	noQuery, _ := readWire(t, []byte("GET / HTTP/1.1\r\nHost: example.org:8080\r\n\r\n"))
	m = newMessage(noQuery, "http")
	for c, w := range map[string]string{"@query": "?", "@path": "/", "@authority": "example.org:8080", "@target-uri": "http://example.org:8080/"} {
		if got, err := m.componentValue(c); err != nil || got != w {
			t.Errorf("%s = %q, %v; want %q", c, got, err, w)
		}
	}
	if _, err := m.componentValue("date"); err == nil {
		t.Error("absent field: no error")
	}

	// RFC 9421 §2.1: values trimmed, several lines joined with ", ". (The
	// net/http server trims already; a header set by code may not be.)
	noQuery.Header["Cache-Control"] = []string{"max-age=60", "   must-revalidate\t"}
	noQuery.Header["X-Empty-Header"] = []string{" "}
	for c, w := range map[string]string{"cache-control": "max-age=60, must-revalidate", "x-empty-header": ""} {
		if got, err := m.componentValue(c); err != nil || got != w {
			t.Errorf("%s = %q, %v; want %q", c, got, err, w)
		}
	}
	noQuery.Header["X-Folded"] = []string{"a\r\n b"}
	if _, err := m.componentValue("x-folded"); err == nil {
		t.Error("value with a line break: no error")
	}
}
