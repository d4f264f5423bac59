package storage

import (
	"context"
	"errors"
	"fmt"

	"github.com/rs/zerolog"
)

// ErrBusy is returned when the database stayed locked for too long: on
// SQLite another process held the write lock beyond the busy timeout (10s);
// on PostgreSQL a serialization failure, deadlock or lock timeout. The
// operation can be retried.
var ErrBusy = errors.New("storage: database busy")

// Open opens the backend selected by cfg.Driver and applies the pending
// migrations.
//
// For "sqlite", cfg.DSN is a file path (its directory is created, mode
// 0700, and a new file gets mode 0600) or ":memory:" for a throw-away
// database. For "postgres", it is a postgres:// URL; extra query
// parameters such as search_path are applied to every connection.
func Open(ctx context.Context, cfg Config, logger zerolog.Logger) (Store, error) {
	var (
		s   *store
		err error
	)
	switch cfg.Driver {
	case "sqlite":
		s, err = openSQLite(cfg.DSN)
	case "postgres":
		s, err = openPostgres(cfg.DSN)
	default:
		return nil, fmt.Errorf("storage: open: unknown driver %q (want \"sqlite\" or \"postgres\")", cfg.Driver)
	}
	if err != nil {
		return nil, err
	}
	if err := s.migrate(ctx, logger); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}
