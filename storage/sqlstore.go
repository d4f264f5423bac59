package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"
)

// pool is a database/sql pool with a cache of prepared statements, keyed by
// the query as written (with ? placeholders).
type pool struct {
	db *sql.DB
	d  *dialect

	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

func newPool(db *sql.DB, d *dialect) *pool {
	return &pool{db: db, d: d, stmts: make(map[string]*sql.Stmt)}
}

// cached returns the prepared statement for query, or nil.
func (p *pool) cached(query string) *sql.Stmt {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stmts[query]
}

// stmt returns the prepared statement for query, preparing it on first use.
// The lock is not held while preparing: on the single SQLite writer,
// preparing waits for the connection, which a transaction may hold.
func (p *pool) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st := p.cached(query); st != nil {
		return st, nil
	}
	st, err := p.db.PrepareContext(ctx, p.d.rebind(query))
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev, ok := p.stmts[query]; ok {
		_ = st.Close() // another goroutine prepared it first
		return prev, nil
	}
	p.stmts[query] = st
	return st, nil
}

func (p *pool) close() error {
	p.mu.Lock()
	for q, st := range p.stmts {
		_ = st.Close()
		delete(p.stmts, q)
	}
	p.mu.Unlock()
	return p.db.Close()
}

// runner runs statements on a pool, or on a transaction of that pool.
type runner struct {
	p *pool
	// Inside InTx only (a transaction is used by one goroutine at a time):
	tx     *sql.Tx
	txStmt map[string]*sql.Stmt // statements bound to tx
}

func (r runner) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if r.tx == nil {
		return r.p.stmt(ctx, query)
	}
	if st := r.txStmt[query]; st != nil {
		return st, nil
	}
	var st *sql.Stmt
	if ps := r.p.cached(query); ps != nil {
		st = r.tx.StmtContext(ctx, ps)
	} else {
		// Not prepared on the pool yet. Prepare on the transaction: the
		// pool cannot be used here, its only connection may be this one.
		var err error
		if st, err = r.tx.PrepareContext(ctx, r.p.d.rebind(query)); err != nil {
			return nil, err
		}
	}
	r.txStmt[query] = st // closed with the transaction
	return st, nil
}

func (r runner) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// execN runs a statement and returns the number of rows it affected.
func (r runner) execN(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := r.exec(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (r runner) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// errRow is a scanner that fails, for when the statement itself failed.
type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

func (r runner) queryRow(ctx context.Context, query string, args ...any) scanner {
	st, err := r.stmt(ctx, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

// store implements Store for both backends.
type store struct {
	queries       // writes on writer, reads on reader
	writer  *pool // the single writer on SQLite
	reader  *pool // read-only connections on SQLite; writer on PostgreSQL
}

func newStore(d *dialect, writer, reader *pool) *store {
	return &store{
		queries: queries{d: d, w: runner{p: writer}, r: runner{p: reader}},
		writer:  writer,
		reader:  reader,
	}
}

func (s *store) Driver() string { return s.d.name }

func (s *store) Ping(ctx context.Context) error {
	if err := s.writer.db.PingContext(ctx); err != nil {
		return s.d.wrap("ping", err)
	}
	if s.reader != s.writer {
		if err := s.reader.db.PingContext(ctx); err != nil {
			return s.d.wrap("ping readers", err)
		}
	}
	return nil
}

func (s *store) Close() error {
	var errs []error
	if s.reader != s.writer {
		errs = append(errs, s.reader.close())
	}
	errs = append(errs, s.writer.close())
	if err := errors.Join(errs...); err != nil {
		return s.d.wrap("close", err)
	}
	return nil
}

// InTx runs fn on the writer. fn must use q, never the Store itself: on
// SQLite the Store's writes wait for the connection the transaction holds.
// q is for one goroutine at a time.
func (s *store) InTx(ctx context.Context, fn func(q Queries) error) error {
	tx, err := s.writer.db.BeginTx(ctx, nil)
	if err != nil {
		return s.d.wrap("begin transaction", err)
	}
	defer func() { _ = tx.Rollback() }() // no-op after Commit; covers panics
	tr := runner{p: s.writer, tx: tx, txStmt: make(map[string]*sql.Stmt)}
	if err := fn(&queries{d: s.d, w: tr, r: tr}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return s.d.wrap("commit transaction", err)
	}
	s.writer.adopt(ctx, tr.txStmt)
	return nil
}

// adopt prepares on the pool the statements a transaction had to prepare
// for itself (first used inside a transaction, they were not cached), so
// that later transactions reuse them through Tx.StmtContext instead of
// parsing them again, on every transaction, on the hot inbox path. Called
// after the transaction ended, when the writer connection is free. Errors
// are ignored: the statement is then prepared again next time.
func (p *pool) adopt(ctx context.Context, used map[string]*sql.Stmt) {
	for query := range used {
		if p.cached(query) == nil {
			_, _ = p.stmt(ctx, query)
		}
	}
}

// wrap gives err the "storage: action: cause" form, turning sql.ErrNoRows
// into ErrNotFound and driver errors into storage errors.
func (d *dialect) wrap(action string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	} else {
		err = d.mapErr(err)
	}
	switch {
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrAlreadyExists), errors.Is(err, ErrLeaseLost),
		errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
	default:
		err = &unavailableError{err}
	}
	return fmt.Errorf("storage: %s: %w", action, err)
}

// unavailableError is a failure of the database itself (disk full,
// connection lost, busy): it matches ErrUnavailable.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string   { return e.err.Error() }
func (e *unavailableError) Unwrap() []error { return []error{ErrUnavailable, e.err} }

// micros converts a time to Unix microseconds; the zero time becomes NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

// fromMicros converts Unix microseconds to a UTC time; NULL becomes the
// zero time.
func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// orNow returns t, or the current time when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}
