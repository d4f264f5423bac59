package e2e

// Direct access to a bridge's database, for the setup and the checks of
// delivery tests and benchmarks: inserting followers, publishing a post
// the way `bridge post` does (in this process, through package publish,
// on the same database; the running bridge's workers pick it up from the
// queue) and reading its delivery statistics.

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/config"
	"github.com/passerelle/passerelle/federation"
	"github.com/passerelle/passerelle/publish"
	"github.com/passerelle/passerelle/safehttp"
	"github.com/passerelle/passerelle/storage"
)

// Publisher publishes and inspects posts of a bridge configuration, on its
// database.
type Publisher struct {
	Store storage.Store
	Fed   *federation.Service
	pub   *publish.Service
}

// NewPublisher loads the configuration file at cfgPath and opens its
// database (migrating it and creating the actors' keys if the bridge never
// ran on it). Close it after use.
func NewPublisher(ctx context.Context, cfgPath string) (*Publisher, error) {
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return nil, fmt.Errorf("e2e: %w", err)
	}
	store, err := storage.Open(ctx, storage.Config{Driver: cfg.Storage.Driver, DSN: cfg.Storage.DSN}, zerolog.Nop())
	if err != nil {
		return nil, fmt.Errorf("e2e: open storage: %w", err)
	}
	client := safehttp.NewClient(safehttp.Config{AllowPrivateNetworks: cfg.Federation.AllowPrivateNetworks, Timeout: 5 * time.Second})
	fed, err := federation.New(ctx, federation.Settings{
		BaseURL:    cfg.Server.BaseURL(),
		Federation: cfg.Federation,
		Accounts:   cfg.Accounts,
		ConfigDir:  filepath.Dir(cfgPath),
		Version:    "e2e",
	}, store, client, zerolog.Nop())
	if err != nil {
		store.Close()
		return nil, fmt.Errorf("e2e: %w", err)
	}
	set := publish.Settings{HandleDomain: cfg.HandleDomain(), MediaDir: filepath.Join(filepath.Dir(cfgPath), "media")}
	return &Publisher{Store: store, Fed: fed, pub: publish.New(set, store, fed, zerolog.Nop())}, nil
}

// Close closes the database.
func (p *Publisher) Close() error { return p.Store.Close() }

// Post publishes a public text post of account and returns its id.
func (p *Publisher) Post(ctx context.Context, account, text string) (int64, error) {
	st, err := p.pub.Create(ctx, account, publish.Draft{Text: text})
	if err != nil {
		return 0, fmt.Errorf("e2e: publish: %w", err)
	}
	return st.ID, nil
}

// NoteID is the id of the Note of post id.
func (p *Publisher) NoteID(account string, id int64) string { return p.Fed.Links().Note(account, id) }

// Stats returns the delivery statistics of post id (one job per server
// reached) and whether its fan-out is still queued.
func (p *Publisher) Stats(ctx context.Context, id int64) (storage.RefStats, bool, error) {
	return p.pub.DeliveryStats(ctx, id)
}

// RunningJobs counts the jobs leased by a worker right now.
func (p *Publisher) RunningJobs(ctx context.Context) (int64, error) {
	st, err := p.Store.JobStats(ctx, time.Now())
	return st.Running, err
}

// Follower describes an accepted follower to insert.
type Follower struct {
	ActorID, Inbox, SharedInbox string
}

// InsertFollowers makes the given actors accepted followers of account,
// 500 per transaction.
func (p *Publisher) InsertFollowers(ctx context.Context, account string, fs []Follower) error {
	now := time.Now()
	for len(fs) > 0 {
		page := fs[:min(len(fs), 500)]
		fs = fs[len(page):]
		err := p.Store.InTx(ctx, func(q storage.Queries) error {
			for i, f := range page {
				_, err := q.UpsertFollower(ctx, storage.Follower{
					Account: account, ActorID: f.ActorID, Inbox: f.Inbox, SharedInbox: f.SharedInbox,
					FollowActivityID: f.ActorID + "#follow-" + strconv.Itoa(i),
					State:            storage.FollowerAccepted, CreatedAt: now, AcceptedAt: now,
				})
				if err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("e2e: insert followers: %w", err)
		}
	}
	return nil
}
