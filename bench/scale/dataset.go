package scale

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/authframe/authframe/core/store"
)

// The claims every dataset token carries, and that NewGuard requires.
const (
	Issuer   = "https://auth.scale.test"
	Audience = "scale-api"
)

// userAgent is as long as a browser's, so that the stored bytes per session are those of a
// real deployment.
const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

// Dataset names N users, each with one live token session holding a refresh family of one
// token, the way IssueTokens leaves them: ids, hashes and tokens are derived from Seed and
// the index, so every store is seeded with the same records and a token can be rebuilt at
// any time instead of being kept in memory.
type Dataset struct {
	// Seed tells this dataset's records from every other's (runs and sizes differ).
	Seed string
	N    int
	// Now is the dataset's clock: sessions were created an hour before it and live until
	// 30 days after it; Expired datasets ended an hour before it. Whole milliseconds, the
	// precision every store keeps.
	Now     time.Time
	Expired bool
	// Secret signs the tokens (HS256).
	Secret []byte
	// PasswordHash is one argon2id hash shared by every user: computing a million of them
	// would take hours and measure nothing of the stores.
	PasswordHash string
}

// Grown is d with n users: the same records, since each is derived from its index.
func (d *Dataset) Grown(n int) *Dataset {
	g := *d
	g.N = n
	return &g
}

func (d *Dataset) digest(kind string, i, gen int) [32]byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(i))
	binary.BigEndian.PutUint64(b[8:], uint64(gen))
	h := sha256.New()
	h.Write([]byte(d.Seed))
	h.Write([]byte{0})
	h.Write([]byte(kind))
	h.Write(b[:])
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// UserID is 22 characters, as the Guard's (16 random bytes, base64url).
func (d *Dataset) UserID(i int) string {
	s := d.digest("user", i, 0)
	return base64.RawURLEncoding.EncodeToString(s[:16])
}

// Username is unique within the dataset.
func (d *Dataset) Username(i int) string { return "user" + strconv.Itoa(i) }

// SessionID is 43 characters, as the Guard's (a SHA-256, base64url).
func (d *Dataset) SessionID(i int) string {
	s := d.digest("session", i, 0)
	return base64.RawURLEncoding.EncodeToString(s[:])
}

// RefreshHash is the SHA-256 of the gen-th refresh token of session i: the seeded token is
// generation 0, each rotation moves to the next.
func (d *Dataset) RefreshHash(i, gen int) []byte {
	s := d.digest("refresh", i, gen)
	return s[:]
}

// User is user i.
func (d *Dataset) User(i int) store.User {
	created := d.Now.Add(-48 * time.Hour)
	return store.User{ID: d.UserID(i), Username: d.Username(i), PasswordHash: d.PasswordHash, Roles: []string{"member"},
		CreatedAt: created, UpdatedAt: created}
}

// Session is user i's session.
func (d *Dataset) Session(i int) store.Session {
	created := d.Now.Add(-time.Hour)
	expires := d.Now.Add(30 * 24 * time.Hour)
	if d.Expired {
		created = d.Now.Add(-31 * 24 * time.Hour)
		expires = d.Now.Add(-time.Hour)
	}
	return store.Session{ID: d.SessionID(i), UserID: d.UserID(i), Username: d.Username(i), Roles: []string{"member"},
		Kind: "token", UserAgent: userAgent, IP: "203.0.113." + strconv.Itoa(i%250+1),
		CreatedAt: created, LastSeenAt: created, ExpiresAt: expires}
}

// Refresh is the seeded refresh token of session i.
func (d *Dataset) Refresh(i int) store.RefreshToken {
	s := d.Session(i)
	return store.RefreshToken{SessionID: s.ID, Hash: d.RefreshHash(i, 0), CreatedAt: s.CreatedAt}
}

var tokenHeader = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"at+jwt"}`))

// Token is the access token of session i as the Guard signs them (HS256, typ at+jwt, iss,
// aud, sub, sid, jti, roles), valid from a minute before Now until two hours after it.
// The same i always gives the same bytes.
func (d *Dataset) Token(i int) string {
	iat := d.Now.Add(-time.Minute).Unix()
	b := make([]byte, 0, 320)
	b = append(b, tokenHeader...)
	b = append(b, '.')
	payload := make([]byte, 0, 256)
	payload = append(payload, `{"iss":"`+Issuer+`","sub":"`...)
	payload = append(payload, d.UserID(i)...)
	payload = append(payload, `","aud":["`+Audience+`"],"exp":`...)
	payload = strconv.AppendInt(payload, d.Now.Add(2*time.Hour).Unix(), 10)
	payload = append(payload, `,"nbf":`...)
	payload = strconv.AppendInt(payload, iat, 10)
	payload = append(payload, `,"iat":`...)
	payload = strconv.AppendInt(payload, iat, 10)
	payload = append(payload, `,"jti":"j`...)
	payload = strconv.AppendInt(payload, int64(i), 10)
	payload = append(payload, `","sid":"`...)
	payload = append(payload, d.SessionID(i)...)
	payload = append(payload, `","roles":["member"],"preferred_username":"`...)
	payload = append(payload, d.Username(i)...)
	payload = append(payload, `"}`...)
	b = base64.RawURLEncoding.AppendEncode(b, payload)
	m := hmac.New(sha256.New, d.Secret)
	m.Write(b)
	sig := m.Sum(nil)
	b = append(b, '.')
	b = base64.RawURLEncoding.AppendEncode(b, sig)
	return string(b)
}
