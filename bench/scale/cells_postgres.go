package scale

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authframe/authframe/core/store"
)

// PostgresBenches are the PostgreSQL store's cells over d, already seeded in schema with
// tables prefix*. The raw side is the plainest pgx statement serving each operation on the
// same pool: the session row by primary key; for the rotation, which must commit a write,
// one UPDATE of a session row by primary key; the revocations at or after a time; and an
// upsert of a counter.
//
// Two diagnostics of the rotation: small is the same store over a pool of pgxpool's
// default size (four connections on this machine), a check of the pool; legacy is the
// store keeping families in the refresh_tokens table, as releases before schema version 10
// did (pgstore.WithLegacyRefreshFamilies), rotating families moved there for it.
func PostgresBenches(ctx context.Context, st, small, legacy store.Store, pool *pgxpool.Pool, schema, prefix string, d *Dataset) ([]Bench, error) {
	table := func(name string) string { return pgx.Identifier{schema, prefix + name}.Sanitize() }
	n := d.N
	ids := make([]string, n)
	for i := range ids {
		ids[i] = d.SessionID(i)
	}
	rf := newRevocationFixture(time.Now(), 1000, 10)
	if err := rf.addTo(ctx, st, 1); err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, "ANALYZE "+table("revocations")); err != nil {
		return nil, err
	}
	selectSession := "SELECT id, user_id, username, roles, kind, csrf_hash, user_agent, ip, created_at, last_seen_at, idle_timeout, expires_at FROM " +
		table("sessions") + " WHERE id = $1"
	updateSession := "UPDATE " + table("sessions") + " SET last_seen_at = $2 WHERE id = $1"
	selectRevocations := "SELECT kind, key, at, expires_at FROM " + table("revocations") + " WHERE at >= $1 ORDER BY at"
	upsertRate := "INSERT INTO " + table("rate_limits") + ` AS r (key, count, reset_at) VALUES ($1, 1, $2)
		ON CONFLICT (key) DO UPDATE SET count = r.count + 1 RETURNING count`
	// The store rotates the first third of the sessions, the diagnostics' raw sides the
	// others; the second third's families move to the table for the legacy store.
	oursRot, legacyRot, smallRot := newRotator(0, n/3), newRotator(n/3, n/3), newRotator(2*n/3, n-2*n/3)
	if _, err := pool.Exec(ctx, `WITH moved AS (
			UPDATE `+table("sessions")+` SET refresh_live = '{}' WHERE id = ANY($1) RETURNING id, created_at
		), old AS (SELECT id, refresh_live[1] AS hash FROM `+table("sessions")+` WHERE id = ANY($1))
		INSERT INTO `+table("refresh_tokens")+` (session_id, hash, spent, created_at)
		SELECT old.id, old.hash, false, moved.created_at FROM old JOIN moved USING (id)`, ids[n/3:2*n/3]); err != nil {
		return nil, fmt.Errorf("move families to the table: %w", err)
	}
	if _, err := pool.Exec(ctx, "ANALYZE "+table("refresh_tokens")); err != nil {
		return nil, err
	}
	keys := rateKeys(10_000)
	pick := picker(n)
	rotate := func(ctx context.Context, k, g int) error {
		_, err := st.RotateRefreshToken(ctx, ids[k], d.RefreshHash(k, g), d.RefreshHash(k, g+1), time.Now())
		return err
	}
	return []Bench{
		{Store: "postgres", Op: OpSessionLookup, RawOp: "SELECT by primary key", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, ok, err := st.GetSession(ctx, ids[pick(w, i)])
					return found(ok, err)
				}, func(ctx context.Context, w, i int) error {
					var s store.Session
					return pool.QueryRow(ctx, selectSession, ids[pick(w, i)]).Scan(&s.ID, &s.UserID, &s.Username, &s.Roles, &s.Kind,
						&s.CSRFHash, &s.UserAgent, &s.IP, &s.CreatedAt, &s.LastSeenAt, &s.IdleTimeout, &s.ExpiresAt)
				}
		}},
		{Store: "postgres", Op: OpRefreshRotation, RawOp: "UPDATE by primary key", Prepare: func(c int) (Op, Op) {
			return oursRot.op(c, rotate), func(ctx context.Context, w, i int) error {
				// The callers' rows are disjoint, as the rotations' are, so neither side
				// waits on another caller's row lock.
				k := w + (i%max(n/c, 1))*c
				_, err := pool.Exec(ctx, updateSession, ids[k%n], time.Now())
				return err
			}
		}},
		{Store: "postgres", Op: OpRefreshRotation, RawOp: "the family in the table (before schema 10)", Diagnostic: true, Prepare: func(c int) (Op, Op) {
			return oursRot.op(c, rotate), legacyRot.op(c, func(ctx context.Context, k, g int) error {
				_, err := legacy.RotateRefreshToken(ctx, ids[k], d.RefreshHash(k, g), d.RefreshHash(k, g+1), time.Now())
				return err
			})
		}},
		{Store: "postgres", Op: OpRefreshRotation, RawOp: "the same store on pgxpool's default pool", Diagnostic: true, Prepare: func(c int) (Op, Op) {
			return oursRot.op(c, rotate), smallRot.op(c, func(ctx context.Context, k, g int) error {
				_, err := small.RotateRefreshToken(ctx, ids[k], d.RefreshHash(k, g), d.RefreshHash(k, g+1), time.Now())
				return err
			})
		}},
		{Store: "postgres", Op: OpRevocationCheck, RawOp: "SELECT by time", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, _, _ int) error {
					rs, err := st.RevocationsSince(ctx, rf.Since)
					return count(len(rs), err, 10)
				}, func(ctx context.Context, _, _ int) error {
					rows, err := pool.Query(ctx, selectRevocations, rf.Since)
					if err != nil {
						return err
					}
					var r store.Revocation
					var kind string
					got := 0
					_, err = pgx.ForEachRow(rows, []any{&kind, &r.Key, &r.At, &r.ExpiresAt}, func() error { got++; return nil })
					return count(got, err, 10)
				}
		}},
		{Store: "postgres", Op: OpLoginRate, RawOp: "INSERT ON CONFLICT UPDATE", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, _, err := st.Hit(ctx, keys[(w*7919+i)%len(keys)], time.Minute)
					return err
				}, func(ctx context.Context, w, i int) error {
					var n int64
					return pool.QueryRow(ctx, upsertRate, "raw|"+keys[(w*7919+i)%len(keys)], time.Now().Add(time.Minute)).Scan(&n)
				}
		}},
	}, nil
}
