package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors shared by every store. Callers match them with errors.Is.
var (
	// ErrConflict: a unique value (a username, a session id) is already taken.
	ErrConflict = errors.New("store: conflict")
	// ErrNotFound: the record an update or a spend names does not exist or has expired.
	ErrNotFound = errors.New("store: not found")
	// ErrRefreshReused: a refresh token that was already spent was presented again.
	// The store has revoked the whole family (its session and every refresh token of it)
	// in the same atomic step.
	ErrRefreshReused = errors.New("store: refresh token reused")
)

// User is an account. PasswordHash is a PHC-format argon2id string; no store ever holds a
// raw password.
type User struct {
	ID           string
	Username     string
	PasswordHash string
	Roles        []string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	// Disabled keeps the account on record while refusing it: the Guard answers its
	// password like a wrong one (after the same hash work) and refuses to refresh or renew
	// its sessions. Whoever disables a user also revokes their tokens (a RevokeUser
	// revocation), since tokens already issued are not looked up again.
	Disabled bool
}

// Session is a server-side session. The same record backs a browser session (a cookie) and
// a token session (the family of refresh tokens issued at one login, on one device): its ID
// is the `sid` claim of every access token issued under it.
//
// ID is a public handle derived by hashing the secret the client holds (the cookie value),
// so the store never sees that secret and the handle can be listed and shown safely.
type Session struct {
	ID       string
	UserID   string
	Username string
	Roles    []string
	// Kind is "cookie" for a browser session and "token" for a bearer token family.
	Kind string
	// CSRFHash is the SHA-256 of the session's CSRF token (empty for token sessions).
	CSRFHash  []byte
	UserAgent string
	IP        string
	CreatedAt time.Time
	// LastSeenAt moves with activity (throttled); the idle deadline is LastSeenAt+IdleTimeout.
	LastSeenAt  time.Time
	IdleTimeout time.Duration
	// ExpiresAt is the absolute deadline, never extended.
	ExpiresAt time.Time
	// AMR are the authentication methods of the login that started the session (RFC 8176:
	// "pwd", "otp", ...), which the tokens and principals of the session carry; AuthTime is
	// when that login happened. A refresh or a renewal keeps both.
	AMR      []string
	AuthTime time.Time
	// JKT is the RFC 7638 thumbprint of the DPoP key a token family is bound to (RFC
	// 9449), empty for an unbound family or a cookie session. It never changes.
	JKT string
}

// Deadline is the moment the session stops being live: the sooner of its absolute deadline
// and its idle deadline.
func (s *Session) Deadline() time.Time {
	if s.IdleTimeout > 0 {
		if idle := s.LastSeenAt.Add(s.IdleTimeout); idle.Before(s.ExpiresAt) {
			return idle
		}
	}
	return s.ExpiresAt
}

// Live reports whether the session is still valid at now.
func (s *Session) Live(now time.Time) bool { return now.Before(s.Deadline()) }

// RefreshToken is one refresh token of a session's family, stored by the SHA-256 of the
// token. A spent token is kept (Spent=true) while it is one of the family's last
// SpentRefreshKept spent tokens, so that its reuse is recognised (see RefreshStore).
type RefreshToken struct {
	SessionID string
	Hash      []byte
	Spent     bool
	CreatedAt time.Time
}

// RevocationKind says what a revocation covers.
type RevocationKind string

const (
	// RevokeSession: every token whose sid is Key.
	RevokeSession RevocationKind = "session"
	// RevokeToken: the token whose jti is Key.
	RevokeToken RevocationKind = "token"
	// RevokeUser: every token of user Key issued at or before At.
	RevokeUser RevocationKind = "user"
	// RevokeClient: every token whose client_id is Key (a service client, see ClientStore).
	RevokeClient RevocationKind = "client"
	// RevokeAPIKey: the API key whose id is Key (see APIKeyStore).
	RevokeAPIKey RevocationKind = "api_key"
)

