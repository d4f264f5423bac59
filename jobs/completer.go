package jobs

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Successful jobs are recorded in batches: one statement marks up to
// completeBatch jobs done instead of one write (and, on SQLite, one commit
// of the single writer) per job. A job waits at most completeDelay to be
// recorded, which bounds the jobs a crash could make us run twice (send
// twice, for a delivery) beyond those in flight.
const (
	completeBatch = 64
	completeDelay = 20 * time.Millisecond
)

type completer struct {
	store Store
	owner string
	log   zerolog.Logger

	mu    sync.Mutex
	ids   []int64
	first chan struct{} // a batch started
	full  chan struct{} // a batch is full
	quit  chan struct{}
}

func newCompleter(store Store, owner string, log zerolog.Logger) *completer {
	return &completer{
		store: store, owner: owner, log: log,
		first: make(chan struct{}, 1), full: make(chan struct{}, 1), quit: make(chan struct{}),
	}
}

// add records job id as done, soon.
func (c *completer) add(id int64) {
	c.mu.Lock()
	c.ids = append(c.ids, id)
	n := len(c.ids)
	c.mu.Unlock()
	signal := c.first
	if n >= completeBatch {
		signal = c.full
	} else if n > 1 {
		return
	}
	select {
	case signal <- struct{}{}:
	default:
	}
}

// run writes batches until close, then writes what is left.
func (c *completer) run() {
	for {
		select {
		case <-c.first:
		case <-c.full:
		case <-c.quit:
			c.flush()
			return
		}
		timer := time.NewTimer(completeDelay)
		select {
		case <-c.full:
		case <-timer.C:
		case <-c.quit:
		}
		timer.Stop()
		c.flush()
	}
}

// close makes run write what is left and return.
func (c *completer) close() { close(c.quit) }

func (c *completer) flush() {
	c.mu.Lock()
	ids := c.ids
	c.ids = nil
	c.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := c.store.CompleteJobs(ctx, ids, c.owner)
	if err != nil {
		// Keep them for the next batch: while their leases last, nobody
		// else sends them.
		c.log.Error().Err(err).Int("jobs", len(ids)).Msg("record done jobs; will try again")
		c.mu.Lock()
		c.ids = append(ids, c.ids...) // completing a done job again is a no-op
		c.mu.Unlock()
		return
	}
	if int(n) < len(ids) {
		c.log.Warn().Int("jobs", len(ids)-int(n)).Msg("done jobs whose lease was lost (another worker may run them again)")
	}
}
