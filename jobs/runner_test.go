package jobs

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
	"github.com/passerelle/passerelle/storage/storagetest"
)

// The tests run in synctest bubbles: the runner's clock, timers and
// tickers are the bubble's, so that waits of an hour take no time and
// "not before its time" can be checked exactly.

// started is a runner running until the test ends (or stop).
type started struct {
	r      *Runner
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, r *Runner, grace time.Duration) *started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &started{r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- r.Run(ctx, grace) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop stops the runner and waits for Run (once).
func (s *started) stop(t *testing.T) {
	t.Helper()
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.cancel = nil
	if err := <-s.done; err != nil {
		t.Error(err)
	}
}

func newRunner(t *testing.T, st Store) *Runner {
	return New(st, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel))
}

func enqueue(t *testing.T, st storage.Store, j storage.NewJob) int64 {
	t.Helper()
	id, err := st.EnqueueJob(context.Background(), j)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func getJob(t *testing.T, st storage.Store, id int64) storage.Job {
	t.Helper()
	j, err := st.GetJob(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func register(t *testing.T, r *Runner, p Pool) {
	t.Helper()
	if err := r.Register(p); err != nil {
		t.Fatal(err)
	}
}

// TestResults: what becomes of a job after each kind of handler result.
func TestResults(t *testing.T) {
	boom := errors.New("boom")
	policy := Backoff{Base: time.Hour, Max: 2 * time.Hour}
	tests := []struct {
		name    string
		policy  Backoff
		age     time.Duration // the job waits this long before the runner starts
		result  func(now time.Time) error
		status  string
		lastErr string
		// run_at after the attempt, from the time of the attempt; zero:
		// not checked.
		runMin, runMax time.Duration
		attempts       int
	}{
		{"done", policy, 0, func(time.Time) error { return nil }, storage.JobDone, "", 0, 0, 1},
		{"plain error: retried with the backoff", policy, 0, func(time.Time) error { return boom },
			storage.JobPending, "boom", 48 * time.Minute, 72 * time.Minute, 1},
		{"Retry-After longer than the backoff", policy, 0, func(time.Time) error { return RetryAfter(90*time.Minute, boom) },
			storage.JobPending, "boom (retry after 1h30m0s)", 90 * time.Minute, 90 * time.Minute, 1},
		{"Retry-After beyond the policy's Max", policy, 0, func(time.Time) error { return RetryAfter(5*time.Hour, boom) },
			storage.JobPending, "boom (retry after 5h0m0s)", 2 * time.Hour, 2 * time.Hour, 1},
		{"retry at a time, even on the last attempt", Backoff{Base: time.Hour, Max: time.Hour, MaxAttempts: 1}, 0,
			func(now time.Time) error { return RetryAt(now.Add(3*time.Hour), boom) },
			storage.JobPending, "boom", 3 * time.Hour, 3 * time.Hour, 1},
		{"again: no error recorded", policy, 0, func(now time.Time) error { return Again(now.Add(15 * time.Minute)) },
			storage.JobPending, "", 15 * time.Minute, 15 * time.Minute, 1},
		{"permanent", policy, 0, func(time.Time) error { return Permanent(boom) }, storage.JobFailed, "boom", 0, 0, 1},
		{"last attempt", Backoff{Base: time.Hour, Max: time.Hour, MaxAttempts: 1}, 0, func(time.Time) error { return boom },
			storage.JobFailed, "boom", 0, 0, 1},
		{"too old", Backoff{Base: time.Hour, Max: time.Hour, MaxAge: time.Hour}, 2 * time.Hour, func(time.Time) error { return boom },
			storage.JobFailed, "boom", 0, 0, 1},
		{"young enough", Backoff{Base: time.Hour, Max: time.Hour, MaxAge: 3 * time.Hour}, 2 * time.Hour, func(time.Time) error { return boom },
			storage.JobPending, "boom", 48 * time.Minute, 72 * time.Minute, 1},
		{"stopping: put back, uncounted", policy, 0, func(time.Time) error { return ErrStopping }, storage.JobPending, "", 0, 0, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := storagetest.OpenSQLite(t)
				id := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("{}")})
				time.Sleep(tc.age)
				r := newRunner(t, st)
				var ran time.Time
				calls := 0
				register(t, r, Pool{Kinds: []string{"k"}, Backoff: tc.policy, PollEvery: time.Hour,
					Handle: func(ctx context.Context, j *Job) error {
						calls++
						ran = time.Now()
						return tc.result(ran)
					}})
				s := start(t, r, time.Second)
				synctest.Wait()
				s.stop(t)
				if calls != 1 {
					t.Fatalf("handler called %d times, want 1", calls)
				}
				j := getJob(t, st, id)
				if j.Status != tc.status || j.LastError != tc.lastErr || j.Attempts != tc.attempts || j.LeaseOwner != "" {
					t.Errorf("job = status %q, last error %q, attempts %d, owner %q; want %q, %q, %d, none",
						j.Status, j.LastError, j.Attempts, j.LeaseOwner, tc.status, tc.lastErr, tc.attempts)
				}
				if tc.runMax > 0 {
					if d := j.RunAt.Sub(ran); d < tc.runMin || d > tc.runMax {
						t.Errorf("due %v after the attempt, want within [%v, %v]", d, tc.runMin, tc.runMax)
					}
				}
			})
		})
	}
}

