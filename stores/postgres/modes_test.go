package pgstore

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authframe/authframe/core/store"
	"github.com/authframe/authframe/core/storetest"
)

// The pool is the application's, and so is its query mode: behind PgBouncer in
// transaction mode, say, it cannot use prepared statements. The store must work in every
// mode pgx offers, not only the default statement cache.
func TestConformanceInEveryQueryExecMode(t *testing.T) {
	base := testPool(t).Config()
	for _, mode := range []pgx.QueryExecMode{
		pgx.QueryExecModeCacheDescribe,
		pgx.QueryExecModeDescribeExec,
		pgx.QueryExecModeExec,
		pgx.QueryExecModeSimpleProtocol,
	} {
		t.Run(mode.String(), func(t *testing.T) {
			t.Parallel()
			cfg := base.Copy()
			cfg.MaxConns = 8
			cfg.ConnConfig.DefaultQueryExecMode = mode
			p, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(p.Close)
			storetest.Run(t, func(t *testing.T) store.Store {
				return openStore(t, p, WithSchema(freshSchema(t, p)))
			})
		})
	}
}
