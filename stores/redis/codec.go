package redisstore

import (
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authframe/authframe/core/store"
)

// keys names every key of one store. The part in braces is the hash tag: Redis Cluster
// places keys by it, so the keys that one script touches (the global indexes; the two
// revocation sets) share a slot. A session and its refresh family are one hash, so one
// key. See the README.
type keys struct {
	prefix   string
	users    string // zset of every user id, score 0 (lexicographic paging for the export)
	sessions string // zset of every session id, score 0 (lexicographic paging for the export)
	live     string // zset of every session id by deadline (ms), repaired against the TTL
	families string // zset of the token sessions' ids by deadline (ms)
	revAt    string // zset of encoded revocations by At (ms)
	revExp   string // the same members by ExpiresAt (ms), for pruning
	channel  string // pub/sub channel of new revocations
	clients  string // hash of every service client: id -> the packed record
}

func newKeys(prefix string) keys {
	return keys{
		prefix:   prefix,
		users:    prefix + "{index}:users",
		sessions: prefix + "{index}:sessions",
		live:     prefix + "{index}:live",
		families: prefix + "{index}:families",
		revAt:    prefix + "{revocations}:at",
		revExp:   prefix + "{revocations}:expiry",
		channel:  prefix + "revocations",
		clients:  prefix + "clients",
	}
}

func (k *keys) user(id string) string         { return k.prefix + "user:" + id }
func (k *keys) userSessions(id string) string { return k.prefix + "user-sessions:" + id }
func (k *keys) username(name string) string   { return k.prefix + "username:" + name }
func (k *keys) session(id string) string      { return k.prefix + "session:" + id }
func (k *keys) rate(key string) string        { return k.prefix + "rate:" + key }

// The signing-key ring and its rotation lock share a hash tag (see signingkeys.go).
func (k *keys) ring() string    { return k.prefix + "{signing-keys}:ring" }
func (k *keys) keyLock() string { return k.prefix + "{signing-keys}:lock" }

// An API key's record is named by its hash, so that the lookup of every request that
// presents the key is one read; the claim on its id leads from the id to the hash.
func (k *keys) apiKey(hash []byte) string    { return k.prefix + "apikey:" + hex.EncodeToString(hash) }
func (k *keys) apiKeyID(id string) string    { return k.prefix + "apikey-id:" + id }
func (k *keys) userAPIKeys(id string) string { return k.prefix + "user-apikeys:" + id }

func (k *keys) mfa(userID string) string { return k.prefix + "mfa:" + userID }
func (k *keys) replay(key string) string { return k.prefix + "replay:" + key }

// Times are kept as Unix milliseconds, durations as milliseconds: the precision every
// store keeps, and exact in the doubles of Redis's Lua.

func ms(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }

func fromMS(s string) (time.Time, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: time %q", ErrCorrupt, s)
	}
	return time.UnixMilli(n).UTC(), nil
}

// optMS writes an optional time: "" for the zero time (never).
func optMS(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return ms(t)
}

func fromOptMS(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return fromMS(s)
}

// encodeRoles writes each role as <length>:<bytes>, so that a role may hold any byte. The
// packed part of a session record is a list written the same way.
func encodeRoles(roles []string) string {
	n := 0
	for _, r := range roles {
		n += len(r) + 4
	}
	b := make([]byte, 0, n)
	for _, r := range roles {
		b = strconv.AppendInt(b, int64(len(r)), 10)
		b = append(b, ':')
		b = append(b, r...)
	}
	return string(b)
}

func decodeRoles(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	// Count first (the first pass also checks the encoding), so that the slice is made
	// once at its size.
	n := 0
	for rest := s; rest != ""; n++ {
		var ok bool
		if _, rest, ok = cutRole(rest); !ok {
			return nil, fmt.Errorf("%w: roles", ErrCorrupt)
		}
	}
	roles := make([]string, 0, n)
	for s != "" {
		var role string
		role, s, _ = cutRole(s)
		roles = append(roles, role)
	}
	return roles, nil
}