// TestDoneRecording: a success is recorded before the worker takes its
// next job; with BatchDone, within 20 ms, many at once.
func TestDoneRecording(t *testing.T) {
	for _, batch := range []bool{false, true} {
		t.Run("batch "+strconv.FormatBool(batch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := storagetest.OpenSQLite(t)
				first := enqueue(t, st, storage.NewJob{Kind: "k"})
				second := enqueue(t, st, storage.NewJob{Kind: "k"})
				r := newRunner(t, st)
				var firstWhenSecond string
				register(t, r, Pool{Kinds: []string{"k"}, BatchDone: batch, PollEvery: time.Hour,
					Handle: func(ctx context.Context, j *Job) error {
						if j.ID == second {
							firstWhenSecond = getJob(t, st, first).Status
						}
						return nil
					}})
				start(t, r, time.Second)
				synctest.Wait()
				want := storage.JobDone
				if batch {
					want = storage.JobRunning
				}
				if firstWhenSecond != want || getJob(t, st, second).Status != want {
					t.Errorf("first job %s when the second ran, second %s at once; want %s", firstWhenSecond, getJob(t, st, second).Status, want)
				}
				time.Sleep(completeDelay)
				synctest.Wait()
				for _, id := range []int64{first, second} {
					if j := getJob(t, st, id); j.Status != storage.JobDone {
						t.Errorf("job %d %s after %v", id, j.Status, completeDelay)
					}
				}
			})
		})
	}
}

// TestRetryComesDue: a retry this process put back goes when due, not at
// the next idle poll (an hour here); it is claimable exactly then.
func TestRetryComesDue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := storagetest.OpenSQLite(t)
		enqueue(t, st, storage.NewJob{Kind: "k"})
		r := newRunner(t, st)
		var runs []time.Time
		register(t, r, Pool{Kinds: []string{"k"}, PollEvery: time.Hour, Backoff: Backoff{Base: 300 * time.Millisecond, Max: time.Minute},
			Handle: func(ctx context.Context, j *Job) error {
				runs = append(runs, time.Now())
				if len(runs) < 3 {
					return errors.New("status 500")
				}
				return nil
			}})
		start(t, r, time.Second)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		if len(runs) != 3 {
			t.Fatalf("%d attempts in 10 s, want 3 (retries at 0.3 s and 0.6 s, ±20%%)", len(runs))
		}
		for i, want := range []time.Duration{300 * time.Millisecond, 600 * time.Millisecond} {
			if d := runs[i+1].Sub(runs[i]); d < want*8/10 || d > want*12/10 {
				t.Errorf("retry %d after %v, want %v ±20%%", i+1, d, want)
			}
		}
	})
}

