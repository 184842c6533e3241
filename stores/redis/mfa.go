package redisstore

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

var (
	_ store.MFAStore    = (*Store)(nil)
	_ store.ReplayStore = (*Store)(nil)
)

// A user's two-factor record is one hash, <p>mfa:<uid>, so every operation on it is one
// script on one key, atomic on a standalone server and on a Cluster alike: the fields
// below, and one field per unused recovery code, "r:" + the hex of its hash -> its position
// in the list, so that using a code is one HDEL.
const (
	mSecret    = "s"
	mConfirmed = "c"
	mStep      = "l"
	mCreated   = "t"
	mRecovery  = "r:"
)

// encodeStep writes a TOTP step as 20 decimal digits whose byte order is the order of the
// int64 steps (the sign bit flipped), so that the scripts compare steps as strings:
// exactly, where Lua's numbers (doubles) would round steps past 2^53.
func encodeStep(step int64) string {
	return fmt.Sprintf("%020d", uint64(step)^(1<<63))
}

func decodeStep(s string) (int64, error) {
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil || len(s) != 20 {
		return 0, fmt.Errorf("%w: TOTP step", ErrCorrupt)
	}
	return int64(u ^ (1 << 63)), nil
}

func recoveryArgs(hashes [][]byte) []any {
	out := make([]any, len(hashes))
	for i, h := range hashes {
		out[i] = hex.EncodeToString(h)
	}
	return out
}

// The scripts below share this: clear the recovery fields of KEYS[1], then write ARGV[from]
// onward as the new ones.
const setRecoveryLua = `
local function setRecovery(from)
  for _, f in ipairs(redis.call('HKEYS', KEYS[1])) do
    if string.sub(f, 1, 2) == 'r:' then redis.call('HDEL', KEYS[1], f) end
  end
  for i = from, #ARGV do redis.call('HSET', KEYS[1], 'r:' .. ARGV[i], tostring(i - from)) end
end
`

// putMFA: KEYS mfa. ARGV sealed secret, confirmed (0/1), step, created, recovery hashes
// (hex)... Returns 1, or 0 when a confirmed record is there.
var putMFAScript = redis.NewScript(setRecoveryLua + `
if redis.call('HGET', KEYS[1], 'c') == '1' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 's', ARGV[1], 'c', ARGV[2], 'l', ARGV[3], 't', ARGV[4])
setRecovery(5)
return 1
`)

// confirmMFA: KEYS mfa. ARGV sealed secret, step, recovery hashes (hex)... Returns 1, -1
// when no pending record holds that secret, -2 when the record is confirmed.
var confirmMFAScript = redis.NewScript(setRecoveryLua + `
local c = redis.call('HGET', KEYS[1], 'c')
if c == '1' then return -2 end
if not c or redis.call('HGET', KEYS[1], 's') ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'c', '1', 'l', ARGV[2])
setRecovery(3)
return 1
`)

// useStep: KEYS mfa. ARGV step. Returns 1 when accepted, 0 when not after the last one, -1
// when there is no confirmed record.
var useStepScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'c') ~= '1' then return -1 end
if redis.call('HGET', KEYS[1], 'l') >= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'l', ARGV[1])
return 1
`)

// useRecovery: KEYS mfa. ARGV recovery hash (hex). Returns 1 when it was there (and is
// now gone), 0 when not, -1 when there is no confirmed record.
var useRecoveryScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'c') ~= '1' then return -1 end
return redis.call('HDEL', KEYS[1], 'r:' .. ARGV[1])
`)

// PutMFA implements store.MFAStore in one script.
func (s *Store) PutMFA(ctx context.Context, m store.MFA) error {
	const op = "put mfa"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	confirmed := "0"
	if m.Confirmed {
		confirmed = "1"
	}
	args := append([]any{m.SealedSecret, confirmed, encodeStep(m.LastStep), ms(m.CreatedAt)}, recoveryArgs(m.RecoveryHashes)...)
	n, err := putMFAScript.Run(ctx, s.c, []string{s.k.mfa(m.UserID)}, args...).Int()
	if err = s.leave(op, probe, err); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrConflict
	}
	return nil
}

// GetMFA implements store.MFAStore: one HGETALL.
func (s *Store) GetMFA(ctx context.Context, userID string) (store.MFA, bool, error) {
	const op = "get mfa"
	probe, err := s.enter(op)
	if err != nil {
		return store.MFA{}, false, err
	}
	h, err := s.c.HGetAll(ctx, s.k.mfa(userID)).Result()
	if err = s.leave(op, probe, err); err != nil {
		return store.MFA{}, false, err
	}
	if len(h) == 0 {
		return store.MFA{}, false, nil
	}
	m, err := decodeMFA(userID, h)
	if err != nil {
		return store.MFA{}, false, fmt.Errorf("redisstore: %s: %w", op, err)
	}
	return m, true, nil
}

