package scale

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	rediscache "github.com/authframe/authframe/cache/redis"
	"github.com/authframe/authframe/core/store"
)

// rawRotateScript makes the two calls the store's rotation makes (stores/redis/scripts.go):
// one HMGET of the record and both tokens, one HSET that spends the old token, adds the
// new one and moves the last-seen time, without the checks between them.
var rawRotateScript = redis.NewScript(`
local s = redis.call('HMGET', KEYS[1], 'd', 'u', 'l', 'i', 'e', ARGV[1], ARGV[2])
if not s[6] then return {0} end
redis.call('HSET', KEYS[1], ARGV[1], 's' .. s[6], ARGV[2], ARGV[3], 'l', ARGV[3])
s[6], s[7] = nil, nil
return {1, s}
`)

// rawHitScript is a login counter as anyone would write it: INCR, PEXPIRE on the first hit.
var rawHitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n
`)

// RedisBenches are the Redis store's cells over d, already seeded under prefix. The raw
// side works on keys of its own under prefix+"raw:", seeded here in the same shapes: a
// GET of a string as long as a session's record, the rotation's two calls in a script of
// their own (EVALSHA) on hashes like the store's, a ZRANGEBYSCORE of the same revocation
// set, and an INCR script.
func RedisBenches(ctx context.Context, st store.Store, c redis.UniversalClient, prefix string, d *Dataset) ([]Bench, error) {
	n := d.N
	ids := make([]string, n)
	rawRec := make([]string, n)
	rawSess := make([]string, n)
	for lo := 0; lo < n; lo += 1000 {
		_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := lo; i < min(lo+1000, n); i++ {
				s, r := d.Session(i), d.Refresh(i)
				ids[i] = s.ID
				rawRec[i] = prefix + "raw:record:" + s.ID
				rawSess[i] = prefix + "raw:session:" + s.ID
				fv := sessionFieldValues(&s, &r)
				var rec []byte
				for j := 1; j < 10; j += 2 { // the five values a lookup reads
					rec = append(rec, fv[j].(string)...)
				}
				p.Set(ctx, rawRec[i], rec, time.Hour)
				p.HSet(ctx, rawSess[i], fv...)
				p.Expire(ctx, rawSess[i], time.Hour)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("seed raw keys: %w", err)
		}
	}
	rf := newRevocationFixture(time.Now(), 1000, 10)
	if err := rf.addTo(ctx, st, 16); err != nil {
		return nil, err
	}
	revAt := prefix + "{revocations}:at"
	since := fmt.Sprint(rf.Since.UnixMilli())
	keys := rateKeys(10_000)
	pick := picker(n)
	oursRot, rawRot := newRotator(0, n), newRotator(0, n)
	return []Bench{
		{Store: "redis", Op: OpSessionLookup, RawOp: "GET of as many bytes", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, ok, err := st.GetSession(ctx, ids[pick(w, i)])
					return found(ok, err)
				}, func(ctx context.Context, w, i int) error {
					return c.Get(ctx, rawRec[pick(w, i)]).Err()
				}
		}},
		{Store: "redis", Op: OpSessionLookup, RawOp: "HMGET of the same fields", Diagnostic: true, Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, ok, err := st.GetSession(ctx, ids[pick(w, i)])
					return found(ok, err)
				}, func(ctx context.Context, w, i int) error {
					return c.HMGet(ctx, prefix+"session:"+ids[pick(w, i)], "d", "u", "l", "i", "e").Err()
				}
		}},
		{Store: "redis", Op: OpRefreshRotation, RawOp: "EVALSHA: HMGET + HSET", Prepare: func(cl int) (Op, Op) {
			return oursRot.op(cl, func(ctx context.Context, k, g int) error {
					_, err := st.RotateRefreshToken(ctx, ids[k], d.RefreshHash(k, g), d.RefreshHash(k, g+1), time.Now())
					return err
				}), rawRot.op(cl, func(ctx context.Context, k, g int) error {
					res, err := rawRotateScript.Run(ctx, c, []string{rawSess[k]},
						"t:"+string(d.RefreshHash(k, g)), "t:"+string(d.RefreshHash(k, g+1)), msString(time.Now().UnixMilli())).Slice()
					if err == nil && (len(res) == 0 || res[0] != int64(1)) {
						err = errNotFound
					}
					return err
				})
		}},
		{Store: "redis", Op: OpRevocationCheck, RawOp: "ZRANGEBYSCORE", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, _, _ int) error {
					rs, err := st.RevocationsSince(ctx, rf.Since)
					return count(len(rs), err, 10)
				}, func(ctx context.Context, _, _ int) error {
					ms, err := c.ZRangeByScore(ctx, revAt, &redis.ZRangeBy{Min: since, Max: "+inf"}).Result()
					return count(len(ms), err, 10)
				}
		}},
		{Store: "redis", Op: OpLoginRate, RawOp: "EVALSHA: INCR + PEXPIRE", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, _, err := st.Hit(ctx, keys[(w*7919+i)%len(keys)], time.Minute)
					return err
				}, func(ctx context.Context, w, i int) error {
					return rawHitScript.Run(ctx, c, []string{prefix + "raw:rate:" + keys[(w*7919+i)%len(keys)]}, 60_000).Err()
				}
		}},
	}, nil
}

// CacheBenches are the shared cache's cells: a Get of one of n stored values, and a Set,
// beside a GET and a SET (PX) of values as large under prefix+"raw:". The values are as
// large as the Guard's encoding of a principal (a MAC and about 200 bytes of JSON).
func CacheBenches(ctx context.Context, cache *rediscache.Cache, c redis.UniversalClient, prefix string, n int) ([]Bench, error) {
	val := make([]byte, 32+200)
	if _, err := rand.Read(val); err != nil {
		return nil, err
	}
	keys := make([]string, n)
	rawKeys := make([]string, n)
	for i := range keys {
		var b [32]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		keys[i] = base64.RawURLEncoding.EncodeToString(b[:])
		rawKeys[i] = prefix + "raw:value:" + keys[i]
	}
	// The cache gives up on a call after 50 ms and then rests for a second (its breaker):
	// on a loaded machine a seeding call is retried rather than failing the run.
	err := parallel(16, n, func(i int) error {
		var err error
		for try := 0; try < 50; try++ {
			if err = cache.Set(ctx, keys[i], val, time.Hour); err == nil {
				return nil
			}
			time.Sleep(50 * time.Millisecond)
		}
		return fmt.Errorf("seed cache: %w", err)
	})
	if err != nil {
		return nil, err
	}
	_, err = c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for _, k := range rawKeys {
			p.Set(ctx, k, val, time.Hour)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("seed raw values: %w", err)
	}
	pick := picker(n)
	return []Bench{
		{Store: "rediscache", Op: OpCacheGet, RawOp: "GET", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					_, ok, err := cache.Get(ctx, keys[pick(w, i)])
					return found(ok, err)
				}, func(ctx context.Context, w, i int) error {
					return c.Get(ctx, rawKeys[pick(w, i)]).Err()
				}
		}},
		{Store: "rediscache", Op: OpCacheSet, RawOp: "SET PX", Prepare: func(int) (Op, Op) {
			return func(ctx context.Context, w, i int) error {
					return cache.Set(ctx, keys[pick(w, i)], val, time.Hour)
				}, func(ctx context.Context, w, i int) error {
					return c.Set(ctx, rawKeys[pick(w, i)], val, time.Hour).Err()
				}
		}},
	}, nil
}
