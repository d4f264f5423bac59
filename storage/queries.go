package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// queries implements Queries, on the pools or inside a transaction.
type queries struct {
	d *dialect
	w runner // writes
	r runner // reads
}

func (q *queries) GetKeyPair(ctx context.Context, owner string) (KeyPair, error) {
	kp := KeyPair{Owner: owner}
	var created int64
	err := q.r.queryRow(ctx,
		`SELECT private_key, public_key, created_at FROM key_pairs WHERE owner = ?`, owner,
	).Scan(&kp.PrivateKey, &kp.PublicKey, &created)
	if err != nil {
		return KeyPair{}, q.d.wrap(fmt.Sprintf("get key pair %q", owner), err)
	}
	kp.CreatedAt = time.UnixMicro(created).UTC()
	return kp, nil
}

// InsertKeyPair stores kp; a zero CreatedAt means now.
func (q *queries) InsertKeyPair(ctx context.Context, kp KeyPair) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO key_pairs (owner, private_key, public_key, created_at) VALUES (?, ?, ?, ?)`,
		kp.Owner, kp.PrivateKey, kp.PublicKey, orNow(kp.CreatedAt).UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("insert key pair %q", kp.Owner), err)
	}
	return nil
}

func (q *queries) MarkActivityProcessed(ctx context.Context, actor, id string, at time.Time) (bool, error) {
	n, err := q.w.execN(ctx,
		`INSERT INTO processed_activities (actor, id, received_at) VALUES (?, ?, ?) ON CONFLICT (actor, id) DO NOTHING`,
		actor, id, at.UnixMicro())
	if err != nil {
		return false, q.d.wrap("mark activity processed", err)
	}
	return n == 1, nil
}

const followerColumns = `account, actor_id, inbox, shared_inbox, follow_activity_id, state, created_at, accepted_at`

func scanFollower(s scanner) (Follower, error) {
	var (
		f        Follower
		created  int64
		accepted sql.NullInt64
	)
	err := s.Scan(&f.Account, &f.ActorID, &f.Inbox, &f.SharedInbox, &f.FollowActivityID, &f.State, &created, &accepted)
	f.CreatedAt = time.UnixMicro(created).UTC()
	f.AcceptedAt = fromMicros(accepted)
	return f, err
}

// UpsertFollower inserts or updates f; a zero CreatedAt means now.
func (q *queries) UpsertFollower(ctx context.Context, f Follower) (bool, error) {
	action := fmt.Sprintf("upsert follower %q of %q", f.ActorID, f.Account)
	// Insert-or-nothing then update, rather than one upsert statement,
	// because neither backend tells portably whether ON CONFLICT DO UPDATE
	// inserted. A follower deleted between the two statements makes the
	// update miss; trying again then inserts it.
	for range 3 {
		n, err := q.w.execN(ctx,
			`INSERT INTO followers (`+followerColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			 ON CONFLICT (account, actor_id) DO NOTHING`,
			f.Account, f.ActorID, f.Inbox, f.SharedInbox, f.FollowActivityID, f.State,
			orNow(f.CreatedAt).UnixMicro(), micros(f.AcceptedAt))
		if err != nil {
			return false, q.d.wrap(action, err)
		}
		if n == 1 {
			return true, nil
		}
		n, err = q.w.execN(ctx,
			`UPDATE followers SET inbox = ?, shared_inbox = ?, follow_activity_id = ?, state = ?,
			        accepted_at = COALESCE(accepted_at, ?)
			 WHERE account = ? AND actor_id = ?`,
			f.Inbox, f.SharedInbox, f.FollowActivityID, f.State, micros(f.AcceptedAt), f.Account, f.ActorID)
		if err != nil {
			return false, q.d.wrap(action, err)
		}
		if n == 1 {
			return false, nil
		}
	}
	return false, q.d.wrap(action, fmt.Errorf("row keeps changing concurrently"))
}

func (q *queries) GetFollower(ctx context.Context, account, actorID string) (Follower, error) {
	f, err := scanFollower(q.r.queryRow(ctx,
		`SELECT `+followerColumns+` FROM followers WHERE account = ? AND actor_id = ?`, account, actorID))
	if err != nil {
		return Follower{}, q.d.wrap(fmt.Sprintf("get follower %q of %q", actorID, account), err)
	}
	return f, nil
}

