package storage

import (
	"strconv"
	"strings"
)

// dialect is everything that differs between the two SQL backends. The
// queries themselves are written once, with ? placeholders.
type dialect struct {
	name string // "sqlite" or "postgres"
	// rebind turns a query written with ? placeholders into the backend's
	// form. It runs once per query string (see pool.stmt).
	rebind func(query string) string
	// mapErr turns a driver error into a storage error (ErrAlreadyExists,
	// ErrBusy) or a plain error, so that no driver type escapes.
	mapErr func(err error) error
	// claimFrom and claimLock complete the SELECT that picks the jobs to
	// claim: "SELECT id FROM " + claimFrom + " WHERE ... LIMIT ?" + claimLock.
	claimFrom, claimLock string
	// migrationLock, when set, runs first in every migration transaction to
	// serialise concurrent migrators.
	migrationLock string
	// syncID, when set, runs after a row was inserted with an explicit id:
	// fmt.Sprintf(syncID, table) with that id as both arguments moves the
	// table's id sequence past it, so that later ids do not collide.
	// (SQLite's AUTOINCREMENT does so itself.)
	syncID string
}

// rebindNumbered rewrites ? placeholders to $1, $2, ... (PostgreSQL),
// leaving string literals alone.
func rebindNumbered(query string) string {
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	inString := false
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case c == '\'':
			inString = !inString
		case c == '?' && !inString:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// placeholders returns "?, ?, ?" with n placeholders.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}