// Known reports whether k is one of the kinds above. A store keeps and replays a
// revocation of any kind, so that instances of a newer release can tell each other about
// kinds this one does not know; a cache that checks what it carries refuses the others.
func (k RevocationKind) Known() bool {
	switch k {
	case RevokeSession, RevokeToken, RevokeUser, RevokeClient, RevokeAPIKey:
		return true
	}
	return false
}

// Revocation is an entry of the revocation set. It is kept until ExpiresAt, after which no
// token it could cover is still valid.
type Revocation struct {
	Kind      RevocationKind
	Key       string
	At        time.Time
	ExpiresAt time.Time
	// MAC authenticates a revocation carried by a shared cache between instances: the
	// Guard sets it before publishing and drops a received one whose MAC does not verify.
	// A cache carries it as opaque bytes; a store need not keep it.
	MAC []byte
}

// Client is a service client of the OAuth 2.0 client credentials grant. SecretHash is the
// hash of its secret, computed by the caller: no store ever sees the secret.
type Client struct {
	ID         string
	Name       string
	Scopes     []string
	SecretHash []byte
	CreatedAt  time.Time
	// Disabled keeps the client on record while refusing it; stores keep the flag as given.
	Disabled bool
}

// APIKey is a long-lived credential that a user made for scripts and CI. Hash is the hash
// of the key, computed by the caller: no store ever sees the key. The key is found by its
// hash when presented, and named by ID when its owner lists or deletes it.
type APIKey struct {
	ID     string
	UserID string
	// Username is the owner's username, kept with the key so that a key seen for the first
	// time is verified with one store round trip (usernames never change).
	Username    string
	Name        string
	Permissions []string
	Hash        []byte
	CreatedAt   time.Time
	// ExpiresAt is when the key stops working; zero: never.
	ExpiresAt time.Time
	// LastUsedAt is zero until the first TouchAPIKey.
	LastUsedAt time.Time
}

// Live reports whether the key is still valid at now.
func (k *APIKey) Live(now time.Time) bool { return k.ExpiresAt.IsZero() || now.Before(k.ExpiresAt) }

// UserStore keeps accounts.
type UserStore interface {
	// CreateUser stores u; ErrConflict when the username or id is taken.
	CreateUser(ctx context.Context, u User) error
	GetUser(ctx context.Context, id string) (User, bool, error)
	GetUserByUsername(ctx context.Context, username string) (User, bool, error)
	// UpdateUser replaces the password hash, roles, Disabled flag and UpdatedAt of an
	// existing user; ErrNotFound otherwise.
	UpdateUser(ctx context.Context, u User) error
}

// SessionStore keeps sessions. Expired sessions are never returned.
type SessionStore interface {
	// CreateSession stores s; ErrConflict when the id exists.
	CreateSession(ctx context.Context, s Session) error
	GetSession(ctx context.Context, id string) (Session, bool, error)
	// TouchSession moves LastSeenAt (and so the idle deadline) of a live session;
	// ErrNotFound when it is gone.
	TouchSession(ctx context.Context, id string, lastSeen time.Time) error
	// DeleteSession removes the session and every refresh token of its family.
	// It reports whether the session existed.
	DeleteSession(ctx context.Context, id string) (bool, error)
	// ListSessions returns the live sessions of a user, oldest first.
	ListSessions(ctx context.Context, userID string) ([]Session, error)
}

// SpentRefreshKept is how many spent tokens a refresh family keeps: its last
// SpentRefreshKept spends. See RefreshStore.
const SpentRefreshKept = 32

