package publish

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/passerelle/passerelle/storage"
)

// Status ids are time-ordered, as Mastodon's (lib/mastodon/snowflake.rb):
// the Unix time in milliseconds shifted left by 16 bits, plus 16 low bits.
// Ordering statuses by id is then ordering them by creation time, which
// the outbox, the profile pages and the client API's max_id/since_id
// paging all rely on, and which keeps holding for statuses imported with
// their original dates (a tweet of 2015 gets an id of 2015, below every
// post made since).
//
// The low bits of a new post's id are random and then kept increasing
// within the process (several replicas sharing PostgreSQL make ids that
// almost never collide; a collision is retried with the next id). Ids
// made before this scheme are small autoincrement numbers: they still sort
// below every time-ordered id, hence before imported posts too.
//
// Status ids exceed 2^53: clients must treat them as strings, as the
// Mastodon API does.

const idLowBits = 16

// idClock hands out increasing time-ordered ids. It is process-wide, like
// the clock it reads: two services of one process must not hand out the
// same id either.
type idClock struct {
	mu   sync.Mutex
	last int64
}

var statusIDs idClock

// next returns an id for a status created at t (now), greater than every
// id this clock returned before.
func (c *idClock) next(t time.Time) int64 {
	id := idAt(t)
	c.mu.Lock()
	defer c.mu.Unlock()
	if id <= c.last {
		id = c.last + 1
	}
	c.last = id
	return id
}

// idAt returns a time-ordered id for t with random low bits.
func idAt(t time.Time) int64 {
	ms := max(t.UnixMilli(), 0)
	return ms<<idLowBits | int64(rand.IntN(1<<idLowBits))
}

// IDTime returns the time a time-ordered status id was made for (zero for
// the small ids made before the scheme).
func IDTime(id int64) time.Time {
	ms := id >> idLowBits
	if ms < 1_000_000_000_000 { // before September 2001: an autoincrement id
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// insertStatus stores st with a time-ordered id: from the process clock
// for a post made now, else (imports) from st.CreatedAt. An id already
// taken (another replica, the same millisecond) is retried; a duplicate
// idempotency key is returned as storage.ErrAlreadyExists.
func insertStatus(ctx context.Context, q storage.Queries, st storage.Status, now bool) (int64, error) {
	var err error
	for range 5 {
		if now {
			st.ID = statusIDs.next(st.CreatedAt)
		} else {
			st.ID = idAt(st.CreatedAt)
		}
		var id int64
		id, err = q.InsertStatus(ctx, st)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, storage.ErrAlreadyExists) {
			return 0, err
		}
		if st.IdempotencyKey != "" {
			if _, kerr := q.GetStatusByIdempotencyKey(ctx, st.Account, st.IdempotencyKey); kerr == nil {
				return 0, err // the key, not the id
			}
		}
	}
	return 0, err
}
