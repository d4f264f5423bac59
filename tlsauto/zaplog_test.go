package tlsauto

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"go.uber.org/zap"
)

func TestZapLoggerWritesZerolog(t *testing.T) {
	var buf bytes.Buffer
	zl := NewZapLogger(zerolog.New(&buf).Level(zerolog.InfoLevel).With().Str("component", "tls").Logger())

	zl.Named("obtain").With(zap.String("identifier", "city.example")).
		Error("could not get certificate from issuer", zap.Error(errors.New("rate limited")), zap.Int("attempt", 3),
			zap.Duration("retrying_in", time.Minute))
	zl.Debug("filtered out") // below the zerolog level
	zl.Warn("plain warning")

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2:\n%s", len(lines), buf.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"level": "error", "message": "could not get certificate from issuer", "component": "tls",
		"logger": "obtain", "identifier": "city.example", "error": "rate limited", "attempt": float64(3),
	}
	for k, v := range want {
		if first[k] != v {
			t.Errorf("field %s = %#v, want %#v (line %s)", k, first[k], v, lines[0])
		}
	}
	if _, ok := first["retrying_in"]; !ok {
		t.Errorf("duration field missing: %s", lines[0])
	}
	if !strings.Contains(lines[1], `"level":"warn"`) || !strings.Contains(lines[1], "plain warning") {
		t.Errorf("second line = %s", lines[1])
	}
}

func TestZapLevels(t *testing.T) {
	tests := []struct {
		name  string
		level zerolog.Level
		debug bool
		err   bool
	}{
		{name: "debug logger", level: zerolog.DebugLevel, debug: true, err: true},
		{name: "error logger", level: zerolog.ErrorLevel, debug: false, err: true},
		{name: "disabled", level: zerolog.Disabled, debug: false, err: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			core := NewZapLogger(zerolog.Nop().Level(tt.level)).Core()
			if got := core.Enabled(zap.DebugLevel); got != tt.debug {
				t.Errorf("Enabled(debug) = %v, want %v", got, tt.debug)
			}
			if got := core.Enabled(zap.ErrorLevel); got != tt.err {
				t.Errorf("Enabled(error) = %v, want %v", got, tt.err)
			}
		})
	}
}