// RefreshStore keeps the refresh-token family of each session.
//
// A family holds its unspent token (one, unless AddRefreshToken added more: a rotation
// spends one and adds one) and its last SpentRefreshKept spent tokens; the rotation that
// spends one more forgets the oldest spent one in the same atomic step. The storage of a
// family is thus bounded however often its holder refreshes: keeping every spent token for
// the family's lifetime would let one token holder grow the store without limit by looping
// on refresh.
//
// A token spent more than SpentRefreshKept rotations ago is therefore unknown (ErrNotFound)
// rather than a detected reuse: it is refused all the same, but its replay no longer
// revokes the family. A client never presents a token it has rotated, so a late replay is
// a thief's, and a thief who replays a token the client spent long ago gets nothing either
// way. What detection gives up is narrower: a thief who spends a stolen token first and
// then refreshes more than SpentRefreshKept times before the client's next refresh is no
// longer caught by that refresh; the client's token is refused and it must log in again,
// while the thief's family lives on until it expires or is revoked. That is the price of a
// store that no token holder can fill.
type RefreshStore interface {
	// AddRefreshToken stores a fresh, unspent token of a live session; ErrNotFound when the
	// session is gone, ErrConflict when the hash is already in the family. A token added
	// with Spent=true (a migration copying a family) counts as the family's most recent
	// spend, and so may push the oldest spent token out.
	AddRefreshToken(ctx context.Context, t RefreshToken) error
	// RotateRefreshToken atomically spends the token (sessionID, oldHash) and stores newHash
	// in the same family, moving the session's LastSeenAt to now. It returns the session.
	// An unknown token (including one spent more than SpentRefreshKept rotations ago) or a
	// dead session gives ErrNotFound; a token already spent gives ErrRefreshReused after
	// deleting the session and its whole family in the same step; a newHash already in the
	// family gives ErrConflict and spends nothing.
	RotateRefreshToken(ctx context.Context, sessionID string, oldHash, newHash []byte, now time.Time) (Session, error)
}

// RevocationStore persists revocations so that every instance sharing the store honours
// them, including instances that start later.
type RevocationStore interface {
	AddRevocation(ctx context.Context, r Revocation) error
	// RevocationsSince returns the unexpired revocations with At >= since, oldest first.
	RevocationsSince(ctx context.Context, since time.Time) ([]Revocation, error)
}

// RateLimitStore counts attempts in fixed windows.
type RateLimitStore interface {
	// Hit counts one attempt for key in the current window and returns the count so far
	// (including this one) and the time left until the window resets. The first hit of a
	// window starts it.
	Hit(ctx context.Context, key string, window time.Duration) (count int64, reset time.Duration, err error)
}

// RateLimitPeeker is an optional ability of a RateLimitStore: it reads a counter without
// counting. The Guard uses it where only failures count but every attempt must be refused
// once they reach the limit (service-client authentication). Every built-in store
// implements it.
type RateLimitPeeker interface {
	// Peek returns the count of key in its current window and the time left until it
	// resets; 0 and 0 when the window has ended or never started.
	Peek(ctx context.Context, key string) (count int64, reset time.Duration, err error)
}

// Store is everything the Guard needs from persistence.
type Store interface {
	UserStore
	SessionStore
	RefreshStore
	RevocationStore
	RateLimitStore
	// Ping reports whether the store answers.
	Ping(ctx context.Context) error
}

// RevocationWatcher receives revocations from a RevocationFeed.
type RevocationWatcher interface {
	// Revoked is called for each revocation, including replays after a reconnect.
	Revoked(r Revocation)
	// Synced reports whether the feed is connected and caught up (true), or lost (false):
	// while it is false, revocations made elsewhere may be missed.
	Synced(ok bool)
}

// RevocationFeed is an optional ability of a store or cache: it pushes revocations made by
// other instances.
type RevocationFeed interface {
	// WatchRevocations delivers revocations to w until ctx ends. On every (re)connection it
	// replays what was added since the last revocation it delivered, then calls
	// w.Synced(true).
	WatchRevocations(ctx context.Context, w RevocationWatcher) error
}

// ClientStore keeps the service clients of the OAuth 2.0 client credentials grant.
//
// It is an optional ability of a store, found by type assertion, and not part of Store: a
// Guard over a store without it keeps working, with service clients unavailable. Every
// built-in store implements it.
type ClientStore interface {
	// CreateClient stores c; ErrConflict when the id is taken.
	CreateClient(ctx context.Context, c Client) error
	// GetClient returns the client, disabled or not.
	GetClient(ctx context.Context, id string) (Client, bool, error)
	// ListClients returns every client, oldest first.
	ListClients(ctx context.Context) ([]Client, error)
	// DeleteClient removes the client and reports whether it existed. Tokens already issued
	// to it are the caller's to revoke (RevokeClient).
	DeleteClient(ctx context.Context, id string) (bool, error)
}