// TestAgainWithRoom: a pool with room left (two workers, one job)
// sleeps while its job runs; the job put back for 10 s later runs 10 s
// later, not at the pool's next idle poll a minute on (the Bluesky
// notifications' poll job is such a job).
func TestAgainWithRoom(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := storagetest.OpenSQLite(t)
		enqueue(t, st, storage.NewJob{Kind: "k"})
		r := newRunner(t, st)
		var runs []time.Time
		register(t, r, Pool{Kinds: []string{"k"}, Workers: 2, PollEvery: time.Minute,
			Handle: func(ctx context.Context, j *Job) error {
				runs = append(runs, time.Now())
				if len(runs) < 3 {
					return Again(time.Now().Add(10 * time.Second))
				}
				return nil
			}})
		start(t, r, time.Second)
		time.Sleep(25 * time.Second)
		synctest.Wait()
		if len(runs) != 3 {
			t.Fatalf("%d runs in 25 s, want 3 (again after 10 s, twice)", len(runs))
		}
		for i := range 2 {
			if d := runs[i+1].Sub(runs[i]); d < 10*time.Second || d > 10*time.Second+time.Second {
				t.Errorf("run %d after %v, want 10 s", i+2, d)
			}
		}
	})
}

// TestWake: a nudged pool claims a new job at once; without the nudge it
// waits for its poll.
func TestWake(t *testing.T) {
	for _, nudge := range []bool{true, false} {
		t.Run("nudge "+strconv.FormatBool(nudge), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := storagetest.OpenSQLite(t)
				r := newRunner(t, st)
				wake := NewWake()
				ran := make(chan time.Time, 1)
				register(t, r, Pool{Kinds: []string{"k"}, PollEvery: time.Hour, Wake: wake,
					Handle: func(ctx context.Context, j *Job) error { ran <- time.Now(); return nil }})
				start(t, r, time.Second)
				synctest.Wait() // idle
				queued := time.Now()
				enqueue(t, st, storage.NewJob{Kind: "k"})
				if nudge {
					wake.Nudge()
				}
				time.Sleep(time.Minute)
				synctest.Wait()
				select {
				case at := <-ran:
					if !nudge {
						t.Errorf("run %v after it was queued without a nudge, want at the next poll", at.Sub(queued))
					} else if d := at.Sub(queued); d > 10*time.Millisecond {
						t.Errorf("run %v after the nudge", d)
					}
				default:
					if nudge {
						t.Error("not run a minute after the nudge")
					}
				}
			})
		})
	}
}

