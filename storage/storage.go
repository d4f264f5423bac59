package storage

import (
	"context"
	"errors"
	"time"
)

// Errors returned by every backend. Driver-specific errors never escape.
var (
	ErrNotFound      = errors.New("storage: not found")
	ErrAlreadyExists = errors.New("storage: already exists")
	// ErrLeaseLost is returned when a job is completed, retried or failed by
	// a worker that no longer holds its lease (it expired and another worker
	// claimed the job).
	ErrLeaseLost = errors.New("storage: job lease lost")
	// ErrUnavailable matches the failures of the database itself (disk
	// full, connection lost, busy), as opposed to answers about the data
	// (ErrNotFound, ErrAlreadyExists): the caller may retry later, and
	// must not take it as a verdict on what it asked for.
	ErrUnavailable = errors.New("storage: unavailable")
)

// Config selects and configures a backend.
type Config struct {
	Driver string // "sqlite" or "postgres"
	DSN    string // file path for sqlite, postgres:// URL for postgres
}

// Follower states.
const (
	FollowerPending  = "pending"  // waiting for manual approval
	FollowerAccepted = "accepted" // Accept sent (or queued)
)

// Follower is a remote actor following one of our accounts.
type Follower struct {
	Account          string // our username
	ActorID          string // remote actor IRI
	Inbox            string
	SharedInbox      string // empty when the remote server has none
	FollowActivityID string // id of the Follow we accepted (the Accept's object)
	State            string // FollowerPending or FollowerAccepted
	CreatedAt        time.Time
	AcceptedAt       time.Time // zero while pending
}

// KeyPair is a key pair in PEM form, owned by one of our actors
// ("instance" for the instance actor, or an account's username: its RSA
// key; "ed25519:" and the same name: its Ed25519 key).
type KeyPair struct {
	Owner      string
	PrivateKey string // PKCS#8 PEM
	PublicKey  string // SPKI PEM
	CreatedAt  time.Time
}

// RemoteActor is the cached part of a remote actor document that federation
// needs to reach it. Inbox is empty while only a stub of the actor is known
// (GoToSocial serves one at its key ids).
type RemoteActor struct {
	ID                string
	Inbox             string
	SharedInbox       string
	PreferredUsername string
	FetchedAt         time.Time
}

// RemoteKey is a remote public key and the actor it belongs to.
type RemoteKey struct {
	KeyID        string
	Owner        string // actor IRI
	PublicKeyPEM string // SPKI PEM, RSA or Ed25519
	FetchedAt    time.Time
}

// Job states.
const (
	JobPending = "pending"
	JobRunning = "running"
	JobDone    = "done"
	JobFailed  = "failed"
)

// NewJob describes a job to enqueue.
type NewJob struct {
	Kind    string    // e.g. "deliver"
	Payload []byte    // opaque to storage
	RunAt   time.Time // zero means now
	// Key, when non-empty, makes the enqueue idempotent: a second job with the
	// same Key is not created (EnqueueJob returns the existing id).
	Key string
	// Host is the remote host the job talks to (for per-host scheduling and
	// statistics); may be empty.
	Host string
	// Ref groups jobs for status queries (e.g. "status:42"); may be empty.
	Ref string
	// ActivityID names the outgoing activity the job sends (0: none): it
	// is kept while the job is pending or running.
	ActivityID int64
}

// Job is a queued unit of work.
type Job struct {
	ID         int64
	Kind       string
	Payload    []byte
	Key        string
	Host       string
	Ref        string
	Status     string
	Attempts   int // incremented each time the job is claimed
	RunAt      time.Time
	CreatedAt  time.Time
	LeaseOwner string
	LeaseUntil time.Time
	LastError  string
}

// JobStats summarises the queue for health checks and metrics.
type JobStats struct {
	Pending       int64         // pending jobs (due or not)
	Running       int64         // claimed, lease not yet released
	Failed        int64         // given up
	OldestPending time.Duration // age of the oldest due pending job, 0 if none
}