// SetFollowerState sets the state. Accepting records at as AcceptedAt
// unless already set; any other state clears AcceptedAt.
func (q *queries) SetFollowerState(ctx context.Context, account, actorID, state string, at time.Time) error {
	var (
		n   int64
		err error
	)
	if state == FollowerAccepted {
		n, err = q.w.execN(ctx,
			`UPDATE followers SET state = ?, accepted_at = COALESCE(accepted_at, ?)
			 WHERE account = ? AND actor_id = ?`, state, at.UnixMicro(), account, actorID)
	} else {
		n, err = q.w.execN(ctx,
			`UPDATE followers SET state = ?, accepted_at = NULL WHERE account = ? AND actor_id = ?`,
			state, account, actorID)
	}
	if err == nil && n == 0 {
		err = ErrNotFound
	}
	if err != nil {
		return q.d.wrap(fmt.Sprintf("set state of follower %q of %q", actorID, account), err)
	}
	return nil
}

func (q *queries) DeleteFollower(ctx context.Context, account, actorID string) (bool, error) {
	n, err := q.w.execN(ctx, `DELETE FROM followers WHERE account = ? AND actor_id = ?`, account, actorID)
	if err != nil {
		return false, q.d.wrap(fmt.Sprintf("delete follower %q of %q", actorID, account), err)
	}
	return n > 0, nil
}

func (q *queries) DeleteFollowerEverywhere(ctx context.Context, actorID string) (int64, error) {
	n, err := q.w.execN(ctx, `DELETE FROM followers WHERE actor_id = ?`, actorID)
	if err != nil {
		return 0, q.d.wrap(fmt.Sprintf("delete follower %q everywhere", actorID), err)
	}
	return n, nil
}

func (q *queries) CountFollowers(ctx context.Context, account, state string) (int64, error) {
	var row scanner
	if state == "" {
		row = q.r.queryRow(ctx, `SELECT COUNT(*) FROM followers WHERE account = ?`, account)
	} else {
		row = q.r.queryRow(ctx, `SELECT COUNT(*) FROM followers WHERE account = ? AND state = ?`, account, state)
	}
	var n int64
	if err := row.Scan(&n); err != nil {
		return 0, q.d.wrap(fmt.Sprintf("count followers of %q", account), err)
	}
	return n, nil
}

func (q *queries) ListFollowers(ctx context.Context, account, state, after string, limit int) ([]Follower, error) {
	if limit <= 0 {
		return nil, nil
	}
	var (
		rows *sql.Rows
		err  error
	)
	if state == "" {
		rows, err = q.r.query(ctx,
			`SELECT `+followerColumns+` FROM followers WHERE account = ? AND actor_id > ?
			 ORDER BY actor_id LIMIT ?`, account, after, limit)
	} else {
		rows, err = q.r.query(ctx,
			`SELECT `+followerColumns+` FROM followers WHERE account = ? AND state = ? AND actor_id > ?
			 ORDER BY actor_id LIMIT ?`, account, state, after, limit)
	}
	if err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list followers of %q", account), err)
	}
	defer rows.Close()
	var out []Follower
	for rows.Next() {
		f, err := scanFollower(rows)
		if err != nil {
			return nil, q.d.wrap(fmt.Sprintf("list followers of %q", account), err)
		}
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, q.d.wrap(fmt.Sprintf("list followers of %q", account), err)
	}
	return out, nil
}

const remoteActorColumns = `id, inbox, shared_inbox, preferred_username, fetched_at`

func scanRemoteActor(s scanner) (RemoteActor, error) {
	var (
		a       RemoteActor
		fetched int64
	)
	err := s.Scan(&a.ID, &a.Inbox, &a.SharedInbox, &a.PreferredUsername, &fetched)
	a.FetchedAt = time.UnixMicro(fetched).UTC()
	return a, err
}