// cutRole reads the first "len:role" of s; ok is false when s does not start with one.
func cutRole(s string) (role, rest string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i <= 0 {
		return "", "", false
	}
	n, err := strconv.Atoi(s[:i])
	if err != nil || n < 0 || n > len(s)-i-1 {
		return "", "", false
	}
	return s[i+1 : i+1+n], s[i+1+n:], true
}

// User hash fields.
const (
	uName     = "n"
	uPassword = "h"
	uRoles    = "r"
	uCreated  = "c"
	uUpdated  = "m"
	// uDisabled is "1" for a disabled user; absent (users written before the flag existed)
	// or "0" for an enabled one.
	uDisabled = "d"
)

func userArgs(u *store.User) []any {
	return []any{u.Username, u.PasswordHash, encodeRoles(u.Roles), ms(u.CreatedAt), ms(u.UpdatedAt), flag(u.Disabled)}
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func decodeUser(id string, m map[string]string) (store.User, error) {
	u := store.User{ID: id, Username: m[uName], PasswordHash: m[uPassword]}
	var err error
	if u.Roles, err = decodeRoles(m[uRoles]); err != nil {
		return store.User{}, err
	}
	if u.CreatedAt, err = fromMS(m[uCreated]); err != nil {
		return store.User{}, err
	}
	if u.UpdatedAt, err = fromMS(m[uUpdated]); err != nil {
		return store.User{}, err
	}
	switch m[uDisabled] {
	case "", "0":
	case "1":
		u.Disabled = true
	default:
		return store.User{}, fmt.Errorf("%w: disabled flag %q", ErrCorrupt, m[uDisabled])
	}
	return u, nil
}

// A session hash has five fields of its own: the ones the scripts use (u, l, i, e) as plain
// strings and numbers, and d, the rest of the record packed into one string, so that a
// lookup or a rotation moves five values rather than eleven (a rotation's script pays for
// every value it converts). Its refresh tokens are further fields (see refreshField).
const (
	sData     = "d"
	sUser     = "u"
	sLastSeen = "l"
	sIdle     = "i"
	sExpires  = "e"
)

// sessionFields is the order in which a session hash is read with HMGET, by Go and by the
// rotate script alike; the i* constants index it.
var sessionFields = []string{sData, sUser, sLastSeen, sIdle, sExpires}

// sessionFieldArgs are sessionFields as command arguments, boxed once.
var sessionFieldArgs = func() []any {
	a := make([]any, len(sessionFields))
	for i, f := range sessionFields {
		a[i] = f
	}
	return a
}()

const (
	iData = iota
	iUser
	iLastSeen
	iIdle
	iExpires
)

// packVersion leads d, so that a later layout can be told apart. Version 1 has the eight
// values of a session before sessions kept their login's methods; version 2 adds the AMR
// and the auth time. Both are read; version 2 is written.
const (
	packVersion1 = "1"
	packVersion  = "2"
)

// packBase and packBase2 are the number of values a packed record of version 1 and 2
// holds; one more, the last, is the DPoP key thumbprint (store.Session.JKT) of a bound
// family, written only when set.
const (
	packBase  = 8
	packBase2 = 10
)

// sessionArgs returns the field/value pairs of a session hash. The JKT is written only
// when set, so that the records of unbound sessions stay readable by releases before it.
func sessionArgs(s *store.Session) []any {
	vals := []string{packVersion, s.Username, encodeRoles(s.Roles), s.Kind, string(s.CSRFHash), s.UserAgent, s.IP, ms(s.CreatedAt),
		encodeRoles(s.AMR), optMS(s.AuthTime)}
	if s.JKT != "" {
		vals = append(vals, s.JKT)
	}
	d := encodeRoles(vals)
	return []any{
		sData, d, sUser, s.UserID, sLastSeen, ms(s.LastSeenAt),
		sIdle, strconv.FormatInt(s.IdleTimeout.Milliseconds(), 10), sExpires, ms(s.ExpiresAt),
	}
}

// decodeSession decodes the values of sessionFields as HMGET returns them. found is false
// when the hash does not exist (every value nil).
func decodeSession(id string, vals []any) (se store.Session, found bool, err error) {
	if len(vals) != len(sessionFields) {
		return store.Session{}, false, fmt.Errorf("%w: session reply of %d values", ErrCorrupt, len(vals))
	}
	var str [iExpires + 1]string
	n := 0
	for i, v := range vals {
		if v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return store.Session{}, false, fmt.Errorf("%w: session field %s", ErrCorrupt, sessionFields[i])
		}
		str[i] = s
		n++
	}
	if n == 0 {
		return store.Session{}, false, nil
	}
	if n != len(sessionFields) {
		return store.Session{}, false, fmt.Errorf("%w: session hash misses fields", ErrCorrupt)
	}
	d, err := decodeRoles(str[iData])
	if err != nil || !(d[0] == packVersion1 && (len(d) == packBase || len(d) == packBase+1) ||
		d[0] == packVersion && (len(d) == packBase2 || len(d) == packBase2+1)) {
		return store.Session{}, false, fmt.Errorf("%w: session record", ErrCorrupt)
	}
	se = store.Session{ID: id, UserID: str[iUser], Username: d[1], Kind: d[3], UserAgent: d[5], IP: d[6]}
	if n := packBase; d[0] == packVersion1 && len(d) > n {
		se.JKT = d[n]
	} else if n := packBase2; d[0] == packVersion && len(d) > n {
		se.JKT = d[n]
	}
	if d[4] != "" {
		se.CSRFHash = []byte(d[4])
	}
	if se.Roles, err = decodeRoles(d[2]); err != nil {
		return store.Session{}, false, err
	}
	if se.CreatedAt, err = fromMS(d[7]); err != nil {
		return store.Session{}, false, err
	}
	if se.LastSeenAt, err = fromMS(str[iLastSeen]); err != nil {
		return store.Session{}, false, err
	}
	if se.ExpiresAt, err = fromMS(str[iExpires]); err != nil {
		return store.Session{}, false, err
	}
	idle, err := strconv.ParseInt(str[iIdle], 10, 64)
	if err != nil {
		return store.Session{}, false, fmt.Errorf("%w: idle timeout %q", ErrCorrupt, str[iIdle])
	}
	se.IdleTimeout = time.Duration(idle) * time.Millisecond
	if d[0] == packVersion {
		if se.AMR, err = decodeRoles(d[8]); err != nil {
			return store.Session{}, false, err
		}
		if se.AuthTime, err = fromOptMS(d[9]); err != nil {
			return store.Session{}, false, err
		}
	}
	return se, true, nil
}