// APIKeyStore keeps users' API keys. Expired keys are never returned, and their id and
// hash may be taken again.
//
// It is an optional ability of a store, found by type assertion, and not part of Store: a
// Guard over a store without it keeps working, with API keys unavailable. Every built-in
// store implements it.
type APIKeyStore interface {
	// CreateAPIKey stores k; ErrConflict when its id or its hash belongs to a live key.
	CreateAPIKey(ctx context.Context, k APIKey) error
	// GetAPIKeyByHash returns the live key whose Hash is hash.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (APIKey, bool, error)
	// ListAPIKeys returns the live keys of a user, oldest first.
	ListAPIKeys(ctx context.Context, userID string) ([]APIKey, error)
	// DeleteAPIKey removes the key id of user userID and reports whether it was live. The
	// key of another user is left alone and reported as false, as a missing one is.
	DeleteAPIKey(ctx context.Context, userID, id string) (bool, error)
	// TouchAPIKey moves LastUsedAt of a live key to at; it only moves forward, so touches
	// arriving out of order from several instances keep the latest. ErrNotFound when the
	// key is gone or expired.
	TouchAPIKey(ctx context.Context, id string, at time.Time) error
}

// KeyState is where a signing key stands in a rotation.
type KeyState string

const (
	// KeyNext: published (in the JWKS, and verifying) ahead of signing, so that every
	// instance and every client knows it before the first token it signs.
	KeyNext KeyState = "next"
	// KeyActive: the one key that signs; it verifies too.
	KeyActive KeyState = "active"
	// KeyRetiring: signs no more, and keeps verifying until the longest token it signed
	// has expired.
	KeyRetiring KeyState = "retiring"
)

// Valid reports whether s is one of the states above.
func (s KeyState) Valid() bool {
	switch s {
	case KeyNext, KeyActive, KeyRetiring:
		return true
	}
	return false
}

// SigningKey is one key of a signing-key ring kept in a store (see KeyStore). Sealed is
// the private key encrypted by the caller under a key-encryption key the store never
// sees, so the store holds no key in the clear.
type SigningKey struct {
	// ID is the key's kid.
	ID string
	// Algorithm is its JWS algorithm (EdDSA, ES256, ...).
	Algorithm string
	State     KeyState
	Sealed    []byte
	// CreatedAt is when the key was published.
	CreatedAt time.Time
	// ActiveAt is when a next key is due to sign, or when an active or retiring one
	// started to.
	ActiveAt time.Time
	// RetiredAt is when a retiring key stopped signing (zero for the other states).
	RetiredAt time.Time
	// ExpiresAt is when a retiring key may be removed: the last token it signed has
	// expired by then (zero for the other states).
	ExpiresAt time.Time
}

// KeyStore keeps the signing-key ring of automatic key rotation (core/keys), shared by
// every instance, and the lock that lets one instance at a time change it.
//
// The ring is written whole: a rotation step (a key published, promoted, retired or
// removed) is one atomic write, so an instance that dies in the middle of a step leaves
// either the ring before it or the ring after it. The write is conditional on the version
// read, so even a step that outlived its lock cannot overwrite a newer ring.
//
// It is an optional ability of a store, found by type assertion, and not part of Store.
// Every built-in store implements it.
type KeyStore interface {
	// SigningKeys returns the ring, oldest key first, and its version: 0 for a ring never
	// written, and a new, greater number after every write.
	SigningKeys(ctx context.Context) (keys []SigningKey, version int64, err error)
	// PutSigningKeys replaces the whole ring with keys in one atomic write, provided its
	// version is still version, and returns the new version; ErrConflict when another
	// write came in between.
	PutSigningKeys(ctx context.Context, keys []SigningKey, version int64) (int64, error)
	// AcquireKeyLock takes the rotation lock for owner until ttl has passed, or extends it
	// when owner holds it already. It reports false, and changes nothing, while another
	// owner holds it: never two holders at once. A holder that dies without releasing it
	// frees it when the ttl ends.
	AcquireKeyLock(ctx context.Context, owner string, ttl time.Duration) (bool, error)
	// ReleaseKeyLock frees the lock if owner holds it, and does nothing otherwise.
	ReleaseKeyLock(ctx context.Context, owner string) error
}

