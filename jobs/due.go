package jobs

import (
	"container/heap"
	"sync"
	"time"
)

// dueTimes are the times at which jobs this process put back (its
// retries) come due. When the queue has nothing due, a pool's claimer
// sleeps until the earliest of them rather than until its next idle poll,
// so a retry goes after its backoff and not up to a poll later: the 0.25 s
// first retry of a server that hiccuped is 0.25 s, which is what ends a
// fan-out. Bounded: times further ahead than the pool's horizon
// (dueHorizonPolls idle polls: a wait that long does not mind one poll
// more), or beyond dueMax of them, are left to the idle poll. Retries put
// back by other processes are found by the idle poll too.
type dueTimes struct {
	mu sync.Mutex
	h  timeHeap
}

const (
	dueMax          = 4096
	dueHorizonPolls = 240 // a minute for delivery's 250 ms poll
)

// add records that a job comes due at `at` (now is the queue's clock),
// unless it is more than horizon ahead.
func (q *dueTimes) add(at, now time.Time, horizon time.Duration) {
	if at.Sub(now) > horizon {
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.h) < dueMax {
		heap.Push(&q.h, at)
	}
}

// next forgets the times up to `claimed` (a claim made then took their
// jobs, or another process did) and returns the earliest time left.
func (q *dueTimes) next(claimed time.Time) (time.Time, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.h) > 0 && !q.h[0].After(claimed) {
		heap.Pop(&q.h)
	}
	if len(q.h) == 0 {
		return time.Time{}, false
	}
	return q.h[0], true
}

// timeHeap is a min-heap of times (container/heap).
type timeHeap []time.Time

func (h timeHeap) Len() int           { return len(h) }
func (h timeHeap) Less(i, j int) bool { return h[i].Before(h[j]) }
func (h timeHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *timeHeap) Push(x any)        { *h = append(*h, x.(time.Time)) }
func (h *timeHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