// TestStop: stopping lets running jobs finish within the grace period and
// records them; a job still running after it is cancelled and put back;
// jobs claimed ahead, and jobs that gave up with ErrStopping, are put
// back uncounted.
func TestStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := storagetest.OpenSQLite(t)
		quick := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("quick")})
		slow := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("slow")})
		waiting := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("waiting")})
		ahead := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("ahead")})
		r := newRunner(t, st)
		register(t, r, Pool{Kinds: []string{"k"}, Workers: 3, Prefetch: 4, PollEvery: time.Hour,
			Handle: func(ctx context.Context, j *Job) error {
				switch string(j.Payload) {
				case "quick": // finishes within the grace period
					time.Sleep(time.Second)
					return nil
				case "slow": // does not
					<-ctx.Done()
					return ctx.Err()
				case "waiting": // waits for a slot of its own: gives up
					<-j.Stopping()
					return ErrStopping
				}
				<-ctx.Done() // "ahead" never starts: 3 workers
				return nil
			}})
		s := start(t, r, 2*time.Second)
		synctest.Wait()
		stopped := time.Now()
		s.stop(t)
		if d := time.Since(stopped); d != 2*time.Second {
			t.Errorf("stopped in %v, want the grace period, 2 s", d)
		}
		tests := []struct {
			name     string
			id       int64
			status   string
			attempts int
		}{
			{"finished within the grace period", quick, storage.JobDone, 1},
			{"cancelled after the grace period", slow, storage.JobPending, 0},
			{"gave up while waiting", waiting, storage.JobPending, 0},
			{"claimed ahead", ahead, storage.JobPending, 0},
		}
		for _, tc := range tests { // no t.Run inside a bubble
			if j := getJob(t, st, tc.id); j.Status != tc.status || j.Attempts != tc.attempts || j.LeaseOwner != "" {
				t.Errorf("%s: job = status %q, attempts %d, owner %q; want %q, %d, none",
					tc.name, j.Status, j.Attempts, j.LeaseOwner, tc.status, tc.attempts)
			}
		}
		if _, err := st.GetValue(context.Background(), livenessDir+"/"+r.Owner()); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the runner is still registered after it stopped: %v", err)
		}
	})
}

// TestLeaseRenewed: a job running longer than its lease keeps it: no
// other worker can claim it meanwhile.
func TestLeaseRenewed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := storagetest.OpenSQLite(t)
		id := enqueue(t, st, storage.NewJob{Kind: "k"})
		r := newRunner(t, st)
		release := make(chan struct{})
		register(t, r, Pool{Kinds: []string{"k"}, Lease: 30 * time.Second, PollEvery: time.Hour,
			Handle: func(ctx context.Context, j *Job) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return nil
			}})
		start(t, r, time.Second)
		synctest.Wait()
		first := getJob(t, st, id).LeaseUntil
		for range 8 { // 4 minutes, 8 leases
			time.Sleep(30 * time.Second)
			synctest.Wait()
			if got, err := st.ClaimJobs(context.Background(), "other", nil, 10, time.Minute, time.Now()); err != nil || len(got) != 0 {
				t.Fatalf("another worker claimed %d jobs at %v (%v)", len(got), time.Now(), err)
			}
		}
		if j := getJob(t, st, id); !j.LeaseUntil.After(first.Add(3*time.Minute)) || j.LeaseOwner != r.Owner() {
			t.Errorf("lease until %v, owner %q; first lease until %v", j.LeaseUntil, j.LeaseOwner, first)
		}
		close(release)
	})
}

// TestClaimOnDemand: without Prefetch a job is claimed only for a free
// worker (no lease on a job that does not run); with it, ahead.
func TestClaimOnDemand(t *testing.T) {
	tests := []struct {
		prefetch int
		leased   int64
	}{
		{0, 1},
		{4, 3},
	}
	for _, tc := range tests {
		t.Run("prefetch "+strconv.Itoa(tc.prefetch), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := storagetest.OpenSQLite(t)
				for range 3 {
					enqueue(t, st, storage.NewJob{Kind: "k"})
				}
				r := newRunner(t, st)
				release := make(chan struct{})
				var order []int64
				register(t, r, Pool{Kinds: []string{"k"}, Prefetch: tc.prefetch, PollEvery: time.Hour,
					Handle: func(ctx context.Context, j *Job) error {
						order = append(order, j.ID)
						select {
						case <-release:
						case <-ctx.Done():
						}
						return nil
					}})
				start(t, r, time.Second)
				synctest.Wait()
				stats, err := st.JobStats(context.Background(), time.Now())
				if err != nil {
					t.Fatal(err)
				}
				if stats.Running != tc.leased {
					t.Errorf("%d jobs leased while the first runs, want %d", stats.Running, tc.leased)
				}
				close(release)
				synctest.Wait()
				if len(order) != 3 || order[0] != 1 || order[1] != 2 || order[2] != 3 {
					t.Errorf("ran %v, want jobs 1, 2, 3 in order", order)
				}
			})
		})
	}
}