// RefStats counts the jobs sharing one Ref, by state.
type RefStats struct {
	Pending int64 // pending or running
	Done    int64
	Failed  int64
}

// Queries are the operations available both directly on a Store and inside
// a transaction (Store.InTx).
type Queries interface {
	Content        // statuses, media, API credentials, host availability (content.go)
	Bluesky        // the Bluesky mirror's sessions, states and records (bluesky.go)
	BlueskyReading // what the mirror reads back from Bluesky (bluesky_inbox.go)
	BlueskyShields // the raid shield's hidden replies and detached quotes (bluesky_shield.go)
	Sources        // feed and archive import state (sources.go)
	Interactions   // remote posts, notifications, blocks, reports, filters (interactions.go)
	Moderation
	Moves             // account moves: moved out, move-in windows, followers moved in (moves.go)
	Announcements     // what was last announced of our actors (announcements.go)
	PushSubscriptions // Web Push subscriptions of the client API (push.go)
	Presence          // our boosts and favourites, edit history, threads (presence.go)
	Team              // the comms team's console: members, roles, sessions, audit (team.go)
	Polls             // polls of our statuses and their votes (polls.go)
	Follows           // whom our accounts follow, their home timelines (follows.go)
	TeamDrafts        // contributors' drafts waiting for approval (team_drafts.go)
	Crises            // crisis mode: on or off, the posts it tightened (crisis.go)

	// GetKeyPair returns ErrNotFound when the owner has no key pair.
	GetKeyPair(ctx context.Context, owner string) (KeyPair, error)
	// InsertKeyPair returns ErrAlreadyExists if the owner already has one
	// (keys are never replaced silently).
	InsertKeyPair(ctx context.Context, kp KeyPair) error

	// MarkActivityProcessed records an inbound activity id of actor. It
	// returns first=false when the actor had already sent that id.
	MarkActivityProcessed(ctx context.Context, actor, id string, at time.Time) (first bool, err error)

	// UpsertFollower inserts the follower or updates inbox, shared inbox,
	// follow activity id and state of an existing one. created reports
	// whether a new row was inserted. AcceptedAt is kept when already set.
	UpsertFollower(ctx context.Context, f Follower) (created bool, err error)
	GetFollower(ctx context.Context, account, actorID string) (Follower, error)
	// SetFollowerState returns ErrNotFound when there is no such follower.
	SetFollowerState(ctx context.Context, account, actorID, state string, at time.Time) error
	// DeleteFollower reports whether a row was removed.
	DeleteFollower(ctx context.Context, account, actorID string) (bool, error)
	// DeleteFollowerEverywhere removes the actor from every account's
	// followers (the remote actor was deleted) and returns how many rows went.
	DeleteFollowerEverywhere(ctx context.Context, actorID string) (int64, error)
	// CountFollowers counts followers of account in state (empty = any).
	CountFollowers(ctx context.Context, account, state string) (int64, error)
	// ListFollowers lists followers of account in state (empty = any),
	// ordered by actor id, starting strictly after the actor id `after`
	// (empty = from the start), at most limit rows.
	ListFollowers(ctx context.Context, account, state, after string, limit int) ([]Follower, error)

	UpsertRemoteActor(ctx context.Context, a RemoteActor) error
	GetRemoteActor(ctx context.Context, id string) (RemoteActor, error)
	// DeleteRemoteActor forgets the actor and its keys.
	DeleteRemoteActor(ctx context.Context, id string) error
	// UpsertRemoteKey stores a key (replacing the owner and key of the
	// same key id).
	UpsertRemoteKey(ctx context.Context, k RemoteKey) error
	// GetRemoteKey returns ErrNotFound for an unknown key id.
	GetRemoteKey(ctx context.Context, keyID string) (RemoteKey, error)

	// InsertOutgoingActivity stores an activity to send for account and
	// returns its id, which the jobs sending it name (NewJob.ActivityID).
	InsertOutgoingActivity(ctx context.Context, account string, body []byte, at time.Time) (int64, error)
	// GetOutgoingActivity returns an activity's body; ErrNotFound once it
	// was pruned.
	GetOutgoingActivity(ctx context.Context, id int64) ([]byte, error)

	// EnqueueJob adds a pending job and returns its id. With a non-empty
	// Key already present, no job is added and the existing id is returned.
	EnqueueJob(ctx context.Context, j NewJob) (int64, error)
	// EnqueueJobs adds pending jobs in as few statements as it can (a
	// fan-out's page of deliveries) and returns how many were added; a
	// job whose non-empty Key is already present is not added. It
	// returns no ids.
	EnqueueJobs(ctx context.Context, js []NewJob) (int64, error)
}

