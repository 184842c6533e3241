package redisstore

import (
	"fmt"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/store"
)

// The spend order counts its tokens in one byte and pushes one out only once it is full.
var (
	_ [store.SpentRefreshKept - 1]struct{}   // at least one spent token is kept
	_ [255 - store.SpentRefreshKept]struct{} // and at most 255
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

// createUser: KEYS user. ARGV username, password hash, roles, created, updated, disabled.
// Returns 1, or 0 when the id is taken.
var createUserScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'n', ARGV[1], 'h', ARGV[2], 'r', ARGV[3], 'c', ARGV[4], 'm', ARGV[5], 'd', ARGV[6])
return 1
`)

// updateUser: KEYS user. ARGV password hash, roles, updated, disabled ("1" or "0").
// Returns 1, or 0 when missing.
var updateUserScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], 'h', ARGV[1], 'r', ARGV[2], 'm', ARGV[3], 'd', ARGV[4])
return 1
`)

// releaseClaim: KEYS a claim (a username's, an API key id's). ARGV the value we claimed it
// with. Deletes the claim only if it is still ours.
var releaseClaimScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// A session is one hash: its record's fields (see sessionFields) and one field per token of
// its refresh family, "t:" + the token's SHA-256 -> "<created ms>", or "s<created ms>" once
// spent. The family thus expires with the session and goes with it in one DEL. Field q is
// the family's spend order, which bounds it: one byte counting the spent tokens it lists
// (at most store.SpentRefreshKept), then each spent token's hash as one length byte and the
// hash, oldest spend first. A spend that makes one too many deletes the field of the first.
// A release that kept every spent token wrote no q; the first script to meet such a family
// (a rotation, or adding a token) orders and trims it.

// queueLua makes the local q of a family that has none: a family written before spent
// tokens were queued, or one no token has joined yet. It queues the spent tokens by
// creation (in a chain, the spend order), deletes all but the last store.SpentRefreshKept,
// records their fields in dropped, and stores q if the family has any token. Defined inside
// the branch that needs it, so the rotation of a queued family never pays for it.
var queueLua = fmt.Sprintf(`
local all = redis.call('HGETALL', KEYS[1])
local spent, tokens = {}, false
for j = 1, #all, 2 do
  local f, val = all[j], all[j + 1]
  if string.sub(f, 1, 2) == 't:' then
    tokens = true
    if string.byte(val, 1) == 115 then spent[#spent + 1] = {tonumber(string.sub(val, 2)), f} end
  end
end
table.sort(spent, function(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] end
  return a[2] < b[2]
end)
local over = #spent - %[1]d
local parts, drop = {string.char(math.min(#spent, %[1]d))}, {}
for j, e in ipairs(spent) do
  if j <= over then
    dropped[e[2]] = true
    drop[#drop + 1] = e[2]
    if #drop == 1000 then
      redis.call('HDEL', KEYS[1], unpack(drop))
      drop = {}
    end
  else
    local h = string.sub(e[2], 3)
    parts[#parts + 1] = string.char(#h) .. h
  end
end
if #drop > 0 then redis.call('HDEL', KEYS[1], unpack(drop)) end
q = table.concat(parts)
if tokens then redis.call('HSET', KEYS[1], 'q', q) end
`, store.SpentRefreshKept)

// pushLua appends the hash of field ARGV[1] to the local q and, when that makes one spent
// token too many, drops the oldest from q and names its field in the local gone.
var pushLua = fmt.Sprintf(`
local h = string.sub(ARGV[1], 3)
local n = string.byte(q, 1)
if n < %[1]d then
  q = string.char(n + 1) .. string.sub(q, 2) .. string.char(#h) .. h
else
  local k = string.byte(q, 2)
  gone = 't:' .. string.sub(q, 3, 2 + k)
  q = string.char(n) .. string.sub(q, 3 + k) .. string.char(#h) .. h
end
`, store.SpentRefreshKept)

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

// addRefresh: KEYS session. ARGV token field, value, now, "1" if the token is spent.
// Returns 1, 0 when the session is not live, 2 when the token is already in the family. A
// spent token joins the spend order as the latest spend.
var addRefreshScript = redis.NewScript(deadlineLua + `
local v = redis.call('HMGET', KEYS[1], 'l', 'i', 'e', ARGV[1], 'q')
if not v[3] then return 0 end
if deadline(v[1], v[2], v[3]) <= tonumber(ARGV[3]) then return 0 end
if v[4] then return 2 end
local q, dropped, gone = v[5], {}, nil
if not q then` + queueLua + `end
if ARGV[4] == '1' then` + pushLua + `end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2], 'q', q)
if gone then redis.call('HDEL', KEYS[1], gone) end
return 1
`)