// A revocation is one string, the member of both revocation sets and the message on the
// channel: v1|<kind>|<at ms>|<expires ms>|<key>. The key comes last so that it may hold
// any byte.
func encodeRevocation(r store.Revocation) string {
	b := make([]byte, 0, 40+len(r.Kind)+len(r.Key))
	b = append(b, "v1|"...)
	b = append(b, r.Kind...)
	b = append(b, '|')
	b = strconv.AppendInt(b, r.At.UnixMilli(), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, r.ExpiresAt.UnixMilli(), 10)
	b = append(b, '|')
	b = append(b, r.Key...)
	return string(b)
}

func decodeRevocation(s string) (store.Revocation, error) {
	rest, ok := strings.CutPrefix(s, "v1|")
	if !ok {
		return store.Revocation{}, errBadRevocation
	}
	// kind|at|expires|key: the key, last, may itself hold "|".
	kind, rest, ok1 := strings.Cut(rest, "|")
	atMS, rest, ok2 := strings.Cut(rest, "|")
	expMS, key, ok3 := strings.Cut(rest, "|")
	if !ok1 || !ok2 || !ok3 {
		return store.Revocation{}, errBadRevocation
	}
	at, err := fromMS(atMS)
	if err != nil {
		return store.Revocation{}, errBadRevocation
	}
	exp, err := fromMS(expMS)
	if err != nil {
		return store.Revocation{}, errBadRevocation
	}
	return store.Revocation{Kind: store.RevocationKind(kind), Key: key, At: at, ExpiresAt: exp}, nil
}

// errBadRevocation is a revocation member that does not decode; made once, since the
// feed and every revocation check decode members.
var errBadRevocation = fmt.Errorf("%w: revocation", ErrCorrupt)