// Store is the storage layer.
type Store interface {
	Queries
	KV // key/value store and locks (kv.go)
	// Jobs not yet run: list, move, cancel (jobs_pending.go).
	PendingJobs
	// The X exit notice page's funnel (funnel.go).
	NoticeFunnel
	// Followers day by day and delivery problems, for the console (reach.go).
	Reach

	// InTx runs fn in one transaction: committed when fn returns nil,
	// rolled back otherwise (fn's error is returned as is).
	InTx(ctx context.Context, fn func(q Queries) error) error

	// ClaimJobs leases up to limit due jobs (pending with run_at <= now, or
	// running with an expired lease) of the given kinds (all kinds when
	// empty) to owner until now+lease, increments their attempts and marks
	// them running. Concurrent callers never receive the same job.
	ClaimJobs(ctx context.Context, owner string, kinds []string, limit int, lease time.Duration, now time.Time) ([]Job, error)
	// CompleteJob marks a job done. ErrLeaseLost if owner lost the lease.
	CompleteJob(ctx context.Context, id int64, owner string) error
	// CompleteJobs marks done, at once, the jobs among ids whose lease
	// owner still holds, and returns how many it marked (the others had
	// lost their lease, or were not running). Delivery workers record
	// their results in batches with it.
	CompleteJobs(ctx context.Context, ids []int64, owner string) (int64, error)
	// RenewJobLeases extends to until the leases owner holds on its
	// running jobs of kinds (all kinds when empty), and returns how many
	// it extended.
	RenewJobLeases(ctx context.Context, owner string, kinds []string, until time.Time) (int64, error)
	// RetryJob puts a job back to pending, due at runAt, with the error.
	RetryJob(ctx context.Context, id int64, owner string, runAt time.Time, errMsg string) error
	// FailJob gives up on a job.
	FailJob(ctx context.Context, id int64, owner string, errMsg string) error
	// ReleaseJobs puts every job leased by owner back to pending, due now,
	// without counting the attempt (graceful shutdown).
	ReleaseJobs(ctx context.Context, owner string) error
	GetJob(ctx context.Context, id int64) (Job, error)
	JobStats(ctx context.Context, now time.Time) (JobStats, error)
	RefStats(ctx context.Context, ref string) (RefStats, error)
	// PruneJobs deletes done jobs finished before `before` and returns how
	// many went.
	PruneJobs(ctx context.Context, before time.Time) (int64, error)
	// PruneActivities forgets processed activity ids recorded before `before`.
	PruneActivities(ctx context.Context, before time.Time) (int64, error)
	// PruneOutgoingActivities deletes the outgoing activities stored
	// before `before` that no pending or running job names any more.
	PruneOutgoingActivities(ctx context.Context, before time.Time) (int64, error)

	// Driver is "sqlite" or "postgres".
	Driver() string
	Ping(ctx context.Context) error
	// SchemaVersion is the number of the last applied migration.
	SchemaVersion(ctx context.Context) (int, error)
	Close() error
}
