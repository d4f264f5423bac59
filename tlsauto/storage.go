package tlsauto

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/rs/zerolog"

	"github.com/passerelle/passerelle/storage"
)

// Lock timing defaults of Storage.
const (
	// DefaultLockTTL is how long a lock outlives its last renewal: a
	// replica that crashed while holding a lock blocks the others that
	// long at most.
	DefaultLockTTL = time.Minute
	// DefaultLockPoll is how often Lock retries a lock held elsewhere.
	DefaultLockPoll = time.Second
)

// keyPrefix keeps certmagic's keys apart from other users of the KV store.
const keyPrefix = "certmagic/"

// Storage is a certmagic.Storage on the database (storage.KV): every
// replica sharing the database shares certificates, keys, OCSP staples and
// the ACME account, and their locks. Locks expire DefaultLockTTL after
// their last renewal; a held lock is renewed in the background until
// Unlock, so a crashed replica's lock is taken over a minute later.
type Storage struct {
	kv    storage.KV
	owner string // this process, in lock tokens
	log   zerolog.Logger
	now   func() time.Time
	ttl   time.Duration
	poll  time.Duration

	mu   sync.Mutex
	held map[string]*heldLock // lock name -> the lock this process holds
}

// heldLock is a lock this process holds, with its renewal goroutine.
type heldLock struct {
	token string
	stop  chan struct{}
	done  chan struct{}
}

var (
	_ certmagic.Storage   = (*Storage)(nil)
	_ certmagic.TryLocker = (*Storage)(nil)
)

// NewStorage returns a certmagic.Storage on kv.
func NewStorage(kv storage.KV, log zerolog.Logger) *Storage {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return &Storage{
		kv:    kv,
		owner: host + "-" + strconv.Itoa(os.Getpid()) + "-" + hex.EncodeToString(b[:]),
		log:   log,
		now:   time.Now,
		ttl:   DefaultLockTTL,
		poll:  DefaultLockPoll,
		held:  map[string]*heldLock{},
	}
}

// SetLockTiming changes the lock TTL and the polling interval (tests).
func (s *Storage) SetLockTiming(ttl, poll time.Duration) {
	s.ttl, s.poll = ttl, poll
}

// String names the storage in certmagic's logs.
func (s *Storage) String() string { return "passerelle database storage (" + s.owner + ")" }

func dbKey(key string) string { return keyPrefix + strings.Trim(key, "/") }

// notExist wraps fs.ErrNotExist, which certmagic tests for.
func notExist(key string) error {
	return fmt.Errorf("tlsauto: %s: %w", key, fs.ErrNotExist)
}

// Store puts value at key.
func (s *Storage) Store(ctx context.Context, key string, value []byte) error {
	if err := s.kv.PutValue(ctx, dbKey(key), value, s.now()); err != nil {
		return fmt.Errorf("tlsauto: store %s: %w", key, err)
	}
	return nil
}

// Load returns the value at key, or an error wrapping fs.ErrNotExist.
func (s *Storage) Load(ctx context.Context, key string) ([]byte, error) {
	e, err := s.kv.GetValue(ctx, dbKey(key))
	if errors.Is(err, storage.ErrNotFound) {
		return nil, notExist(key)
	}
	if err != nil {
		return nil, fmt.Errorf("tlsauto: load %s: %w", key, err)
	}
	return e.Value, nil
}

// Delete deletes key and, if it is a directory, everything under it.
// Deleting what does not exist is no error.
func (s *Storage) Delete(ctx context.Context, key string) error {
	if _, err := s.kv.DeleteValues(ctx, dbKey(key)); err != nil {
		return fmt.Errorf("tlsauto: delete %s: %w", key, err)
	}
	return nil
}

// Exists reports whether key is a file or a directory.
func (s *Storage) Exists(ctx context.Context, key string) bool {
	_, err := s.Stat(ctx, key)
	return err == nil
}

