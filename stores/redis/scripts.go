package redisstore

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The scripts run atomically on the server. Most touch one key; those that touch two (the
// revocation sets) name keys that share a hash tag, so they run in one Cluster slot. Times
// come from the caller as Unix milliseconds (ARGV), never from the server's clock, so that
// the store agrees with the Guard's clock; TTLs are set with PEXPIREAT at the session's
// deadline. go-redis sends the scripts with EVALSHA, and with EVAL (which loads them) only
// the first time a server does not know them.

// deadlineLua is Session.Deadline: the sooner of the idle and the absolute deadline.
const deadlineLua = `
local function deadline(l, i, e)
  l, i, e = tonumber(l), tonumber(i), tonumber(e)
  if i > 0 and l + i < e then return l + i end
  return e
end
local function fmt(n) return string.format('%.0f', n) end
`

// createUser: KEYS user. ARGV username, password hash, roles, created, updated.
// Returns 1, or 0 when the id is taken.
var createUserScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'n', ARGV[1], 'h', ARGV[2], 'r', ARGV[3], 'c', ARGV[4], 'm', ARGV[5])
return 1
`)

// updateUser: KEYS user. ARGV password hash, roles, updated. Returns 1, or 0 when missing.
var updateUserScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'r', ARGV[2], 'm', ARGV[3])
return 1
`)

// releaseUsername: KEYS username. ARGV user id. Deletes the claim only if it is still ours.
var releaseUsernameScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// A session is one hash: its record's fields (see sessionFields) and one field per token of
// its refresh family, "t:" + the token's SHA-256 -> "<created ms>", or "s<created ms>" once
// spent. The family thus expires with the session, goes with it in one DEL, and a rotation
// is two calls.

// createSession: KEYS session. ARGV now, deadline, then the record's field/value pairs. A
// live session with the id is a conflict (0); a dead one, family included, is replaced.
// Returns 1.
var createSessionScript = redis.NewScript(deadlineLua + `
local v = redis.call('HMGET', KEYS[1], 'l', 'i', 'e')
if v[3] and deadline(v[1], v[2], v[3]) > tonumber(ARGV[1]) then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIREAT', KEYS[1], ARGV[2])
return 1
`)

// touchSession: KEYS session. ARGV last seen, now. Moves l forward and the TTL to the new
// deadline. Returns 1, or 0 when the session is not live.
var touchSessionScript = redis.NewScript(deadlineLua + `
local v = redis.call('HMGET', KEYS[1], 'l', 'i', 'e')
if not v[3] then return 0 end
local old = deadline(v[1], v[2], v[3])
if old <= tonumber(ARGV[2]) then return 0 end
if tonumber(ARGV[1]) > tonumber(v[1]) then
  redis.call('HSET', KEYS[1], 'l', ARGV[1])
  local d = deadline(ARGV[1], v[2], v[3])
  if d ~= old then redis.call('PEXPIREAT', KEYS[1], fmt(d)) end
end
return 1
`)

// deleteSession: KEYS session. ARGV now. Deletes it with its family. Returns {live, user
// id}, or {0} when there was no session.
var deleteSessionScript = redis.NewScript(deadlineLua + `
local v = redis.call('HMGET', KEYS[1], 'l', 'i', 'e', 'u')
if not v[3] then return {0} end
redis.call('DEL', KEYS[1])
local live = 0
if deadline(v[1], v[2], v[3]) > tonumber(ARGV[1]) then live = 1 end
return {live, v[4]}
`)

// addRefresh: KEYS session. ARGV token field, value, now. Returns 1, 0 when the session is
// not live, 2 when the token is already in the family.
var addRefreshScript = redis.NewScript(deadlineLua + `
local v = redis.call('HMGET', KEYS[1], 'l', 'i', 'e')
if not v[3] then return 0 end
if deadline(v[1], v[2], v[3]) <= tonumber(ARGV[3]) then return 0 end
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 2 end
return 1
`)

