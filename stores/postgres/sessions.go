package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authframe/authframe/core/store"
)

// sessionDest lists the scan targets of sessionCols for se.
func sessionDest(se *store.Session) []any {
	return []any{&se.ID, &se.UserID, &se.Username, &se.Roles, &se.Kind, &se.CSRFHash, &se.UserAgent,
		&se.IP, &se.CreatedAt, &se.LastSeenAt, &se.IdleTimeout, &se.ExpiresAt, &se.AMR, &se.AuthTime, &se.JKT}
}

// zeroTime is how the sessions table spells an unknown auth_time (see migration 8).
var zeroTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)

// authTime is the auth_time column's value for t: the zero time as zeroTime, in UTC, so
// that it reads back as the zero time whatever the session's time zone.
func authTime(t time.Time) time.Time {
	if t.IsZero() {
		return zeroTime
	}
	return t
}

// CreateSession implements store.SessionStore. An id held by a live session is
// store.ErrConflict; one held by an expired session that the cleanup job has not deleted
// yet is taken over, its old refresh family deleted with it.
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	c, err := s.begin(ctx, "create session", true)
	if err != nil {
		return err
	}
	err = s.createSession(c.ctx, se)
	s.end(c, err)
	switch {
	case err == nil, errors.Is(err, store.ErrConflict):
		return err
	}
	return wrap("create session", err)
}

func (s *Store) createSession(ctx context.Context, se store.Session) error {
	insert := func() error {
		_, err := s.pool.Exec(ctx, s.q.createSession, se.ID, se.UserID, se.Username, se.Roles, se.Kind,
			se.CSRFHash, se.UserAgent, se.IP, se.CreatedAt, se.LastSeenAt, se.IdleTimeout, se.ExpiresAt, se.AMR, authTime(se.AuthTime), se.JKT)
		return err
	}
	err := insert()
	if pgCode(err) != codeUniqueViolation {
		return err
	}
	// Session ids are random, so this path is all but unreachable outside tests. The
	// conditional DELETE removes the old row only if it is expired; whoever inserts next
	// wins, and a loser gets the unique violation again.
	tag, err := s.pool.Exec(ctx, s.q.deleteExpiredSession, se.ID, s.now())
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrConflict
	}
	err = insert()
	if pgCode(err) == codeUniqueViolation {
		return store.ErrConflict
	}
	return err
}

// GetSession implements store.SessionStore. The deadline is checked in the query, so an
// expired session is never returned even before the cleanup job deletes it.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, bool, error) {
	c, err := s.begin(ctx, "get session", true)
	if err != nil {
		return store.Session{}, false, err
	}
	var se store.Session
	err = s.pool.QueryRow(c.ctx, s.q.getSession, id, s.now()).Scan(sessionDest(&se)...)
	s.end(c, err)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return store.Session{}, false, nil
		}
		return store.Session{}, false, wrap("get session", err)
	}
	return se, true, nil
}

// TouchSession implements store.SessionStore. LastSeenAt only moves forward.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	c, err := s.begin(ctx, "touch session", true)
	if err != nil {
		return err
	}
	tag, err := s.pool.Exec(c.ctx, s.q.touchSession, id, lastSeen, s.now())
	s.end(c, err)
	if err != nil {
		return wrap("touch session", err)
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteSession implements store.SessionStore: it deletes the session and, by ON DELETE
// CASCADE, its refresh family. It reports whether the session was live.
func (s *Store) DeleteSession(ctx context.Context, id string) (bool, error) {
	c, err := s.begin(ctx, "delete session", true)
	if err != nil {
		return false, err
	}
	var live bool
	err = s.pool.QueryRow(c.ctx, s.q.deleteSession, id, s.now()).Scan(&live)
	s.end(c, err)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return false, nil
		}
		return false, wrap("delete session", err)
	}
	return live, nil
}

// ListSessions implements store.SessionStore, oldest first.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	c, err := s.begin(ctx, "list sessions", true)
	if err != nil {
		return nil, err
	}
	var out []store.Session
	rows, err := s.pool.Query(c.ctx, s.q.listSessions, userID, s.now())
	if err == nil {
		out, err = collectSessions(rows)
	}
	s.end(c, err)
	if err != nil {
		return nil, wrap("list sessions", err)
	}
	return out, nil
}

func collectSessions(rows pgx.Rows) ([]store.Session, error) {
	var out []store.Session
	var se store.Session
	dest := sessionDest(&se)
	_, err := pgx.ForEachRow(rows, dest, func() error {
		out = append(out, se)
		se = store.Session{} // the next row must not share Roles or CSRFHash
		return nil
	})
	return out, err
}