// List returns the keys under dir: its direct children (files and
// directories), or with recursive every file and directory below it.
func (s *Storage) List(ctx context.Context, dir string, recursive bool) ([]string, error) {
	dir = strings.Trim(dir, "/")
	entries, err := s.kv.ListValues(ctx, strings.TrimSuffix(dbKey(dir), "/"))
	if err != nil {
		return nil, fmt.Errorf("tlsauto: list %s: %w", dir, err)
	}
	if len(entries) == 0 {
		return nil, notExist(dir)
	}
	seen := map[string]bool{}
	var keys []string
	add := func(k string) {
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	for _, e := range entries {
		rel := strings.TrimPrefix(e.Path, dbKey(dir))
		rel = strings.TrimPrefix(rel, "/")
		parts := strings.Split(rel, "/")
		if !recursive {
			parts = parts[:1]
		}
		for i := range parts {
			add(joinKey(dir, strings.Join(parts[:i+1], "/")))
		}
	}
	slices.Sort(keys)
	return keys, nil
}

func joinKey(dir, rel string) string {
	if dir == "" {
		return rel
	}
	return dir + "/" + rel
}

// Stat describes key: a file, or a directory (a prefix of files).
func (s *Storage) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	key = strings.Trim(key, "/")
	e, err := s.kv.StatValue(ctx, dbKey(key))
	switch {
	case err == nil:
		return certmagic.KeyInfo{Key: key, Modified: e.Modified, Size: e.Size, IsTerminal: true}, nil
	case !errors.Is(err, storage.ErrNotFound):
		return certmagic.KeyInfo{}, fmt.Errorf("tlsauto: stat %s: %w", key, err)
	}
	entries, err := s.kv.ListValues(ctx, dbKey(key))
	if err != nil {
		return certmagic.KeyInfo{}, fmt.Errorf("tlsauto: stat %s: %w", key, err)
	}
	if len(entries) == 0 {
		return certmagic.KeyInfo{}, notExist(key)
	}
	info := certmagic.KeyInfo{Key: key, IsTerminal: false}
	for _, e := range entries {
		if e.Modified.After(info.Modified) {
			info.Modified = e.Modified
		}
	}
	return info, nil
}

// Lock takes the named lock, waiting while another process (or goroutine)
// holds it, until ctx ends.
func (s *Storage) Lock(ctx context.Context, name string) error {
	for {
		ok, err := s.TryLock(ctx, name)
		if err != nil || ok {
			return err
		}
		t := time.NewTimer(s.poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("tlsauto: lock %s: %w", name, ctx.Err())
		case <-t.C:
		}
	}
}

// TryLock takes the named lock if it is free (or expired).
func (s *Storage) TryLock(ctx context.Context, name string) (bool, error) {
	var b [8]byte
	_, _ = rand.Read(b[:])
	token := s.owner + "/" + hex.EncodeToString(b[:])
	ok, err := s.kv.AcquireLock(ctx, dbKey(name), token, s.now(), s.ttl)
	if err != nil {
		return false, fmt.Errorf("tlsauto: lock %s: %w", name, err)
	}
	if !ok {
		return false, nil
	}
	h := &heldLock{token: token, stop: make(chan struct{}), done: make(chan struct{})}
	s.mu.Lock()
	s.held[name] = h
	s.mu.Unlock()
	go s.renew(name, h)
	return true, nil
}

// renew keeps a held lock alive until Unlock.
func (s *Storage) renew(name string, h *heldLock) {
	defer close(h.done)
	t := time.NewTicker(s.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), s.ttl/3)
		err := s.kv.RenewLock(ctx, dbKey(name), h.token, s.now(), s.ttl)
		cancel()
		if errors.Is(err, storage.ErrLockNotHeld) {
			s.log.Error().Str("lock", name).Msg("tls: lost a storage lock (taken over after it expired); another replica may repeat this operation")
			return
		}
		if err != nil {
			s.log.Warn().Err(err).Str("lock", name).Msg("tls: cannot renew a storage lock; retrying")
		}
	}
}

// Unlock releases a lock taken by Lock or TryLock.
func (s *Storage) Unlock(ctx context.Context, name string) error {
	s.mu.Lock()
	h := s.held[name]
	delete(s.held, name)
	s.mu.Unlock()
	if h == nil {
		return fmt.Errorf("tlsauto: unlock %s: not locked by this process", name)
	}
	close(h.stop)
	<-h.done
	err := s.kv.ReleaseLock(ctx, dbKey(name), h.token)
	if errors.Is(err, storage.ErrLockNotHeld) {
		// It expired and was taken over: nothing of ours to release.
		s.log.Warn().Str("lock", name).Msg("tls: a storage lock had expired before it was released")
		return nil
	}
	if err != nil {
		return fmt.Errorf("tlsauto: unlock %s: %w", name, err)
	}
	return nil
}