// rotate: KEYS session. ARGV old token field, new token field, last seen, now.
// Returns {1, the session's sessionFields} after spending old and adding new; {0} when the
// session is not live or old is not in its family; {2, user id} when old was already
// spent, after deleting the session and its family; {3} when new is already in the family.
// It is the hot path of a refresh, so it makes two calls: one HMGET reads the record and
// both tokens, one HSET spends old, adds new and moves l (plus a PEXPIREAT when that moves
// an idle deadline). The deadline is computed inline: defining the helper function costs
// this script measurably.
var rotateScript = redis.NewScript(fmt.Sprintf(`
local s = redis.call('HMGET', KEYS[1], %s, ARGV[1], ARGV[2])
local U, L, I, E, OLD, NEW = %d, %d, %d, %d, %d, %d
if not s[E] then return {0} end
local l, i, e = tonumber(s[L]), tonumber(s[I]), tonumber(s[E])
local old = e
if i > 0 and l + i < e then old = l + i end
if old <= tonumber(ARGV[4]) then return {0} end
local v = s[OLD]
if not v then return {0} end
if string.byte(v, 1) == 115 then
  redis.call('DEL', KEYS[1])
  return {2, s[U]}
end
if s[NEW] then return {3} end
local spent = 's' .. v
local seen = tonumber(ARGV[3])
if seen > l then
  redis.call('HSET', KEYS[1], ARGV[1], spent, ARGV[2], ARGV[3], 'l', ARGV[3])
  s[L] = ARGV[3]
  if i > 0 then
    local d = e
    if seen + i < e then d = seen + i end
    if d ~= old then redis.call('PEXPIREAT', KEYS[1], string.format('%%.0f', d)) end
  end
else
  redis.call('HSET', KEYS[1], ARGV[1], spent, ARGV[2], ARGV[3])
end
s[OLD], s[NEW] = nil, nil
return {1, s}
`, luaList(sessionFields), iUser+1, iLastSeen+1, iIdle+1, iExpires+1, len(sessionFields)+1, len(sessionFields)+2))

// luaList writes names as a Lua argument list: 'a', 'b'.
func luaList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return strings.Join(q, ", ")
}

// indexUserSession: KEYS user's sessions. ARGV created, session id, expires, now. Adds the
// id and keeps the index until the latest absolute deadline of its sessions.
var indexUserSessionScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
local exp = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local ttl = redis.call('PTTL', KEYS[1])
if exp > now and (ttl < 0 or now + ttl < exp) then redis.call('PEXPIREAT', KEYS[1], ARGV[3]) end
return 1
`)

// hit: KEYS counter. ARGV window. INCR, and PEXPIRE on the first hit of a window.
// Returns {count, ms until the window resets}.
var hitScript = redis.NewScript(`
local n = redis.call('INCR', KEYS[1])
local ttl
if n == 1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
else
  ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
  elseif ttl == 0 then
    ttl = 1
  end
end
return {n, ttl}
`)

// pruneRevocationsLua removes up to 256 revocations expired at now (ARGV[1]) from both
// sets (KEYS at, expiry) and returns how many it removed.
const pruneRevocationsLua = `
local function prune(now)
  local dead = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 256)
  if #dead > 0 then
    redis.call('ZREM', KEYS[1], unpack(dead))
    redis.call('ZREM', KEYS[2], unpack(dead))
  end
  return #dead
end
`

// addRevocation: KEYS at, expiry. ARGV member, at, expires, now, channel. Prunes expired
// entries, adds the member to both sets, keeps the sets until the latest expiry, and
// publishes the member on the channel, all in one step: a subscriber that hears of it
// finds it stored.
var addRevocationScript = redis.NewScript(pruneRevocationsLua + `
prune(ARGV[4])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local exp = tonumber(ARGV[3])
local now = tonumber(ARGV[4])
local ttl = redis.call('PTTL', KEYS[2])
if exp > now and (ttl < 0 or now + ttl < exp) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
  redis.call('PEXPIREAT', KEYS[2], ARGV[3])
end
redis.call('PUBLISH', ARGV[5], ARGV[1])
return 1
`)

// pruneRevocations: KEYS at, expiry. ARGV now. Returns how many were removed (at most 256).
var pruneRevocationsScript = redis.NewScript(pruneRevocationsLua + `
return prune(ARGV[1])
`)
