package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

const kindToken = "token"

// CreateSession implements store.SessionStore. The session hash is written by a script
// that refuses a live id and expires the hash at the session's deadline; the id then joins
// its user's index (for ListSessions) and the global ones (for Stats and the export).
func (s *Store) CreateSession(ctx context.Context, se store.Session) error {
	const op = "create session"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	now := time.Now()
	deadline := se.Deadline()
	args := append([]any{ms(now), ms(deadline)}, sessionArgs(&se)...)
	n, err := createSessionScript.Run(ctx, s.c, []string{s.k.session(se.ID)}, args...).Int()
	if err != nil {
		return s.leave(op, probe, err)
	}
	if n == 0 {
		s.leave(op, probe, nil)
		return store.ErrConflict
	}
	err = indexUserSessionScript.Run(ctx, s.c, []string{s.k.userSessions(se.UserID)}, ms(se.CreatedAt), se.ID, ms(se.ExpiresAt), ms(now)).Err()
	if err != nil {
		return s.leave(op, probe, err)
	}
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.ZAdd(ctx, s.k.sessions, redis.Z{Member: se.ID})
		p.ZAdd(ctx, s.k.live, redis.Z{Score: float64(deadline.UnixMilli()), Member: se.ID})
		if se.Kind == kindToken {
			p.ZAdd(ctx, s.k.families, redis.Z{Score: float64(deadline.UnixMilli()), Member: se.ID})
		}
		return nil
	})
	return s.leave(op, probe, err)
}

