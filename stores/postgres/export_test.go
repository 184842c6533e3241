package pgstore

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Test helpers for the external test package (guard_test.go).

func SharedPool(t testing.TB) *pgxpool.Pool { return testPool(t) }

func FreshSchema(t testing.TB, p *pgxpool.Pool) string { return freshSchema(t, p) }

func OpenStore(t testing.TB, p *pgxpool.Pool, opts ...Option) *Store { return openStore(t, p, opts...) }
