package redisstore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

var _ store.KeyStore = (*Store)(nil)

// The signing-key ring is one hash, "<prefix>{signing-keys}:ring": field v holds its
// version, field k the whole ring, so that a read (HMGET) and a write (one script) each
// see or replace all of it at once. The rotation lock, "<prefix>{signing-keys}:lock",
// holds its owner and expires by a native TTL on the server's clock, the one clock every
// instance shares. Both keys share a hash tag, and so one Cluster slot.

// putRingScript: KEYS ring. ARGV the version read, the encoded ring. Returns the new
// version, or -1 when another write came first.
var putRingScript = redis.NewScript(`
local v = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if v ~= tonumber(ARGV[1]) then return -1 end
v = v + 1
redis.call('HSET', KEYS[1], 'v', v, 'k', ARGV[2])
return v
`)

// acquireLockScript: KEYS lock. ARGV owner, ttl (ms). Returns 1 when owner holds the lock
// (taken or extended), 0 while another owner does.
var acquireLockScript = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`)

// releaseLockScript: KEYS lock. ARGV owner. Deletes the lock only if owner holds it.
var releaseLockScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 0
`)

// ringKey is the encoding of a store.SigningKey in the ring's JSON; times in Unix
// milliseconds, 0 for none; Sealed as base64.
type ringKey struct {
	ID        string `json:"id"`
	Algorithm string `json:"alg"`
	State     string `json:"state"`
	Sealed    []byte `json:"sealed"`
	CreatedAt int64  `json:"created"`
	ActiveAt  int64  `json:"active,omitempty"`
	RetiredAt int64  `json:"retired,omitempty"`
	ExpiresAt int64  `json:"expires,omitempty"`
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOrZero(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// SigningKeys implements store.KeyStore: one HMGET.
func (s *Store) SigningKeys(ctx context.Context) ([]store.SigningKey, int64, error) {
	const op = "signing keys"
	probe, err := s.enter(op)
	if err != nil {
		return nil, 0, err
	}
	vals, err := s.c.HMGet(ctx, s.k.ring(), "v", "k").Result()
	if err = s.leave(op, probe, err); err != nil {
		return nil, 0, err
	}
	if vals[0] == nil {
		return nil, 0, nil
	}
	vs, _ := vals[0].(string)
	ks, _ := vals[1].(string)
	version, err := strconv.ParseInt(vs, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("redisstore: %s: %w: version %q", op, ErrCorrupt, vs)
	}
	var raw []ringKey
	if err := json.Unmarshal([]byte(ks), &raw); err != nil {
		return nil, 0, fmt.Errorf("redisstore: %s: %w: %v", op, ErrCorrupt, err)
	}
	out := make([]store.SigningKey, 0, len(raw))
	for _, r := range raw {
		out = append(out, store.SigningKey{ID: r.ID, Algorithm: r.Algorithm, State: store.KeyState(r.State), Sealed: r.Sealed,
			CreatedAt: timeOrZero(r.CreatedAt), ActiveAt: timeOrZero(r.ActiveAt), RetiredAt: timeOrZero(r.RetiredAt), ExpiresAt: timeOrZero(r.ExpiresAt)})
	}
	return out, version, nil
}

// PutSigningKeys implements store.KeyStore: one script, conditional on the version.
func (s *Store) PutSigningKeys(ctx context.Context, keys []store.SigningKey, version int64) (int64, error) {
	const op = "put signing keys"
	if err := store.ValidateSigningKeys(keys); err != nil {
		return 0, err
	}
	raw := make([]ringKey, 0, len(keys))
	for _, k := range keys {
		raw = append(raw, ringKey{ID: k.ID, Algorithm: k.Algorithm, State: string(k.State), Sealed: k.Sealed,
			CreatedAt: k.CreatedAt.UnixMilli(), ActiveAt: msOrZero(k.ActiveAt), RetiredAt: msOrZero(k.RetiredAt), ExpiresAt: msOrZero(k.ExpiresAt)})
	}
	sortRing(raw)
	enc, err := json.Marshal(raw)
	if err != nil {
		return 0, err
	}
	probe, err := s.enter(op)
	if err != nil {
		return 0, err
	}
	v, err := putRingScript.Run(ctx, s.c, []string{s.k.ring()}, version, enc).Int64()
	if err = s.leave(op, probe, err); err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, store.ErrConflict
	}
	return v, nil
}

// sortRing orders a ring oldest first, as SigningKeys returns it.
func sortRing(r []ringKey) {
	slices.SortStableFunc(r, func(a, b ringKey) int {
		return cmp.Or(cmp.Compare(a.CreatedAt, b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
}

// AcquireKeyLock implements store.KeyStore: one script; the TTL runs on Redis's clock.
func (s *Store) AcquireKeyLock(ctx context.Context, owner string, ttl time.Duration) (bool, error) {
	const op = "acquire key lock"
	if owner == "" || ttl <= 0 {
		return false, errors.New("redisstore: acquire key lock: an owner and a positive ttl are required")
	}
	probe, err := s.enter(op)
	if err != nil {
		return false, err
	}
	n, err := acquireLockScript.Run(ctx, s.c, []string{s.k.keyLock()}, owner, max(ttl.Milliseconds(), 1)).Int64()
	if err = s.leave(op, probe, err); err != nil {
		return false, err
	}
	return n == 1, nil
}

// ReleaseKeyLock implements store.KeyStore: one script.
func (s *Store) ReleaseKeyLock(ctx context.Context, owner string) error {
	const op = "release key lock"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	err = releaseLockScript.Run(ctx, s.c, []string{s.k.keyLock()}, owner).Err()
	if errors.Is(err, redis.Nil) {
		err = nil
	}
	return s.leave(op, probe, err)
}
