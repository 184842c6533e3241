package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

var _ store.KeyStore = (*Store)(nil)

// keyQueries are the statements of the signing-key ring. They are rendered per call from
// the store's names: rotation reads the ring once a minute or so, and the text is the
// same on every call, so pgx's statement cache still prepares each once.
func (s *Store) keyQueries() (read, bump, clear, insert, acquire, release string) {
	keys, ring, lock := s.n.table("signing_keys"), s.n.table("signing_key_ring"), s.n.table("signing_key_lock")
	read = `SELECT r.version, k.id, k.algorithm, k.state, k.sealed, k.created_at, k.active_at, k.retired_at, k.expires_at
		FROM ` + ring + ` r LEFT JOIN ` + keys + ` k ON true ORDER BY k.created_at, k.id`
	bump = `UPDATE ` + ring + ` SET version = version + 1 WHERE id AND version = $1 RETURNING version`
	clear = `DELETE FROM ` + keys
	insert = `INSERT INTO ` + keys + ` (id, algorithm, state, sealed, created_at, active_at, retired_at, expires_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bytea[], $5::timestamptz[], $6::timestamptz[], $7::timestamptz[], $8::timestamptz[])`
	// A lease is taken when there is none, when it has run out, or by its holder (which
	// extends it); the row lock of ON CONFLICT makes two takers wait for each other, and
	// the second then sees the first's lease.
	acquire = `INSERT INTO ` + lock + ` AS l (id, owner, expires_at) VALUES (true, $1, clock_timestamp() + $2 * interval '1 millisecond')
		ON CONFLICT (id) DO UPDATE SET owner = EXCLUDED.owner, expires_at = EXCLUDED.expires_at
		WHERE l.expires_at <= clock_timestamp() OR l.owner = EXCLUDED.owner
		RETURNING true`
	release = `DELETE FROM ` + lock + ` WHERE owner = $1`
	return
}

// SigningKeys implements store.KeyStore: one statement, so one snapshot of the ring and
// its version.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, int64, error) {
	read, _, _, _, _, _ := s.keyQueries()
	cl, err := s.begin(ctx, "signing keys", true)
	if err != nil {
		return nil, 0, err
	}
	var out []store.SigningKey
	var version int64
	rows, err := s.pool.Query(cl.ctx, read)
	if err == nil {
		var (
			id, alg, state                *string
			sealed                        []byte
			created, active, retired, exp *time.Time
		)
		_, err = pgx.ForEachRow(rows, []any{&version, &id, &alg, &state, &sealed, &created, &active, &retired, &exp}, func() error {
			if id == nil {
				return nil // the ring is empty: the join's one row has the version only
			}
			out = append(out, store.SigningKey{ID: *id, Algorithm: *alg, State: store.KeyState(*state), Sealed: sealed,
				CreatedAt: *created, ActiveAt: orZero(active), RetiredAt: orZero(retired), ExpiresAt: orZero(exp)})
			sealed = nil // the next row must not share it
			return nil
		})
	}
	s.end(cl, err)
	if err != nil {
		return nil, 0, wrap("signing keys", err)
	}
	return out, version, nil
}

func orZero(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}

// PutSigningKeys implements store.KeyStore: one transaction that moves the version, if it
// is still version, and replaces every key.
func (s *Store) PutSigningKeys(ctx context.Context, keys []store.SigningKey, version int64) (int64, error) {
	if err := store.ValidateSigningKeys(keys); err != nil {
		return 0, err
	}
	_, bump, clear, insert, _, _ := s.keyQueries()
	n := len(keys)
	ids, algs, states := make([]string, n), make([]string, n), make([]string, n)
	sealed := make([][]byte, n)
	created, active, retired, exp := make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n), make([]*time.Time, n)
	for i, k := range keys {
		ids[i], algs[i], states[i], sealed[i] = k.ID, k.Algorithm, string(k.State), k.Sealed
		c := k.CreatedAt
		created[i], active[i], retired[i], exp[i] = &c, orNull(k.ActiveAt), orNull(k.RetiredAt), orNull(k.ExpiresAt)
	}
	cl, err := s.begin(ctx, "put signing keys", true)
	if err != nil {
		return 0, err
	}
	var next int64
	err = pgx.BeginFunc(cl.ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(cl.ctx, bump, version).Scan(&next); err != nil {
			if errors.Is(err, pgx.ErrNoRows) {
				return store.ErrConflict
			}
			return err
		}
		if _, err := tx.Exec(cl.ctx, clear); err != nil {
			return err
		}
		_, err := tx.Exec(cl.ctx, insert, ids, algs, states, sealed, created, active, retired, exp)
		return err
	})
	if errors.Is(err, store.ErrConflict) {
		s.end(cl, nil)
		return 0, store.ErrConflict
	}
	s.end(cl, err)
	if err != nil {
		return 0, wrap("put signing keys", err)
	}
	return next, nil
}

// AcquireKeyLock implements store.KeyStore: one statement; the lease runs on the
// database's clock.
func (s *Store) AcquireKeyLock(ctx context.Context, owner string, ttl time.Duration) (bool, error) {
	if owner == "" || ttl <= 0 {
		return false, errors.New("pgstore: acquire key lock: an owner and a positive ttl are required")
	}
	_, _, _, _, acquire, _ := s.keyQueries()
	cl, err := s.begin(ctx, "acquire key lock", true)
	if err != nil {
		return false, err
	}
	var ok bool
	err = s.pool.QueryRow(cl.ctx, acquire, owner, max(ttl.Milliseconds(), 1)).Scan(&ok)
	if errors.Is(err, pgx.ErrNoRows) {
		err = nil // held by another owner
	}
	s.end(cl, err)
	if err != nil {
		return false, wrap("acquire key lock", err)
	}
	return ok, nil
}

// ReleaseKeyLock implements store.KeyStore.
func (s *Store) ReleaseKeyLock(ctx context.Context, owner string) error {
	_, _, _, _, _, release := s.keyQueries()
	cl, err := s.begin(ctx, "release key lock", true)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(cl.ctx, release, owner)
	s.end(cl, err)
	if err != nil {
		return wrap("release key lock", err)
	}
	return nil
}
