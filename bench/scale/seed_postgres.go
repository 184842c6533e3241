package scale

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"
)

// SeedPostgres copies users lo..hi-1 of d into the PostgreSQL store's tables (schema, prefix; created by the
// store's migrations, stores/postgres/migrations) with COPY: users and sessions side by
// side, each session with its refresh family in its row. It then ANALYZEs
// the tables, as autovacuum would have done long before a deployment held this much.
func SeedPostgres(ctx context.Context, pool *pgxpool.Pool, schema, prefix string, d *Dataset, lo, hi int) error {
	table := func(name string) pgx.Identifier { return pgx.Identifier{schema, prefix + name} }
	g, gctx := errgroup.WithContext(ctx)
	if !d.Expired {
		g.Go(func() error {
			_, err := pool.CopyFrom(gctx, table("users"),
				[]string{"id", "username", "password_hash", "roles", "created_at", "updated_at"},
				pgx.CopyFromFunc(rows(lo, hi, func(i int) []any {
					u := d.User(i)
					return []any{u.ID, u.Username, u.PasswordHash, u.Roles, u.CreatedAt, u.UpdatedAt}
				})))
			if err != nil {
				return fmt.Errorf("copy users: %w", err)
			}
			return nil
		})
	}
	g.Go(func() error {
		// Each session's refresh family in its row, as the store keeps one (schema
		// version 10).
		_, err := pool.CopyFrom(gctx, table("sessions"),
			[]string{"id", "user_id", "username", "roles", "kind", "csrf_hash", "user_agent", "ip", "created_at",
				"last_seen_at", "idle_timeout", "expires_at", "deadline", "refresh_live", "refresh_spent"},
			pgx.CopyFromFunc(rows(lo, hi, func(i int) []any {
				s := d.Session(i)
				r := d.Refresh(i)
				live, spent := [][]byte{r.Hash}, [][]byte{}
				if r.Spent {
					live, spent = spent, live
				}
				return []any{s.ID, s.UserID, s.Username, s.Roles, s.Kind, s.CSRFHash, s.UserAgent, s.IP, s.CreatedAt,
					s.LastSeenAt, s.IdleTimeout, s.ExpiresAt, s.Deadline(), live, spent}
			})))
		if err != nil {
			return fmt.Errorf("copy sessions: %w", err)
		}
		return nil
	})
	if err := g.Wait(); err != nil {
		return err
	}
	for _, t := range []string{"users", "sessions", "refresh_tokens"} {
		if _, err := pool.Exec(ctx, "ANALYZE "+table(t).Sanitize()); err != nil {
			return fmt.Errorf("analyze %s: %w", t, err)
		}
	}
	return nil
}

// rows feeds COPY the rows lo..hi-1.
func rows(lo, hi int, row func(i int) []any) func() ([]any, error) {
	i := lo
	return func() ([]any, error) {
		if i == hi {
			return nil, nil
		}
		r := row(i)
		i++
		return r, nil
	}
}