// AddRefreshToken implements store.RefreshStore. The token is added only if its session is
// live, in the same statement; store.ErrNotFound otherwise. A token added as spent (by a
// migration) is the family's latest spend, and the spent token the family then no longer
// keeps is forgotten in the same statement. The family is in the session row (schema
// version 10), or in the table under WithLegacyRefreshFamilies.
func (s *Store) AddRefreshToken(ctx context.Context, t store.RefreshToken) error {
	c, err := s.begin(ctx, "add refresh token", true)
	if err != nil {
		return err
	}
	var added int64
	var dup bool // the hash is already in the family (a row family's statement says so)
	switch {
	case !s.cfg.legacyFamilies:
		err = s.pool.QueryRow(c.ctx, s.q.addRowRefresh, t.SessionID, t.Hash, t.Spent, s.now()).Scan(&dup)
		switch {
		case err == nil && !dup:
			added = 1
		case errors.Is(err, pgx.ErrNoRows):
			err = nil
		}
	case t.Spent:
		err = s.pool.QueryRow(c.ctx, s.q.addSpentRefresh, t.SessionID, t.Hash, t.CreatedAt, s.now()).Scan(&added)
	default:
		var tag pgconn.CommandTag
		tag, err = s.pool.Exec(c.ctx, s.q.addRefresh, t.SessionID, t.Hash, t.CreatedAt, s.now())
		added = tag.RowsAffected()
	}
	s.end(c, err)
	if err != nil {
		switch pgCode(err) {
		case codeUniqueViolation:
			return store.ErrConflict
		case codeForeignKeyViolation: // the session was deleted under us
			return store.ErrNotFound
		}
		return wrap("add refresh token", err)
	}
	if dup {
		return store.ErrConflict
	}
	if added == 0 {
		return store.ErrNotFound
	}
	return nil
}

// rowRetries bounds the rotations of a row family that find the old token unspent yet
// match nothing: each such miss is a concurrent change between two statements.
const rowRetries = 3

// RotateRefreshToken implements store.RefreshStore. A family in the session row rotates in
// one UPDATE (rotateRow); when that matches nothing, classifyRow tells an unknown token
// from a reuse (deleting the session in the same statement) or a conflict. A family in the
// refresh_tokens table (schema before version 10, an older release during a rolling
// upgrade, WithLegacyRefreshFamilies) rotates in the one statement of the rotate query.
// Under WithLegacyRefreshFamilies the table is tried first.
func (s *Store) RotateRefreshToken(ctx context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (store.Session, error) {
	c, err := s.begin(ctx, "rotate refresh token", true)
	if err != nil {
		return store.Session{}, err
	}
	var se store.Session
	found := false
	if s.cfg.legacyFamilies {
		se, found, err = s.rotateInTable(c.ctx, sessionID, oldHash, newHash, now)
	}
	if !found && err == nil {
		se, found, err = s.rotateInRow(c.ctx, sessionID, oldHash, newHash, now)
	}
	if !found && err == nil && !s.cfg.legacyFamilies {
		se, found, err = s.rotateInTable(c.ctx, sessionID, oldHash, newHash, now)
	}
	switch {
	case errors.Is(err, store.ErrRefreshReused), errors.Is(err, store.ErrConflict):
		s.end(c, nil)
		return store.Session{}, err
	case err != nil:
		s.end(c, err)
		return store.Session{}, wrap("rotate refresh token", err)
	}
	s.end(c, nil)
	if !found {
		return store.Session{}, store.ErrNotFound
	}
	return se, nil
}

// rotateInRow rotates a family kept in the session row. found is false when the family
// holds neither token (it may be in the table) or the session is not live.
func (s *Store) rotateInRow(ctx context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (se store.Session, found bool, err error) {
	for range rowRetries {
		err = s.pool.QueryRow(ctx, s.q.rotateRow, sessionID, oldHash, newHash, now, s.now()).Scan(sessionDest(&se)...)
		if err == nil {
			return se, true, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return store.Session{}, false, err
		}
		var liveOld, spentOld, hasNew bool
		err = s.pool.QueryRow(ctx, s.q.classifyRow, sessionID, oldHash, newHash, s.now()).Scan(&liveOld, &spentOld, &hasNew)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.Session{}, false, nil
		case err != nil:
			return store.Session{}, false, err
		case spentOld && !liveOld:
			return store.Session{}, true, store.ErrRefreshReused
		case liveOld && hasNew:
			return store.Session{}, true, store.ErrConflict
		case !liveOld:
			return store.Session{}, false, nil
		}
		// The old token is unspent now: a concurrent statement changed the row between
		// the two; rotate again.
	}
	return store.Session{}, false, fmt.Errorf("the family changed under %d rotations in a row", rowRetries)
}

// rotateInTable rotates a family kept in the refresh_tokens table (see the rotate query).
func (s *Store) rotateInTable(ctx context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (store.Session, bool, error) {
	var se store.Session
	var reused bool
	dest := append([]any{&reused}, sessionDest(&se)...)
	err := s.pool.QueryRow(ctx, s.q.rotate, sessionID, oldHash, newHash, now, s.now()).Scan(dest...)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return store.Session{}, false, nil
	case err != nil:
		if pgCode(err) == codeUniqueViolation { // newHash is already in the family
			return store.Session{}, true, store.ErrConflict
		}
		return store.Session{}, false, err
	case reused:
		return store.Session{}, true, store.ErrRefreshReused
	}
	return se, true, nil
}
