package pgstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migration is one embedded SQL file, named NNNN_what.sql, rendered for a schema and prefix.
type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations renders every embedded migration for n, in version order.
func loadMigrations(n names) ([]migration, error) {
	files, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{
		"t":    n.table,
		"n":    n.ident,
		"kept": func() int { return store.SpentRefreshKept },
	}
	var out []migration
	for _, f := range files {
		base := path.Base(f)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pgstore: migration %s: name must start with a positive version number", base)
		}
		src, err := migrationFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		tmpl, err := template.New(base).Funcs(funcs).Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("pgstore: migration %s: %w", base, err)
		}
		var b strings.Builder
		if err := tmpl.Execute(&b, nil); err != nil {
			return nil, fmt.Errorf("pgstore: migration %s: %w", base, err)
		}
		out = append(out, migration{version: v, name: strings.TrimSuffix(base, ".sql"), sql: b.String()})
	}
	slices.SortFunc(out, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("pgstore: two migrations with version %d", out[i].version)
		}
	}
	return out, nil
}

// Migrate brings the schema up to date: it creates the schema if it is missing and applies,
// in order, every embedded migration not yet recorded in the <prefix>schema_migrations
// table. It is safe to call from many instances at once: they serialize on a transaction-
// scoped advisory lock keyed on the schema and prefix, and the first one applies what is
// pending while the others, once they get the lock, find nothing to do. All pending
// migrations run in one transaction, so a failure leaves the schema as it was.
//
// New calls Migrate unless WithMigrate(false) is given.
func (s *Store) Migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	// pg_advisory_xact_lock rather than pg_advisory_lock: it is released by the commit or
	// the rollback, so an instance that dies mid-migration can never leave the lock held
	// on a pooled connection.
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.n.lockKey()); err != nil {
		return fmt.Errorf("pgstore: migrate: lock: %w", err)
	}
	// CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege on the database even when the
	// schema exists, so ask first.
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", s.n.schema).Scan(&exists); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if !exists {
		if _, err := tx.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{s.n.schema}.Sanitize()); err != nil {
			return fmt.Errorf("pgstore: migrate: create schema %s: %w", s.n.schema, err)
		}
	}
	table := s.n.table("schema_migrations")
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
		version    integer PRIMARY KEY,
		name       text NOT NULL,
		applied_at timestamptz NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	rows, err := tx.Query(ctx, "SELECT version FROM "+table)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	latest := 0
	for _, v := range applied {
		latest = max(latest, v)
	}
	if known := s.migrations[len(s.migrations)-1].version; latest > known {
		// A newer release migrated this schema (a rolling upgrade, say). Migrations are
		// additive, so this release keeps working; say so rather than fail.
		s.log.Warn("pgstore: the schema is newer than this release", "schema", s.n.schema, "prefix", s.n.prefix, "version", latest, "known", known)
	}
	var done []migration
	for _, m := range s.migrations {
		if slices.Contains(applied, m.version) {
			continue
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("pgstore: migration %s: %w", m.name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+table+" (version, name) VALUES ($1, $2)", m.version, m.name); err != nil {
			return fmt.Errorf("pgstore: migration %s: %w", m.name, err)
		}
		done = append(done, m)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: commit: %w", err)
	}
	for _, m := range done {
		s.log.Info("pgstore: applied migration", "schema", s.n.schema, "prefix", s.n.prefix, "migration", m.name)
	}
	return nil
}
