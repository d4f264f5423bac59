package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// PostgresCPU measures what the PostgreSQL server spends for one
// benchmark run, as the issue asks ("its server's CPU counted"): the CPU
// of the backends serving the connections whose application_name is the
// run's (PostgresSchema sets it), of the server's shared background
// processes (WAL writer, checkpointer, background writer, autovacuum) and
// of the postmaster, read from /proc every interval while the meter runs.
// A backend that exits between two readings loses at most one interval of
// its CPU; the shared processes also work for whatever else uses the
// server meanwhile. The server must run on this machine (loopback).
type PostgresCPU struct {
	db   *sql.DB
	app  string
	stop chan struct{}
	done chan struct{}

	mu          sync.Mutex
	first, last map[int]time.Duration
	err         error
}

// StartPostgresCPU starts a meter of the server at base (a postgres://
// URL) for the connections named app.
func StartPostgresCPU(base, app string, interval time.Duration) (*PostgresCPU, error) {
	db, err := sql.Open("pgx", base)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	m := &PostgresCPU{db: db, app: app, stop: make(chan struct{}), done: make(chan struct{}),
		first: map[int]time.Duration{}, last: map[int]time.Duration{}}
	if err := m.sample(true); err != nil {
		db.Close()
		return nil, err
	}
	go func() {
		defer close(m.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				if err := m.sample(false); err != nil {
					m.mu.Lock()
					m.err = err
					m.mu.Unlock()
				}
			}
		}
	}()
	return m, nil
}

// sample reads the CPU of the server's processes of interest. At the start
// (initial) their current CPU is the baseline; a process first seen later
// started during the run, so all of its CPU counts.
func (m *PostgresCPU) sample(initial bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := m.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND (application_name = $1 OR backend_type <> 'client backend')`, m.app)
	if err != nil {
		return fmt.Errorf("e2e: the PostgreSQL server's processes: %w", err)
	}
	var pids []int
	for rows.Next() {
		var pid int
		if err := rows.Scan(&pid); err != nil {
			rows.Close()
			return err
		}
		pids = append(pids, pid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if len(pids) > 0 {
		if pp, err := parentPID(pids[0]); err == nil {
			pids = append(pids, pp) // the postmaster
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, pid := range pids {
		cpu, err := PIDCPUTime(pid)
		if err != nil {
			continue // exited meanwhile
		}
		if _, seen := m.first[pid]; !seen {
			if initial {
				m.first[pid] = cpu
			} else {
				m.first[pid] = 0
			}
		}
		m.last[pid] = cpu
	}
	return nil
}

// Stop takes a last reading and returns the CPU the server spent since the
// meter started.
func (m *PostgresCPU) Stop() (time.Duration, error) {
	close(m.stop)
	<-m.done
	err := m.sample(false)
	m.db.Close()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err == nil {
		err = m.err
	}
	var sum time.Duration
	for pid, last := range m.last {
		sum += last - m.first[pid]
	}
	return sum, err
}

func parentPID(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	i := strings.LastIndexByte(string(b), ')')
	f := strings.Fields(string(b[i+1:]))
	if i < 0 || len(f) < 2 {
		return 0, fmt.Errorf("e2e: malformed /proc/%d/stat", pid)
	}
	return strconv.Atoi(f[1])
}