// ValidateSigningKeys checks a ring before a store writes it: every key has an id, an
// algorithm, sealed material and a valid state, and no two keys share an id.
func ValidateSigningKeys(keys []SigningKey) error {
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		switch {
		case k.ID == "":
			return fmt.Errorf("store: signing key %d has no id", i)
		case seen[k.ID]:
			return fmt.Errorf("store: two signing keys share the id %q", k.ID)
		case k.Algorithm == "":
			return fmt.Errorf("store: signing key %q has no algorithm", k.ID)
		case !k.State.Valid():
			return fmt.Errorf("store: signing key %q has state %q, not next, active or retiring", k.ID, k.State)
		case len(k.Sealed) == 0:
			return fmt.Errorf("store: signing key %q has no sealed material", k.ID)
		case k.CreatedAt.IsZero():
			return fmt.Errorf("store: signing key %q has no creation time", k.ID)
		}
		seen[k.ID] = true
	}
	return nil
}

// Stats are counts a store can report cheaply.
type Stats struct {
	Users        int64
	LiveSessions int64
	// LiveFamilies counts the live token sessions, each holding one refresh family.
	LiveFamilies int64
	Revocations  int64
}

// StatsReporter is an optional ability of a store.
type StatsReporter interface {
	Stats(ctx context.Context) (Stats, error)
}

// Exporter is an optional ability used to copy a store into another (the authframe
// command's migrate): it pages through every record in a stable order. cursor is "" for
// the first page; an empty next means the last page was returned. Expired sessions are
// skipped.
type Exporter interface {
	ExportUsers(ctx context.Context, cursor string, limit int) (users []User, next string, err error)
	ExportSessions(ctx context.Context, cursor string, limit int) (sessions []Session, next string, err error)
	// ExportRefreshTokens returns every token of a session's family, spent ones included:
	// at most SpentRefreshKept spent ones, besides the unspent. A store that does not keep
	// tokens' creation times returns them as the zero time and lists the spent tokens in
	// the order they were spent, oldest first, so that a stable sort by CreatedAt leaves
	// a family in spend order whichever store it came from.
	ExportRefreshTokens(ctx context.Context, sessionID string) ([]RefreshToken, error)
}

// Cache is a shared validation cache tier behind the in-process LRU (for example the Redis
// one). Keys are derived by the Guard from the whole token and the verifier's
// configuration; values are the Guard's own encoding. A Cache may also implement
// RevocationPublisher, RevocationFeed and HealthChecker, and Available() bool, which
// reports false while it knows a call would fail (its circuit breaker is open), so that
// the Guard skips the call and the work of preparing it.
type Cache interface {
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores val for at most ttl.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
}

// RevocationPublisher is an optional ability of a Cache: it tells other instances about a
// revocation made here.
type RevocationPublisher interface {
	PublishRevocation(ctx context.Context, r Revocation) error
}

// Pinger is an optional ability of a Cache: it reports whether the cache answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// BreakerStater is an optional ability of a store or cache guarded by a circuit breaker.
type BreakerStater interface {
	// BreakerState is "closed", "half-open" or "open".
	BreakerState() string
}

// Unwrapper is a store that wraps another (a tracing or metrics decorator): As looks
// through it for the optional abilities it does not offer itself.
type Unwrapper interface {
	Unwrap() Store
}

