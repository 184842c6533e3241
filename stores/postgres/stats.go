package pgstore

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authframe/authframe/core/store"
)

// Stats implements store.StatsReporter in one query. Its counts scan the live rows, so
// call it at the pace of a metrics scrape, not per request; only the caller's context
// bounds it.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	c, err := s.begin(ctx, "stats", false)
	if err != nil {
		return store.Stats{}, err
	}
	var st store.Stats
	err = s.pool.QueryRow(c.ctx, s.q.stats, s.now()).Scan(&st.Users, &st.LiveSessions, &st.LiveFamilies, &st.Revocations)
	s.end(c, err)
	if err != nil {
		return store.Stats{}, wrap("stats", err)
	}
	return st, nil
}

var errLimit = errors.New("limit must be positive")

// ExportUsers implements store.Exporter, in id order (bytewise).
func (s *Store) ExportUsers(ctx context.Context, cursor string, limit int) ([]store.User, string, error) {
	if limit <= 0 {
		return nil, "", wrap("export users", errLimit)
	}
	c, err := s.begin(ctx, "export users", false)
	if err != nil {
		return nil, "", err
	}
	var users []store.User
	rows, err := s.pool.Query(c.ctx, s.q.exportUsers, cursor, limit)
	if err == nil {
		users, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.User, error) { return scanUser(row) })
	}
	s.end(c, err)
	if err != nil {
		return nil, "", wrap("export users", err)
	}
	next := ""
	if len(users) == limit {
		next = users[len(users)-1].ID
	}
	return users, next, nil
}

// ExportSessions implements store.Exporter: the live sessions in id order (bytewise).
func (s *Store) ExportSessions(ctx context.Context, cursor string, limit int) ([]store.Session, string, error) {
	if limit <= 0 {
		return nil, "", wrap("export sessions", errLimit)
	}
	c, err := s.begin(ctx, "export sessions", false)
	if err != nil {
		return nil, "", err
	}
	var sessions []store.Session
	rows, err := s.pool.Query(c.ctx, s.q.exportSessions, cursor, s.now(), limit)
	if err == nil {
		sessions, err = collectSessions(rows)
	}
	s.end(c, err)
	if err != nil {
		return nil, "", wrap("export sessions", err)
	}
	next := ""
	if len(sessions) == limit {
		next = sessions[len(sessions)-1].ID
	}
	return sessions, next, nil
}

// ExportRefreshTokens implements store.Exporter: every token of a live session's family,
// the spent ones it keeps included. A family in the refresh_tokens table comes in hash
// order with its creation times; a family in the session row (schema version 10) keeps no
// creation times (zero) and comes in the order its tokens were spent, then the unspent.
func (s *Store) ExportRefreshTokens(ctx context.Context, sessionID string) ([]store.RefreshToken, error) {
	c, err := s.begin(ctx, "export refresh tokens", false)
	if err != nil {
		return nil, err
	}
	var out []store.RefreshToken
	rows, err := s.pool.Query(c.ctx, s.q.exportRefresh, sessionID, s.now())
	if err == nil {
		var t store.RefreshToken
		var created *time.Time
		_, err = pgx.ForEachRow(rows, []any{&t.Hash, &t.Spent, &created}, func() error {
			t.SessionID, t.CreatedAt = sessionID, time.Time{}
			if created != nil {
				t.CreatedAt = *created
			}
			out = append(out, t)
			t.Hash = nil
			return nil
		})
	}
	s.end(c, err)
	if err != nil {
		return nil, wrap("export refresh tokens", err)
	}
	return out, nil
}