// TestPark: a parked job gives its worker to the next job; without room
// to park it keeps it.
func TestPark(t *testing.T) {
	for _, parked := range []int{1, 0} {
		t.Run("parked "+strconv.Itoa(parked), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := storagetest.OpenSQLite(t)
				slow := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("slow")})
				next := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("next")})
				r := newRunner(t, st)
				remote := make(chan struct{})
				register(t, r, Pool{Kinds: []string{"k"}, Workers: 1, Parked: parked, Prefetch: 2, PollEvery: time.Hour,
					Handle: func(ctx context.Context, j *Job) error {
						if string(j.Payload) == "slow" {
							j.Park() // waits on its remote server
							select {
							case <-remote:
							case <-ctx.Done():
							}
						}
						return nil
					}})
				start(t, r, time.Second)
				time.Sleep(time.Second)
				synctest.Wait()
				nextDone := getJob(t, st, next).Status == storage.JobDone
				if nextDone != (parked > 0) {
					t.Errorf("next job done while the first waits: %v, want %v", nextDone, parked > 0)
				}
				close(remote)
				time.Sleep(time.Second)
				synctest.Wait()
				for _, id := range []int64{slow, next} {
					if j := getJob(t, st, id); j.Status != storage.JobDone {
						t.Errorf("job %d: %s", id, j.Status)
					}
				}
			})
		})
	}
}

// TestExclusive: of two runners with the same exclusive pool, one runs its
// jobs (and its Start); when it stops, the other takes over.
func TestExclusive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := storagetest.OpenSQLite(t)
		var (
			mu     sync.Mutex
			ranBy  = map[string][]int64{}
			starts = map[string]int{}
		)
		pool := func(r *Runner) Pool {
			return Pool{Kinds: []string{"mirror"}, Exclusive: "mirror-lock", PollEvery: time.Second,
				Start: func(context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					starts[r.Owner()]++
					return nil
				},
				Handle: func(ctx context.Context, j *Job) error {
					mu.Lock()
					defer mu.Unlock()
					ranBy[r.Owner()] = append(ranBy[r.Owner()], j.ID)
					return nil
				}}
		}
		a, b := newRunner(t, st), newRunner(t, st)
		register(t, a, pool(a))
		register(t, b, pool(b))
		sa := start(t, a, time.Second)
		synctest.Wait()
		start(t, b, time.Second)
		enqueue(t, st, storage.NewJob{Kind: "mirror"})
		time.Sleep(5 * time.Second)
		synctest.Wait()
		mu.Lock()
		if len(ranBy[a.Owner()]) != 1 || len(ranBy[b.Owner()]) != 0 || starts[a.Owner()] != 1 || starts[b.Owner()] != 0 {
			t.Errorf("before the stop: ran %v, started %v; want only by the first", ranBy, starts)
		}
		mu.Unlock()

		sa.stop(t)
		enqueue(t, st, storage.NewJob{Kind: "mirror"})
		time.Sleep(heartbeatEvery + 2*time.Second)
		synctest.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(ranBy[b.Owner()]) != 1 || starts[b.Owner()] != 1 {
			t.Errorf("after the first stopped: ran %v, started %v; want the second to take over", ranBy, starts)
		}
	})
}