func decodeMFA(userID string, h map[string]string) (store.MFA, error) {
	secret, ok := h[mSecret]
	if !ok {
		return store.MFA{}, fmt.Errorf("%w: two-factor record without a secret", ErrCorrupt)
	}
	m := store.MFA{UserID: userID, SealedSecret: []byte(secret), Confirmed: h[mConfirmed] == "1"}
	var err error
	if m.LastStep, err = decodeStep(h[mStep]); err != nil {
		return store.MFA{}, err
	}
	if m.CreatedAt, err = fromMS(h[mCreated]); err != nil {
		return store.MFA{}, err
	}
	type code struct {
		pos  int
		hash []byte
	}
	var codes []code
	for f, v := range h {
		hx, ok := strings.CutPrefix(f, mRecovery)
		if !ok {
			continue
		}
		hash, err := hex.DecodeString(hx)
		pos, perr := strconv.Atoi(v)
		if err != nil || perr != nil {
			return store.MFA{}, fmt.Errorf("%w: recovery code field", ErrCorrupt)
		}
		codes = append(codes, code{pos, hash})
	}
	slices.SortFunc(codes, func(a, b code) int { return a.pos - b.pos })
	for _, c := range codes {
		m.RecoveryHashes = append(m.RecoveryHashes, c.hash)
	}
	return m, nil
}

// ConfirmMFA implements store.MFAStore in one script.
func (s *Store) ConfirmMFA(ctx context.Context, userID string, sealedSecret []byte, step int64, recoveryHashes [][]byte) error {
	const op = "confirm mfa"
	probe, err := s.enter(op)
	if err != nil {
		return err
	}
	args := append([]any{sealedSecret, encodeStep(step)}, recoveryArgs(recoveryHashes)...)
	n, err := confirmMFAScript.Run(ctx, s.c, []string{s.k.mfa(userID)}, args...).Int()
	if err = s.leave(op, probe, err); err != nil {
		return err
	}
	switch n {
	case 1:
		return nil
	case -2:
		return store.ErrConflict
	}
	return store.ErrNotFound
}

// DeleteMFA implements store.MFAStore: one DEL.
func (s *Store) DeleteMFA(ctx context.Context, userID string) (bool, error) {
	const op = "delete mfa"
	probe, err := s.enter(op)
	if err != nil {
		return false, err
	}
	n, err := s.c.Del(ctx, s.k.mfa(userID)).Result()
	if err = s.leave(op, probe, err); err != nil {
		return false, err
	}
	return n == 1, nil
}

// UseTOTPStep implements store.MFAStore in one script.
func (s *Store) UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error) {
	return s.use(ctx, "use totp step", useStepScript, userID, encodeStep(step))
}

// UseRecoveryCode implements store.MFAStore in one script.
func (s *Store) UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error) {
	return s.use(ctx, "use recovery code", useRecoveryScript, userID, hex.EncodeToString(hash))
}

func (s *Store) use(ctx context.Context, op string, script *redis.Script, userID, arg string) (bool, error) {
	probe, err := s.enter(op)
	if err != nil {
		return false, err
	}
	n, err := script.Run(ctx, s.c, []string{s.k.mfa(userID)}, arg).Int()
	if err = s.leave(op, probe, err); err != nil {
		return false, err
	}
	if n < 0 {
		return false, store.ErrNotFound
	}
	return n == 1, nil
}

// Remember implements store.ReplayStore with SET NX and a TTL of what is left until until,
// by the application's clock: the key expires by itself, and of concurrent callers the one
// whose SET wins is the one that sees the key fresh.
func (s *Store) Remember(ctx context.Context, key string, until time.Time) (bool, error) {
	const op = "remember"
	left := time.Until(until)
	if left <= 0 {
		return true, nil
	}
	probe, err := s.enter(op)
	if err != nil {
		return false, err
	}
	// Rounded up to the millisecond, Redis's precision, so that the key is never forgotten
	// before until.
	ttl := (left + time.Millisecond - 1).Truncate(time.Millisecond)
	fresh, err := s.c.SetNX(ctx, s.k.replay(key), "1", ttl).Result()
	if err = s.leave(op, probe, err); err != nil {
		return false, err
	}
	return fresh, nil
}