// As finds the optional ability T (ClientStore, APIKeyStore, RateLimitPeeker, ...) of s,
// or of the stores s wraps (see Unwrapper), so that a decorator need not forward every
// ability it does not change.
func As[T any](s Store) (T, bool) {
	for range 16 {
		if t, ok := s.(T); ok {
			return t, true
		}
		u, ok := s.(Unwrapper)
		if !ok {
			break
		}
		if s = u.Unwrap(); s == nil {
			break
		}
	}
	var zero T
	return zero, false
}

// MFA is the two-factor (TOTP, RFC 6238) state of a user. It holds no secret in the clear:
// SealedSecret is the TOTP secret sealed by the caller (see package totp) and
// RecoveryHashes are hashes of the recovery codes, computed by the caller.
type MFA struct {
	UserID string
	// SealedSecret is the sealed TOTP secret, kept as opaque bytes.
	SealedSecret []byte
	// Confirmed is false while the enrolment is pending: the user has been shown the secret
	// but has not yet proved with a code that their authenticator holds it. Only a
	// confirmed record turns two-factor login on.
	Confirmed bool
	// LastStep is the last TOTP time step accepted for this user (see UseTOTPStep); a code
	// of this step or an earlier one is never accepted again.
	LastStep int64
	// RecoveryHashes are the hashes of the recovery codes not yet used.
	RecoveryHashes [][]byte
	CreatedAt      time.Time
}

// MFAStore keeps the two-factor state of users, one record per user.
//
// Every method that decides whether a code is accepted is one atomic step in the store, so
// that two instances sharing it can never both accept the same TOTP code or the same
// recovery code.
//
// It is an optional ability of a store, found by type assertion, and not part of Store: a
// Guard over a store without it keeps working, with two-factor login unavailable. Every
// built-in store implements it.
type MFAStore interface {
	// PutMFA stores m as the user's record, replacing a pending one; ErrConflict when the
	// user already has a confirmed record, which only DeleteMFA removes. Enrolment puts a
	// pending record (Confirmed false); a confirmed one may be put directly when copying a
	// store.
	PutMFA(ctx context.Context, m MFA) error
	// GetMFA returns the user's record, pending or confirmed.
	GetMFA(ctx context.Context, userID string) (MFA, bool, error)
	// ConfirmMFA atomically turns the user's pending record into a confirmed one, with
	// LastStep set to step (the step of the code that confirmed it, so that this code
	// cannot log in afterwards) and the given recovery hashes. It confirms only the pending
	// record whose SealedSecret is sealedSecret, so that a code checked against one pending
	// secret never confirms another that replaced it meanwhile. ErrNotFound when there is
	// no such pending record, ErrConflict when the record is already confirmed.
	ConfirmMFA(ctx context.Context, userID string, sealedSecret []byte, step int64, recoveryHashes [][]byte) error
	// DeleteMFA removes the user's record, pending or confirmed, and reports whether it
	// existed.
	DeleteMFA(ctx context.Context, userID string) (bool, error)
	// UseTOTPStep atomically accepts step for the user only if it is greater than the
	// record's LastStep, which then becomes step, and reports whether it was accepted: of
	// concurrent calls with one step exactly one is accepted. ErrNotFound when the user has
	// no confirmed record.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// UseRecoveryCode atomically removes hash from the record's RecoveryHashes and reports
	// whether it was there: of concurrent calls with one hash exactly one reports true.
	// ErrNotFound when the user has no confirmed record.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) (bool, error)
}

// ReplayStore remembers keys for a while, so that a one-time value (the jti of a DPoP
// proof, say) is accepted once by all the instances sharing the store.
//
// It is an optional ability of a store, found by type assertion, and not part of Store.
// Every built-in store implements it.
type ReplayStore interface {
	// Remember records key until the moment until and reports whether it is fresh: true
	// for the first call with key, false for every later call before until, atomically, so
	// that of concurrent callers exactly one sees true. Entries expire by themselves; once
	// until has passed, the key is fresh again. An until that is not after now is
	// remembered for no time at all, and the call reports true: callers refuse what is
	// that old before they ask.
	Remember(ctx context.Context, key string, until time.Time) (fresh bool, err error)
}