func (q *queries) UpsertRemoteActor(ctx context.Context, a RemoteActor) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO remote_actors (`+remoteActorColumns+`) VALUES (?, ?, ?, ?, ?)
		 ON CONFLICT (id) DO UPDATE SET inbox = excluded.inbox, shared_inbox = excluded.shared_inbox,
		   preferred_username = excluded.preferred_username, fetched_at = excluded.fetched_at`,
		a.ID, a.Inbox, a.SharedInbox, a.PreferredUsername, a.FetchedAt.UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("upsert remote actor %q", a.ID), err)
	}
	return nil
}

func (q *queries) GetRemoteActor(ctx context.Context, id string) (RemoteActor, error) {
	a, err := scanRemoteActor(q.r.queryRow(ctx,
		`SELECT `+remoteActorColumns+` FROM remote_actors WHERE id = ?`, id))
	if err != nil {
		return RemoteActor{}, q.d.wrap(fmt.Sprintf("get remote actor %q", id), err)
	}
	return a, nil
}

// DeleteRemoteActor forgets a cached actor and its keys; deleting an
// absent one is not an error.
func (q *queries) DeleteRemoteActor(ctx context.Context, id string) error {
	if _, err := q.w.exec(ctx, `DELETE FROM remote_keys WHERE owner = ?`, id); err != nil {
		return q.d.wrap(fmt.Sprintf("delete keys of remote actor %q", id), err)
	}
	if _, err := q.w.exec(ctx, `DELETE FROM remote_actors WHERE id = ?`, id); err != nil {
		return q.d.wrap(fmt.Sprintf("delete remote actor %q", id), err)
	}
	return nil
}

const remoteKeyColumns = `key_id, owner, public_key_pem, fetched_at`

func (q *queries) UpsertRemoteKey(ctx context.Context, k RemoteKey) error {
	_, err := q.w.exec(ctx,
		`INSERT INTO remote_keys (`+remoteKeyColumns+`) VALUES (?, ?, ?, ?)
		 ON CONFLICT (key_id) DO UPDATE SET owner = excluded.owner,
		   public_key_pem = excluded.public_key_pem, fetched_at = excluded.fetched_at`,
		k.KeyID, k.Owner, k.PublicKeyPEM, k.FetchedAt.UnixMicro())
	if err != nil {
		return q.d.wrap(fmt.Sprintf("upsert remote key %q", k.KeyID), err)
	}
	return nil
}

func (q *queries) GetRemoteKey(ctx context.Context, keyID string) (RemoteKey, error) {
	var (
		k       RemoteKey
		fetched int64
	)
	err := q.r.queryRow(ctx, `SELECT `+remoteKeyColumns+` FROM remote_keys WHERE key_id = ?`, keyID).
		Scan(&k.KeyID, &k.Owner, &k.PublicKeyPEM, &fetched)
	if err != nil {
		return RemoteKey{}, q.d.wrap(fmt.Sprintf("get remote key %q", keyID), err)
	}
	k.FetchedAt = time.UnixMicro(fetched).UTC()
	return k, nil
}

// enqueueChunk is how many jobs one INSERT of EnqueueJobs adds (9
// parameters each: far under SQLite's and PostgreSQL's limits).
const enqueueChunk = 100

func (q *queries) EnqueueJobs(ctx context.Context, js []NewJob) (int64, error) {
	now := time.Now().UnixMicro()
	var added int64
	for len(js) > 0 {
		chunk := js[:min(len(js), enqueueChunk)]
		js = js[len(chunk):]
		var b strings.Builder
		b.WriteString(`INSERT INTO jobs (kind, payload, job_key, host, ref, status, attempts, run_at, created_at, lease_owner, last_error, activity_id) VALUES `)
		args := make([]any, 0, 8*len(chunk))
		for i, j := range chunk {
			if j.Kind == "" {
				return added, q.d.wrap("enqueue jobs", fmt.Errorf("empty kind"))
			}
			var key any // NULL when empty, so that keyless jobs never collide
			if j.Key != "" {
				key = j.Key
			}
			payload := j.Payload
			if payload == nil {
				payload = []byte{}
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(`(?, ?, ?, ?, ?, 'pending', 0, ?, ?, '', '', ?)`)
			args = append(args, j.Kind, payload, key, j.Host, j.Ref, orNow(j.RunAt).UnixMicro(), now, nullID(j.ActivityID))
		}
		b.WriteString(` ON CONFLICT (job_key) DO NOTHING`)
		n, err := q.w.execN(ctx, b.String(), args...)
		if err != nil {
			return added, q.d.wrap(fmt.Sprintf("enqueue %d jobs", len(chunk)), err)
		}
		added += n
	}
	return added, nil
}

func (q *queries) EnqueueJob(ctx context.Context, j NewJob) (int64, error) {
	action := fmt.Sprintf("enqueue %q job", j.Kind)
	if j.Kind == "" {
		return 0, q.d.wrap(action, fmt.Errorf("empty kind"))
	}
	var key any // NULL when empty, so that keyless jobs never collide
	if j.Key != "" {
		key = j.Key
	}
	payload := j.Payload
	if payload == nil {
		payload = []byte{}
	}
	now := time.Now()
	// With a key, a conflict inserts nothing and returns no row: then read
	// the existing id. A job pruned in between makes that read miss; trying
	// again then inserts it.
	for range 3 {
		var id int64
		err := q.w.queryRow(ctx,
			`INSERT INTO jobs (kind, payload, job_key, host, ref, status, attempts, run_at, created_at, lease_owner, last_error, activity_id)
			 VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, '', '', ?)
			 ON CONFLICT (job_key) DO NOTHING RETURNING id`,
			j.Kind, payload, key, j.Host, j.Ref, orNow(j.RunAt).UnixMicro(), now.UnixMicro(), nullID(j.ActivityID),
		).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) || key == nil {
			return 0, q.d.wrap(action, err)
		}
		err = q.w.queryRow(ctx, `SELECT id FROM jobs WHERE job_key = ?`, key).Scan(&id)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, q.d.wrap(action, err)
		}
	}
	return 0, q.d.wrap(action, fmt.Errorf("job key %q keeps changing concurrently", j.Key))
}
