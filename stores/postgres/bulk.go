package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

// maxBulkUsers bounds one CreateUsers call, so that one statement's document stays far
// below PostgreSQL's limits and one call holds a connection for a bounded time.
const maxBulkUsers = 10000

// bulkUser is a user as CreateUsers sends it, one element of a JSON document that the
// statement reads with jsonb_to_recordset.
type bulkUser struct {
	ID           string   `json:"id"`
	Username     string   `json:"username"`
	PasswordHash string   `json:"password_hash"`
	Roles        []string `json:"roles"`
	CreatedAt    string   `json:"created_at"`
	UpdatedAt    string   `json:"updated_at"`
	Disabled     bool     `json:"disabled"`
}

// micro formats t at the precision of timestamptz, truncated as the single-row statements
// store it, so that a user written in bulk reads back exactly as one written alone.
func micro(t time.Time) string { return t.UTC().Truncate(time.Microsecond).Format(time.RFC3339Nano) }

// CreateUsers stores users in one statement and returns the ids of those it inserted, in
// the order given. A user whose id or username is already taken is left out, not an error:
// CreateUsers is the bulk path of a copy or an import that may be run again after an
// interruption, and the caller reads the others back (GetUser) to tell a record copied
// before from a real conflict. At most 10000 users per call.
func (s *Store) CreateUsers(ctx context.Context, users []store.User) ([]string, error) {
	if len(users) == 0 {
		return nil, nil
	}
	if len(users) > maxBulkUsers {
		return nil, wrap("create users", fmt.Errorf("%d users in one call, at most %d", len(users), maxBulkUsers))
	}
	doc := make([]bulkUser, len(users))
	for i, u := range users {
		roles := u.Roles
		if roles == nil {
			roles = []string{}
		}
		doc[i] = bulkUser{ID: u.ID, Username: u.Username, PasswordHash: u.PasswordHash, Roles: roles, CreatedAt: micro(u.CreatedAt), UpdatedAt: micro(u.UpdatedAt), Disabled: u.Disabled}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, wrap("create users", err)
	}
	c, err := s.begin(ctx, "create users", false)
	if err != nil {
		return nil, err
	}
	var ids []string
	rows, err := s.pool.Query(c.ctx, s.q.createUsers, b)
	if err == nil {
		ids, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	s.end(c, err)
	if err != nil {
		return nil, wrap("create users", err)
	}
	// RETURNING gives no order: give the caller the order it sent.
	inserted := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		inserted[id] = struct{}{}
	}
	out := make([]string, 0, len(ids))
	for _, u := range users {
		if _, ok := inserted[u.ID]; ok {
			out = append(out, u.ID)
			delete(inserted, u.ID)
		}
	}
	return out, nil
}

// SchemaVersion reports the state of the schema's migrations: the versions applied (in
// order) and the names of the migrations embedded in this release that are not applied
// yet. It only reads: a schema never migrated has nothing applied and everything pending.
// A version applied but unknown here was applied by a newer release.
func (s *Store) SchemaVersion(ctx context.Context) (applied []int, pending []string, err error) {
	table := s.n.table("schema_migrations")
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return nil, nil, wrap("schema version", err)
	}
	if exists {
		rows, err := s.pool.Query(ctx, "SELECT version FROM "+table+" ORDER BY version")
		if err != nil {
			return nil, nil, wrap("schema version", err)
		}
		if applied, err = pgx.CollectRows(rows, pgx.RowTo[int]); err != nil {
			return nil, nil, wrap("schema version", err)
		}
	}
	for _, m := range s.migrations {
		if !slices.Contains(applied, m.version) {
			pending = append(pending, m.name)
		}
	}
	return applied, pending, nil
}