// A refresh token is a field of its session's hash: "t:" + its hash (raw bytes) -> its
// creation time in Unix ms, with an "s" in front once it is spent. Spending is one
// concatenation in the rotate script, and a new token's value is the script's argument.
const (
	tokenField  = "t:"
	spentMarker = "s"
	// spentOrderField is the family's spend order (see the scripts).
	spentOrderField = "q"
	// maxRefreshHash is the longest hash the spend order can hold.
	maxRefreshHash = 255
)

func refreshField(hash []byte) string { return tokenField + string(hash) }

func refreshValue(spent bool, created time.Time) string {
	if spent {
		return spentMarker + ms(created)
	}
	return ms(created)
}

func decodeRefresh(sessionID, hash, value string) (store.RefreshToken, error) {
	created, spent := strings.CutPrefix(value, spentMarker)
	at, err := fromMS(created)
	if err != nil {
		return store.RefreshToken{}, fmt.Errorf("%w: refresh token", ErrCorrupt)
	}
	return store.RefreshToken{SessionID: sessionID, Hash: []byte(hash), Spent: spent, CreatedAt: at}, nil
}

// A client is one field of the clients hash: its id -> the record packed as a list, like a
// session's d: version, name, scopes, secret hash, created, "1" when disabled.
func encodeClient(c *store.Client) string {
	disabled := ""
	if c.Disabled {
		disabled = "1"
	}
	return encodeRoles([]string{clientPackVersion, c.Name, encodeRoles(c.Scopes), string(c.SecretHash), ms(c.CreatedAt), disabled})
}

// clientPackVersion leads a client's packed record. It is the clients' own: the sessions'
// layout moves on without making the clients written before unreadable.
const clientPackVersion = "1"

func decodeClient(id, v string) (store.Client, error) {
	d, err := decodeRoles(v)
	if err != nil || len(d) != 6 || d[0] != clientPackVersion {
		return store.Client{}, fmt.Errorf("%w: client record", ErrCorrupt)
	}
	c := store.Client{ID: id, Name: d[1], Disabled: d[5] == "1"}
	if d[3] != "" {
		c.SecretHash = []byte(d[3])
	}
	if c.Scopes, err = decodeRoles(d[2]); err != nil {
		return store.Client{}, err
	}
	if c.CreatedAt, err = fromMS(d[4]); err != nil {
		return store.Client{}, err
	}
	return c, nil
}

// API key hash fields. The scripts read i, u, e and l; e and l are "" for never.
const (
	kID       = "i"
	kUser     = "u"
	kName     = "n"
	kPerms    = "p"
	kCreated  = "c"
	kExpires  = "e"
	kLastUsed = "l"
	kUsername = "un"
)

func apiKeyArgs(k *store.APIKey) []any {
	return []any{
		kID, k.ID, kUser, k.UserID, kName, k.Name, kPerms, encodeRoles(k.Permissions),
		kCreated, ms(k.CreatedAt), kExpires, optMS(k.ExpiresAt), kLastUsed, optMS(k.LastUsedAt),
		kUsername, k.Username,
	}
}

// decodeAPIKey decodes the record of the key whose hash is hash. found is false when the
// record does not exist.
func decodeAPIKey(hash []byte, m map[string]string) (k store.APIKey, found bool, err error) {
	if len(m) == 0 {
		return store.APIKey{}, false, nil
	}
	id, ok := m[kID]
	if !ok || id == "" {
		return store.APIKey{}, false, fmt.Errorf("%w: API key record without an id", ErrCorrupt)
	}
	k = store.APIKey{ID: id, UserID: m[kUser], Username: m[kUsername], Name: m[kName], Hash: hash}
	if k.Permissions, err = decodeRoles(m[kPerms]); err != nil {
		return store.APIKey{}, false, err
	}
	if k.CreatedAt, err = fromMS(m[kCreated]); err != nil {
		return store.APIKey{}, false, err
	}
	if k.ExpiresAt, err = fromOptMS(m[kExpires]); err != nil {
		return store.APIKey{}, false, err
	}
	if k.LastUsedAt, err = fromOptMS(m[kLastUsed]); err != nil {
		return store.APIKey{}, false, err
	}
	return k, true, nil
}