// TestReap: the jobs of a dead worker are run at once, not when their
// lease (an hour) expires; those of a live runner of this very process
// are left alone.
func TestReap(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := storagetest.OpenSQLite(t)
		ctx := context.Background()
		sibling := newRunner(t, st) // registered, not running: its jobs must stay its own
		dead := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("dead")})
		if got, err := st.ClaimJobs(ctx, "elsewhere.example-4242-1", nil, 1, time.Hour, time.Now()); err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
		alive := enqueue(t, st, storage.NewJob{Kind: "k", Payload: []byte("alive")})
		if got, err := st.ClaimJobs(ctx, sibling.Owner(), nil, 1, time.Hour, time.Now()); err != nil || len(got) != 1 {
			t.Fatal(got, err)
		}
		if err := st.PutValue(ctx, livenessDir+"/elsewhere.example-4242-1", nil, time.Now().Add(-2*staleAfter)); err != nil {
			t.Fatal(err)
		}
		sibling.heartbeat(ctx)

		r := newRunner(t, st)
		var ran []string
		register(t, r, Pool{Kinds: []string{"k"}, PollEvery: time.Second,
			Handle: func(ctx context.Context, j *Job) error { ran = append(ran, string(j.Payload)); return nil }})
		start(t, r, time.Second)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if len(ran) != 1 || ran[0] != "dead" {
			t.Errorf("ran %v, want the dead worker's job only", ran)
		}
		if j := getJob(t, st, dead); j.Status != storage.JobDone {
			t.Errorf("dead worker's job: %s", j.Status)
		}
		if j := getJob(t, st, alive); j.Status != storage.JobRunning || j.LeaseOwner != sibling.Owner() {
			t.Errorf("live sibling's job = %s, owner %q", j.Status, j.LeaseOwner)
		}
		if _, err := st.GetValue(ctx, livenessDir+"/elsewhere.example-4242-1"); !errors.Is(err, storage.ErrNotFound) {
			t.Errorf("the dead worker is still registered: %v", err)
		}
	})
}

// TestHooks: Start runs before the first claim, again after a failure;
// Idle runs when a claim finds nothing.
func TestHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := storagetest.OpenSQLite(t)
		enqueue(t, st, storage.NewJob{Kind: "k"})
		r := newRunner(t, st)
		var starts, idles, runs atomic.Int32
		register(t, r, Pool{Kinds: []string{"k"}, PollEvery: time.Second,
			Start: func(context.Context) error {
				if starts.Add(1) == 1 {
					return errors.New("database busy")
				}
				return nil
			},
			Idle: func(context.Context) { idles.Add(1) },
			Handle: func(ctx context.Context, j *Job) error {
				if starts.Load() != 2 {
					t.Errorf("job run after %d starts, want 2", starts.Load())
				}
				runs.Add(1)
				return nil
			}})
		start(t, r, time.Second)
		time.Sleep(5500 * time.Millisecond)
		synctest.Wait()
		if starts.Load() != 2 || runs.Load() != 1 {
			t.Errorf("starts %d, runs %d; want 2 and 1", starts.Load(), runs.Load())
		}
		// Started after a second, then polls every second, finding nothing.
		if n := idles.Load(); n < 3 || n > 5 {
			t.Errorf("idle %d times in 5.5 s, want about 4", n)
		}
	})
}

func TestRegister(t *testing.T) {
	handle := func(context.Context, *Job) error { return nil }
	tests := []struct {
		name string
		pool Pool
		ok   bool
	}{
		{"no kinds", Pool{Handle: handle}, false},
		{"no handler", Pool{Kinds: []string{"x"}}, false},
		{"a kind of another pool", Pool{Kinds: []string{"y", "a"}, Handle: handle}, false},
		{"new kinds", Pool{Kinds: []string{"b", "c"}, Handle: handle}, true},
	}
	r := New(storagetest.OpenSQLite(t), zerolog.Nop())
	register(t, r, Pool{Kinds: []string{"a"}, Handle: handle})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := r.Register(tc.pool); (err == nil) != tc.ok {
				t.Errorf("Register = %v, want ok %v", err, tc.ok)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.Run(ctx, time.Second); err != nil {
		t.Fatal(err)
	}
	if err := r.Register(Pool{Kinds: []string{"late"}, Handle: handle}); err == nil {
		t.Error("registered after Run")
	}
	if err := r.Run(context.Background(), time.Second); err == nil {
		t.Error("ran twice")
	}
}
