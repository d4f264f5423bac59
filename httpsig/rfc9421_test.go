package httpsig

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

const sigValue = ":dGVzdA==:" // any byte sequence

// TestParseRFC9421 checks header parsing and the acceptance rules, which
// need no key.
func TestParseRFC9421(t *testing.T) {
	const all = `("@method" "@target-uri" "@authority" "content-digest");created=1618884473;keyid="https://a.example/k"`
	tests := []struct {
		name    string
		method  string
		target  string
		input   []string // Signature-Input lines
		sig     []string // Signature lines
		want    error
		wantLbl string
		status  int
	}{
		{name: "no headers", want: ErrMissingSignature, status: 401},
		{name: "draft-cavage Signature only", sig: []string{`keyId="k",headers="date",signature="AAAA"`}, want: ErrMissingSignature},
		{name: "Signature-Input only", input: []string{"sig1=" + all}, want: ErrMissingSignature},
		{name: "empty Signature-Input", input: []string{""}, sig: []string{"sig1=" + sigValue}, want: ErrMissingSignature},
		{name: "valid", input: []string{"sig1=" + all}, sig: []string{"sig1=" + sigValue}, wantLbl: "sig1"},
		{name: "malformed Signature-Input", input: []string{"sig1=("}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature, status: 400},
		{name: "malformed Signature", input: []string{"sig1=" + all}, sig: []string{"sig1=:abc"}, want: ErrMalformedSignature, status: 400},
		{name: "upper-case label", input: []string{"Sig1=" + all}, sig: []string{"Sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "input not an inner list", input: []string{`sig1="@method"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "component a token", input: []string{`sig1=(method "@target-uri");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "component with parameters", input: []string{`sig1=("@method";req "@target-uri" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "query-param component", input: []string{`sig1=("@method" "@target-uri" "content-digest" "@query-param";name="a");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "status component", input: []string{`sig1=("@method" "@target-uri" "content-digest" "@status");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "signature-params component", input: []string{`sig1=("@method" "@target-uri" "content-digest" "@signature-params");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "upper-case field", input: []string{`sig1=("@method" "@target-uri" "Content-Digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "field with a space", input: []string{`sig1=("@method" "@target-uri" "content-digest" "x y");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "duplicate component", input: []string{`sig1=("@method" "@target-uri" "@method" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "missing keyid", input: []string{`sig1=("@method" "@target-uri" "content-digest");created=1`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "empty keyid", input: []string{`sig1=("@method" "@target-uri" "content-digest");created=1;keyid=""`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "missing created", input: []string{`sig1=("@method" "@target-uri" "content-digest");keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMissingDate, status: 401},
		{name: "unknown alg", input: []string{`sig1=("@method" "@target-uri" "content-digest");created=1;keyid="k";alg="ecdsa-p256-sha256"`}, sig: []string{"sig1=" + sigValue}, want: ErrUnsupportedAlgorithm, status: 401},
		{name: "alg a token", input: []string{`sig1=("@method" "@target-uri" "content-digest");created=1;keyid="k";alg=ed25519`}, sig: []string{"sig1=" + sigValue}, want: ErrMalformedSignature},
		{name: "no Signature for the label", input: []string{"sig1=" + all}, sig: []string{"sig2=" + sigValue}, want: ErrMalformedSignature},
		{name: "Signature a string", input: []string{"sig1=" + all}, sig: []string{`sig1="dGVzdA=="`}, want: ErrMalformedSignature},
		{name: "Signature an inner list", input: []string{"sig1=" + all}, sig: []string{`sig1=(:dGVzdA==:)`}, want: ErrMalformedSignature},
		{name: "empty Signature", input: []string{"sig1=" + all}, sig: []string{"sig1=::"}, want: ErrMalformedSignature},
		{name: "no @method", input: []string{`sig1=("@target-uri" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMissingComponent, status: 401},
		{name: "no target", input: []string{`sig1=("@method" "@authority" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMissingComponent},
		{name: "no content-digest with a body", input: []string{`sig1=("@method" "@target-uri");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMissingComponent},
		{name: "no content-digest on a GET", method: http.MethodGet, input: []string{`sig1=("@method" "@target-uri");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, wantLbl: "sig1"},
		{name: "authority and path", input: []string{`sig1=("@method" "@authority" "@path" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, wantLbl: "sig1"},
		{name: "authority and path, query unsigned", target: "/inbox?a=1", input: []string{`sig1=("@method" "@authority" "@path" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMissingComponent},
		{name: "authority, path and query", target: "/inbox?a=1", input: []string{`sig1=("@method" "@authority" "@path" "@query" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, wantLbl: "sig1"},
		{name: "authority and request-target", target: "/inbox?a=1", input: []string{`sig1=("@method" "@authority" "@request-target" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, wantLbl: "sig1"},
		{name: "path without authority", input: []string{`sig1=("@method" "@path" "content-digest");created=1;keyid="k"`}, sig: []string{"sig1=" + sigValue}, want: ErrMissingComponent},
		{
			name:    "first acceptable label chosen",
			input:   []string{`weak=("@method" "@target-uri");created=1;keyid="k", strong=` + all},
			sig:     []string{"weak=" + sigValue + ", strong=" + sigValue},
			wantLbl: "strong",
		},
		{
			name:    "labels over several header lines",
			input:   []string{`weak=("@method" "@target-uri");created=1;keyid="k"`, `strong=` + all},
			sig:     []string{"weak=" + sigValue, "strong=" + sigValue},
			wantLbl: "strong",
		},
		{
			name:    "label without a signature skipped",
			input:   []string{`a=` + all + `, b=` + all},
			sig:     []string{"b=" + sigValue},
			wantLbl: "b",
		},
		{
			name:  "no acceptable label: the first one's error",
			input: []string{`a=("@target-uri" "content-digest");created=1;keyid="k", b=("@method" "@target-uri");created=1;keyid="k"`},
			sig:   []string{"a=" + sigValue + ", b=" + sigValue},
			want:  ErrMissingComponent,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, target := tt.method, tt.target
			if method == "" {
				method = http.MethodPost
			}
			if target == "" {
				target = "/inbox"
			}
			wire := method + " " + target + " HTTP/1.1\r\nHost: bridge.example\r\n"
			for _, v := range tt.input {
				wire += "Signature-Input: " + v + "\r\n"
			}
			for _, v := range tt.sig {
				wire += "Signature: " + v + "\r\n"
			}
			body := ""
			if method == http.MethodPost {
				body = "{}"
				wire += "Content-Length: 2\r\n"
			}
			r, _ := readWire(t, []byte(wire+"\r\n"+body))
			if got := IsRFC9421(r); got != (len(tt.input) > 0) {
				t.Errorf("IsRFC9421 = %v", got)
			}
			p, err := ParseRFC9421(r)
			wantKind(t, err, tt.want)
			if err != nil {
				var se *SignatureError
				errors.As(err, &se)
				if tt.status != 0 && se.Status() != tt.status {
					t.Errorf("status = %d, want %d", se.Status(), tt.status)
				}
				if strings.ContainsAny(se.Reason, "\r\n") {
					t.Errorf("reason %q has a line break", se.Reason)
				}
				return
			}
			if p.Label != tt.wantLbl {
				t.Errorf("label = %q, want %q", p.Label, tt.wantLbl)
			}
			if string(p.Signature) != "test" || p.KeyID == "" || p.Created.IsZero() {
				t.Errorf("params = %+v", p)
			}
		})
	}
}