// GetSession implements store.SessionStore: one HMGET.
func (s *Store) GetSession(ctx context.Context, id string) (store.Session, bool, error) {
	const op = "get session"
	probe, err := s.enter(op)
	if err != nil {
		return store.Session{}, false, err
	}
	// HMGET with its field names boxed once (sessionFieldArgs), where HMGet would box each
	// on every call: the lookup of a session's first sight is the store's busiest read.
	args := make([]any, 0, 2+len(sessionFieldArgs))
	args = append(append(args, "hmget", s.k.session(id)), sessionFieldArgs...)
	cmd := redis.NewSliceCmd(ctx, args...)
	_ = s.c.Process(ctx, cmd)
	vals, err := cmd.Result()
	if err = s.leave(op, probe, err); err != nil {
		return store.Session{}, false, err
	}
	se, found, err := decodeSession(id, vals)
	if err != nil {
		return store.Session{}, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if !found {
		return store.Session{}, false, nil
	}
	// The TTL ends the hash at the deadline to the millisecond; the check covers the
	// millisecond Redis still keeps it and a server whose clock runs behind ours.
	if !se.Live(time.Now()) {
		return store.Session{}, false, nil
	}
	return se, true, nil
}

// TouchSession implements store.SessionStore. The index behind Stats is not written here:
// it is repaired against the TTL when it is read, so a touch stays one round trip.
func (s *Store) TouchSession(ctx context.Context, id string, lastSeen time.Time) error {
	const op = "touch session"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	n, err := touchSessionScript.Run(ctx, s.c, []string{s.k.session(id)}, ms(lastSeen), ms(time.Now())).Int()
	if err = s.leave(op, probe, err); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// DeleteSession implements store.SessionStore: the session goes with its refresh family,
// which lives in the same hash; the indexes follow.
func (s *Store) DeleteSession(ctx context.Context, id string) (bool, error) {
	const op = "delete session"
	probe, err := s.enter(op)
	if err != nil {
		return false, err
	}
	res, err := deleteSessionScript.Run(ctx, s.c, []string{s.k.session(id)}, ms(time.Now())).Slice()
	if err != nil {
		return false, s.leave(op, probe, err)
	}
	if len(res) < 2 {
		return false, s.leave(op, probe, nil)
	}
	live, _ := res[0].(int64)
	userID, _ := res[1].(string)
	err = s.unindex(ctx, userID, id)
	return live == 1, s.leave(op, probe, err)
}

// unindex removes a session id from its user's index (when userID is known) and from the
// global indexes.
func (s *Store) unindex(ctx context.Context, userID string, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	members := toAny(ids)
	_, err := s.c.Pipelined(context.WithoutCancel(ctx), func(p redis.Pipeliner) error {
		if userID != "" {
			p.ZRem(ctx, s.k.userSessions(userID), members...)
		}
		p.ZRem(ctx, s.k.sessions, members...)
		p.ZRem(ctx, s.k.live, members...)
		p.ZRem(ctx, s.k.families, members...)
		return nil
	})
	return err
}

// ListSessions implements store.SessionStore from the user's index: no KEYS, no SCAN. Ids
// whose session is gone are pruned from the index on the way.
func (s *Store) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	const op = "list sessions"
	probe, err := s.enter(op)
	if err != nil {
		return nil, err
	}
	ids, err := s.c.ZRange(ctx, s.k.userSessions(userID), 0, -1).Result()
	if err != nil {
		return nil, s.leave(op, probe, err)
	}
	found, dead, err := s.getSessions(ctx, ids)
	if err != nil {
		return nil, s.leave(op, probe, err)
	}
	out := make([]store.Session, 0, len(found))
	for _, se := range found {
		if se.UserID != userID {
			dead = append(dead, se.ID)
			continue
		}
		out = append(out, se)
	}
	if len(dead) > 0 {
		err = s.c.ZRem(context.WithoutCancel(ctx), s.k.userSessions(userID), toAny(dead)...).Err()
	}
	slices.SortStableFunc(out, func(a, b store.Session) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return out, s.leave(op, probe, err)
}

// getSessions reads sessions in one pipeline (go-redis splits it by node on a Cluster).
// It returns the live ones in the order of ids, and the ids of those that are gone or dead.
func (s *Store) getSessions(ctx context.Context, ids []string) (live []store.Session, dead []string, err error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	cmds := make([]*redis.SliceCmd, len(ids))
	_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.HMGet(ctx, s.k.session(id), sessionFields...)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	for i, cmd := range cmds {
		se, found, err := decodeSession(ids[i], cmd.Val())
		if err != nil {
			return nil, nil, err
		}
		if !found || !se.Live(now) {
			dead = append(dead, ids[i])
			continue
		}
		live = append(live, se)
	}
	return live, dead, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// AddRefreshToken implements store.RefreshStore. The token (its hash) joins the session's
// family, a field of the session's own hash, so it expires and is deleted with it. A token
// added as Spent (by a migration) joins the family's spend order as its latest spend, so
// that its reuse is recognised while the family keeps it.
func (s *Store) AddRefreshToken(ctx context.Context, t store.RefreshToken) error {
	const op = "add refresh token"
	if err := checkRefreshHash(op, t.Hash); err != nil {
		return err
	}
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	spent := "0"
	if t.Spent {
		spent = "1"
	}
	n, err := addRefreshScript.Run(ctx, s.c, []string{s.k.session(t.SessionID)},
		refreshField(t.Hash), refreshValue(t.Spent, t.CreatedAt), ms(time.Now()), spent).Int()
	if err = s.leave(op, probe, err); err != nil {
		return err
	}
	switch n {
	case 0:
		return store.ErrNotFound
	case 2:
		return store.ErrConflict
	}
	return nil
}

// checkRefreshHash refuses a hash that the spend order cannot hold (it writes each hash's
// length in one byte). The Guard's are SHA-256 hashes, 32 bytes.
func checkRefreshHash(op string, h []byte) error {
	if len(h) > maxRefreshHash {
		return fmt.Errorf("redisstore: %s: a refresh token hash of %d bytes: at most %d", op, len(h), maxRefreshHash)
	}
	return nil
}

// RotateRefreshToken implements store.RefreshStore in one script, so one round trip:
// spend oldHash, add newHash, forget the spent token that the family no longer keeps, move
// LastSeenAt and the TTL, and return the session; or, if oldHash was already spent, delete
// the session and its family in the same step.
func (s *Store) RotateRefreshToken(ctx context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (store.Session, error) {
	const op = "rotate refresh token"
	if len(oldHash) > maxRefreshHash {
		return store.Session{}, store.ErrNotFound // no family can hold it
	}
	if err := checkRefreshHash(op, newHash); err != nil {
		return store.Session{}, err
	}
	probe, err := s.enter(op)
	if err != nil {
		return store.Session{}, err
	}
	res, err := rotateScript.Run(ctx, s.c, []string{s.k.session(sessionID)},
		refreshField(oldHash), refreshField(newHash), ms(now), ms(time.Now())).Slice()
	if err = s.leave(op, probe, err); err != nil {
		return store.Session{}, err
	}
	code, _ := firstInt(res)
	switch code {
	case 1:
		vals, _ := res[1].([]any)
		se, found, err := decodeSession(sessionID, vals)
		if err == nil && !found {
			err = fmt.Errorf("%w: empty session in a rotation", ErrCorrupt)
		}
		if err != nil {
			return store.Session{}, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		return se, nil
	case 2:
		userID, _ := res[1].(string)
		// The family is gone already; the indexes are tidied best-effort, and repaired on
		// read if this fails.
		_ = s.unindex(ctx, userID, sessionID)
		return store.Session{}, store.ErrRefreshReused
	case 3:
		return store.Session{}, store.ErrConflict
	}
	return store.Session{}, store.ErrNotFound
}

func firstInt(res []any) (int64, bool) {
	if len(res) == 0 {
		return 0, false
	}
	n, ok := res[0].(int64)
	return n, ok
}

// ExportSessions implements store.Exporter: live sessions by id, from the global index.
// Dead ids met on the way are pruned from the indexes.
func (s *Store) ExportSessions(ctx context.Context, cursor string, limit int) ([]store.Session, string, error) {
	const op = "export sessions"
	if limit <= 0 {
		return nil, "", fmt.Errorf("redisstore: %s: limit %d: must be positive", op, limit)
	}
	probe, err := s.enter(op)
	if err != nil {
		return nil, "", err
	}
	var out []store.Session
	for len(out) < limit {
		want := limit - len(out)
		ids, err := s.c.ZRangeByLex(ctx, s.k.sessions, &redis.ZRangeBy{Min: lexAfter(cursor), Max: "+", Count: int64(want)}).Result()
		if err != nil {
			return nil, "", s.leave(op, probe, err)
		}
		live, dead, err := s.getSessions(ctx, ids)
		if err != nil {
			return nil, "", s.leave(op, probe, err)
		}
		out = append(out, live...)
		if err := s.unindex(ctx, "", dead...); err != nil {
			return nil, "", s.leave(op, probe, err)
		}
		if len(ids) < want {
			return out, "", s.leave(op, probe, nil)
		}
		cursor = ids[len(ids)-1]
	}
	return out, cursor, s.leave(op, probe, nil)
}

// lexAfter is the ZRANGEBYLEX bound just after cursor ("" starts at the beginning).
func lexAfter(cursor string) string {
	if cursor == "" {
		return "-"
	}
	return "(" + cursor
}

// ExportRefreshTokens implements store.Exporter: every token of a live session's family,
// spent ones included, ordered by hash. Of the spent ones it returns the last
// store.SpentRefreshKept by creation: a family that no rotation has touched since an
// upgrade may still hold older ones, which its next rotation forgets.
func (s *Store) ExportRefreshTokens(ctx context.Context, sessionID string) ([]store.RefreshToken, error) {
	const op = "export refresh tokens"
	probe, err := s.enter(op)
	if err != nil {
		return nil, err
	}
	m, err := s.c.HGetAll(ctx, s.k.session(sessionID)).Result()
	if err = s.leave(op, probe, err); err != nil {
		return nil, err
	}
	vals := make([]any, len(sessionFields))
	for i, f := range sessionFields {
		if v, ok := m[f]; ok {
			vals[i] = v
		}
	}
	se, found, err := decodeSession(sessionID, vals)
	if err != nil {
		return nil, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	if !found || !se.Live(time.Now()) {
		return nil, nil
	}
	var out []store.RefreshToken
	for f, v := range m {
		hash, ok := strings.CutPrefix(f, tokenField)
		if !ok {
			continue
		}
		t, err := decodeRefresh(sessionID, hash, v)
		if err != nil {
			return nil, fmt.Errorf("redisstore: %s: %w", op, err)
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b store.RefreshToken) int {
		if a.Spent != b.Spent { // the unspent first, then the spent from the latest
			if b.Spent {
				return -1
			}
			return 1
		}
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return bytes.Compare(b.Hash, a.Hash)
	})
	spent := 0
	for i, t := range out {
		if t.Spent {
			if spent == store.SpentRefreshKept {
				out = out[:i]
				break
			}
			spent++
		}
	}
	slices.SortFunc(out, func(a, b store.RefreshToken) int { return bytes.Compare(a.Hash, b.Hash) })
	return out, nil
}

// pruneSessionIndex repairs the deadline indexes behind Stats against the sessions
// themselves: an id whose indexed deadline has passed is dropped from every global index
// if its session is gone or dead, and re-scored with its current deadline if a touch or a
// refresh moved it.
//
// One call clears the whole backlog that is due at its start, however many users it
// holds: each pass drops or re-scores (to a deadline after now) every id it reads, so
// the ids due at now only shrink, and the passes are bounded by their count at the start
// (plus one, for an id indexed meanwhile with a deadline already past). A fixed bound
// left a backlog larger than it to the next call.
func (s *Store) pruneSessionIndex(ctx context.Context, now time.Time) error {
	batch := s.pruneBatch
	due := strconv.FormatInt(now.UnixMilli(), 10)
	for _, idx := range []string{s.k.live, s.k.families} {
		backlog, err := s.c.ZCount(ctx, idx, "-inf", due).Result()
		if err != nil {
			return err
		}
		for range backlog/batch + 2 {
			ids, err := s.c.ZRangeByScore(ctx, idx, &redis.ZRangeBy{Min: "-inf", Max: due, Count: batch}).Result()
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			live, dead, err := s.getSessions(ctx, ids)
			if err != nil {
				return err
			}
			if err := s.unindex(ctx, "", dead...); err != nil {
				return err
			}
			if len(live) > 0 {
				_, err = s.c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, se := range live {
						z := redis.Z{Score: float64(se.Deadline().UnixMilli()), Member: se.ID}
						p.ZAddXX(ctx, s.k.live, z)
						if se.Kind == kindToken {
							p.ZAddXX(ctx, s.k.families, z)
						}
					}
					return nil
				})
				if err != nil {
					return err
				}
			}
			if int64(len(ids)) < batch {
				break
			}
		}
	}
	return nil
}
