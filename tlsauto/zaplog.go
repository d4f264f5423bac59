package tlsauto

import (
	"github.com/rs/zerolog"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// NewZapLogger returns a *zap.Logger (what certmagic logs to) that writes
// every entry to log, so that certmagic's lines come out in the same
// format, at the same level filter, as the rest of the program's. zap's
// logger name (e.g. "obtain", "acme_client") becomes the "logger" field.
func NewZapLogger(log zerolog.Logger) *zap.Logger {
	return zap.New(&zapCore{log: log})
}

// zapCore is a zapcore.Core writing to a zerolog.Logger.
type zapCore struct {
	log    zerolog.Logger
	fields []zapcore.Field // from With, encoded at each write
}

var _ zapcore.Core = (*zapCore)(nil)

// zerologLevel maps a zap level to zerolog's. DPanic, Panic and Fatal are
// logged as errors: the panic or exit, if any, is zap's Logger's doing.
func zerologLevel(l zapcore.Level) zerolog.Level {
	switch {
	case l <= zapcore.DebugLevel:
		return zerolog.DebugLevel
	case l == zapcore.InfoLevel:
		return zerolog.InfoLevel
	case l == zapcore.WarnLevel:
		return zerolog.WarnLevel
	default:
		return zerolog.ErrorLevel
	}
}

func (c *zapCore) Enabled(l zapcore.Level) bool {
	lvl := zerologLevel(l)
	return lvl >= c.log.GetLevel() && lvl >= zerolog.GlobalLevel()
}

func (c *zapCore) With(fields []zapcore.Field) zapcore.Core {
	all := make([]zapcore.Field, 0, len(c.fields)+len(fields))
	all = append(all, c.fields...)
	all = append(all, fields...)
	return &zapCore{log: c.log, fields: all}
}

func (c *zapCore) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(e.Level) {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *zapCore) Write(e zapcore.Entry, fields []zapcore.Field) error {
	enc := zapcore.NewMapObjectEncoder()
	for _, f := range c.fields {
		f.AddTo(enc)
	}
	for _, f := range fields {
		f.AddTo(enc)
	}
	ev := c.log.WithLevel(zerologLevel(e.Level))
	if e.LoggerName != "" {
		ev = ev.Str("logger", e.LoggerName)
	}
	ev.Fields(enc.Fields).Msg(e.Message)
	return nil
}

func (c *zapCore) Sync() error { return nil }