// rotate: KEYS session. ARGV old token field, new token field, last seen, now.
// Returns {1, the session's sessionFields} after spending old and adding new; {0} when the
// session is not live or old is not in its family; {2, user id} when old was already
// spent, after deleting the session and its family; {3} when new is already in the family.
// It is the hot path of a refresh, so it makes three calls: one HMGET reads the record,
// both tokens and the spend order, one HSET spends old, adds new, stores the order and
// moves l (plus a PEXPIREAT when that moves an idle deadline), and one HDEL forgets the
// spent token that the order pushed out, once the family has spent more than it keeps. The
// deadline is computed inline: defining the helper function costs this script measurably.
var rotateScript = redis.NewScript(fmt.Sprintf(`
local s = redis.call('HMGET', KEYS[1], %s, ARGV[1], ARGV[2], 'q')
local U, L, I, E, OLD, NEW, Q = %d, %d, %d, %d, %d, %d, %d
if not s[E] then return {0} end
local l, i, e = tonumber(s[L]), tonumber(s[I]), tonumber(s[E])
local old = e
if i > 0 and l + i < e then old = l + i end
if old <= tonumber(ARGV[4]) then return {0} end
local q, gone = s[Q], nil
if not q then
  local dropped = {}`+"%s"+`
  if dropped[ARGV[1]] then s[OLD] = nil end
  if dropped[ARGV[2]] then s[NEW] = nil end
end
local v = s[OLD]
if not v then return {0} end
if string.byte(v, 1) == 115 then
  redis.call('DEL', KEYS[1])
  return {2, s[U]}
end
if s[NEW] then return {3} end`+"%s"+`
local spent = 's' .. v
local seen = tonumber(ARGV[3])
if seen > l then
  redis.call('HSET', KEYS[1], ARGV[1], spent, ARGV[2], ARGV[3], 'q', q, 'l', ARGV[3])
  s[L] = ARGV[3]
  if i > 0 then
    local d = e
    if seen + i < e then d = seen + i end
    if d ~= old then redis.call('PEXPIREAT', KEYS[1], string.format('%%.0f', d)) end
  end
else
  redis.call('HSET', KEYS[1], ARGV[1], spent, ARGV[2], ARGV[3], 'q', q)
end
if gone then redis.call('HDEL', KEYS[1], gone) end
s[OLD], s[NEW], s[Q] = nil, nil, nil
return {1, s}
`, luaList(sessionFields), iUser+1, iLastSeen+1, iIdle+1, iExpires+1, len(sessionFields)+1, len(sessionFields)+2, len(sessionFields)+3,
	queueLua, pushLua))

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

// peekScript reads a rate-limit counter and the milliseconds left in its window; {0, 0}
// for none.
var peekScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if n == 0 or ttl == -2 then
  return {0, 0}
end
if ttl < 0 then
  ttl = 0
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

// createAPIKey: KEYS the key's record. ARGV expiry (ms, empty for never), then the record's
// field/value pairs. Returns 1, or 0 when a live key holds the hash.
var createAPIKeyScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
if ARGV[1] ~= '' then redis.call('PEXPIREAT', KEYS[1], ARGV[1]) end
return 1
`)

// releaseAPIKey: KEYS a key's record. ARGV key id. Deletes the record only if it is that
// key's (a creation undoing its own record).
var releaseAPIKeyScript = redis.NewScript(`
if redis.call('HGET', KEYS[1], 'i') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// indexAPIKey: KEYS the user's key index. ARGV key id, hash, expiry (ms, empty for never),
// now. Adds the key and keeps the index until the latest expiry of its keys, or for good
// while one of them never expires.
var indexAPIKeyScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '' then
  redis.call('PERSIST', KEYS[1])
elseif ttl == -2 or (ttl >= 0 and tonumber(ARGV[4]) + ttl < tonumber(ARGV[3])) then
  redis.call('PEXPIREAT', KEYS[1], ARGV[3])
end
return 1
`)

// unindexAPIKeys: KEYS a user's key index. ARGV pairs of key id and hash. Removes each id
// whose entry still names that hash, so that a key made again under the id stays listed.
var unindexAPIKeysScript = redis.NewScript(`
local n = 0
for j = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[j]) == ARGV[j + 1] then
    n = n + redis.call('HDEL', KEYS[1], ARGV[j])
  end
end
return n
`)

// deleteAPIKey: KEYS a key's record. ARGV key id, user id, now. Deletes the record if it is
// that key's and that user's. Returns 1 when it was live, 2 when it had just expired, 0
// when it is not theirs or gone.
var deleteAPIKeyScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'i', 'u', 'e')
if v[1] ~= ARGV[1] or v[2] ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
if v[3] and v[3] ~= '' and tonumber(v[3]) <= tonumber(ARGV[3]) then return 2 end
return 1
`)

// touchAPIKey: KEYS a key's record. ARGV key id, last used (ms), now. Moves l forward.
// Returns 1, or 0 when the record is not that key's or has expired.
var touchAPIKeyScript = redis.NewScript(`
local v = redis.call('HMGET', KEYS[1], 'i', 'e', 'l')
if v[1] ~= ARGV[1] then return 0 end
if v[2] and v[2] ~= '' and tonumber(v[2]) <= tonumber(ARGV[3]) then return 0 end
if not v[3] or v[3] == '' or tonumber(ARGV[2]) > tonumber(v[3]) then redis.call('HSET', KEYS[1], 'l', ARGV[2]) end
return 1
`)
