package scale

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// SeedRedis writes users lo..hi-1 of d under prefix in the Redis store's key layout (stores/redis/README.md,
// "Key layout"), a thousand users to a pipeline and four pipelines at a time; through the
// store's API a million users would take seven million round trips. CheckSeed then reads
// samples back through the store, so a layout that drifted from the store's fails the run
// instead of measuring something else.
func SeedRedis(ctx context.Context, c redis.UniversalClient, prefix string, d *Dataset, lo, hi int) error {
	const batch, workers = 1000, 4
	next := make(chan int)
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				if err := seedRedisBatch(ctx, c, prefix, d, lo, min(lo+batch, hi)); err != nil {
					errs <- err
					for range next { // drain so the producer ends
					}
					return
				}
			}
		}()
	}
	for b := lo; b < hi; b += batch {
		next <- b
	}
	close(next)
	wg.Wait()
	close(errs)
	return <-errs
}

func seedRedisBatch(ctx context.Context, c redis.UniversalClient, p string, d *Dataset, lo, hi int) error {
	users := make([]redis.Z, 0, hi-lo)
	names := make([]any, 0, 2*(hi-lo))
	sessions := make([]redis.Z, 0, hi-lo)
	live := make([]redis.Z, 0, hi-lo)
	_, err := c.Pipelined(ctx, func(pl redis.Pipeliner) error {
		for i := lo; i < hi; i++ {
			u, s, r := d.User(i), d.Session(i), d.Refresh(i)
			deadline := s.Deadline().UnixMilli()
			if !d.Expired {
				pl.HSet(ctx, p+"user:"+u.ID, "n", u.Username, "h", u.PasswordHash, "r", packList(u.Roles...),
					"c", msString(u.CreatedAt.UnixMilli()), "m", msString(u.UpdatedAt.UnixMilli()))
				names = append(names, p+"username:"+u.Username, u.ID)
				pl.HSet(ctx, p+"session:"+s.ID, sessionFieldValues(&s, &r)...)
				pl.PExpireAt(ctx, p+"session:"+s.ID, s.Deadline())
				pl.ZAdd(ctx, p+"user-sessions:"+u.ID, redis.Z{Score: float64(s.CreatedAt.UnixMilli()), Member: s.ID})
				pl.PExpireAt(ctx, p+"user-sessions:"+u.ID, s.ExpiresAt)
				users = append(users, redis.Z{Member: u.ID})
			}
			// An expired session's hash is gone by its TTL; its ids stay in the indexes
			// until the sweep prunes them, which is what Cleanup is timed on.
			sessions = append(sessions, redis.Z{Member: s.ID})
			live = append(live, redis.Z{Score: float64(deadline), Member: s.ID})
		}
		if len(users) > 0 {
			pl.MSet(ctx, names...)
			pl.ZAdd(ctx, p+"{index}:users", users...)
		}
		pl.ZAdd(ctx, p+"{index}:sessions", sessions...)
		pl.ZAdd(ctx, p+"{index}:live", live...)
		pl.ZAdd(ctx, p+"{index}:families", live...)
		return nil
	})
	if err != nil {
		return fmt.Errorf("seed redis users %d-%d: %w", lo, hi, err)
	}
	return nil
}

// sessionFieldValues are the fields of a session hash with its one refresh token.
func sessionFieldValues(s *store.Session, r *store.RefreshToken) []any {
	d := packList("1", s.Username, packList(s.Roles...), s.Kind, string(s.CSRFHash), s.UserAgent, s.IP,
		msString(s.CreatedAt.UnixMilli()))
	return []any{
		"d", d, "u", s.UserID, "l", msString(s.LastSeenAt.UnixMilli()),
		"i", strconv.FormatInt(s.IdleTimeout.Milliseconds(), 10), "e", msString(s.ExpiresAt.UnixMilli()),
		"t:" + string(r.Hash), msString(r.CreatedAt.UnixMilli()),
	}
}

// packList writes each item as <length>:<bytes>, the store's encoding of lists.
func packList(items ...string) string {
	var b []byte
	for _, it := range items {
		b = strconv.AppendInt(b, int64(len(it)), 10)
		b = append(b, ':')
		b = append(b, it...)
	}
	return string(b)
}

func msString(ms int64) string { return strconv.FormatInt(ms, 10) }
