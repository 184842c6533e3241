package pgstore

import (
	"context"
	"time"

	"github.com/authframe/authframe/core/audit"
)

// cleanupBatch bounds the rows one DELETE removes, so that a large backlog never becomes
// one long transaction holding many row locks.
const cleanupBatch = 1000

// Cleanup deletes every expired session (and, by cascade, its refresh family), revocation,
// rate-limit window, API key and replay key now, and returns how many rows it deleted. The cleanup job calls it
// on its interval; call it yourself when the job is off (WithCleanupInterval(0)). Reads
// never return expired rows, so Cleanup only reclaims space.
func (s *Store) Cleanup(ctx context.Context) (int64, error) {
	now := s.now()
	var total int64
	for _, q := range []struct{ op, sql string }{
		{"cleanup sessions", s.q.cleanupSessions},
		{"cleanup revocations", s.q.cleanupRevocations},
		{"cleanup rate limits", s.q.cleanupRates},
		{"cleanup api keys", s.q.cleanupAPIKeys},
		{"cleanup replay keys", s.q.cleanupReplay},
	} {
		for {
			tag, err := s.pool.Exec(ctx, q.sql, now)
			if err != nil {
				return total, wrap(q.op, err)
			}
			total += tag.RowsAffected()
			if tag.RowsAffected() < cleanupBatch {
				break
			}
		}
	}
	return total, nil
}

func (s *Store) cleanupLoop() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(s.ctx, max(s.cfg.interval, 30*time.Second))
			n, err := s.Cleanup(ctx)
			cancel()
			switch {
			case err != nil && s.ctx.Err() == nil:
				s.log.Warn("pgstore: cleanup failed", "error", audit.Scrub(err.Error()))
			case n > 0:
				s.log.Debug("pgstore: cleanup deleted expired rows", "rows", n)
			}
		}
	}
}
