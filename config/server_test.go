package config

import (
	"net/netip"
	"testing"
)

func TestParseTrustedProxy(t *testing.T) {
	tests := []struct {
		name, in string
		want     netip.Prefix
		wantErr  bool
	}{
		{name: "IPv4 address", in: "127.0.0.1", want: netip.MustParsePrefix("127.0.0.1/32")},
		{name: "IPv6 address", in: "::1", want: netip.MustParsePrefix("::1/128")},
		{name: "IPv4-mapped address", in: "::ffff:10.0.0.1", want: netip.MustParsePrefix("10.0.0.1/32")},
		{name: "CIDR, masked", in: "10.1.2.3/8", want: netip.MustParsePrefix("10.0.0.0/8")},
		{name: "IPv6 CIDR", in: "fd00::/8", want: netip.MustParsePrefix("fd00::/8")},
		{name: "host name", in: "proxy.local", wantErr: true},
		{name: "bad prefix length", in: "10.0.0.0/33", wantErr: true},
		{name: "empty", in: "", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTrustedProxy(tt.in)
			if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
				t.Errorf("ParseTrustedProxy(%q) = %v, %v; want %v (error %v)", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestACMEDirectoryDefault(t *testing.T) {
	tests := []struct {
		name, mode, dir, want string
	}{
		{name: "auto without directory: Let's Encrypt", mode: TLSAuto, want: DefaultACMEDirectory},
		{name: "auto with a directory keeps it", mode: TLSAuto, dir: "https://127.0.0.1:14000/dir", want: "https://127.0.0.1:14000/dir"},
		{name: "off: no directory", mode: TLSOff, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Server.TLS.Mode, c.Server.TLS.ACMEDirectory = tt.mode, tt.dir
			c.ApplyDefaults()
			if c.Server.TLS.ACMEDirectory != tt.want {
				t.Errorf("acme_directory = %q, want %q", c.Server.TLS.ACMEDirectory, tt.want)
			}
		})
	}
}

func TestSameAddr(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{":443", "0.0.0.0:443", true},
		{":443", "127.0.0.1:443", true},
		{"127.0.0.1:443", "127.0.0.2:443", false},
		{":80", ":443", false},
		{"", ":443", false},
	}
	for _, tt := range tests {
		if got := sameAddr(tt.a, tt.b); got != tt.want {
			t.Errorf("sameAddr(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
