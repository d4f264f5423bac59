package config

import (
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

func TestParseDuration(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "90s", want: 90 * time.Second},
		{in: "1h30m", want: 90 * time.Minute},
		{in: "90", want: 90 * time.Second},
		{in: " 3600 ", want: time.Hour},
		{in: "0", want: 0},
		{in: "abc", wantErr: true},
		{in: "", wantErr: true},
		{in: "1.5", wantErr: true},
		{in: "99999999999999", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("ParseDuration(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got.Duration() != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestDurationYAML(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    time.Duration
		wantErr bool
	}{
		{name: "string", yaml: `d: "1h"`, want: time.Hour},
		{name: "plain string", yaml: `d: 90s`, want: 90 * time.Second},
		{name: "integer seconds", yaml: `d: 120`, want: 2 * time.Minute},
		{name: "list", yaml: `d: [1]`, wantErr: true},
		{name: "garbage", yaml: `d: soon`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v struct{ D Duration }
			err := yaml.Unmarshal([]byte(tt.yaml), &v)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Unmarshal error = %v, wantErr %v", err, tt.wantErr)
			}
			if v.D.Duration() != tt.want {
				t.Errorf("got %v, want %v", v.D, tt.want)
			}
		})
	}
}

func TestDurationString(t *testing.T) {
	tests := []struct {
		in   time.Duration
		want string
	}{
		{time.Hour, "1h"}, {90 * time.Minute, "1h30m"}, {time.Minute, "1m"},
		{90 * time.Second, "1m30s"}, {10 * time.Second, "10s"}, {0, "0s"},
		{time.Hour + time.Second, "1h0m1s"}, {500 * time.Millisecond, "500ms"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			d := Duration(tt.in)
			if got := d.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParseDuration(d.String())
			if err != nil || back != d {
				t.Errorf("ParseDuration(String()) = %v, %v; want %v", back, err, d)
			}
			out, err := yaml.Marshal(d)
			if err != nil || string(out) != tt.want+"\n" {
				t.Errorf("yaml.Marshal = %q, %v", out, err)
			}
		})
	}
}
