package authframe

import (
	"cmp"
	"fmt"
	"github.com/authframe/authframe/core/audit"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"time"

	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// Option configures a Guard. Options are applied in order; New validates the result and
// names the offending option in its error.
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

func optErr(c *config, opt string, err error) {
	c.errs = append(c.errs, fmt.Errorf("authframe: %s: %w", opt, err))
}

type config struct {
	errs []error

	keys   []*key
	signer *key
	// keySource, ringSecret and ringID are core/keys's rotating ring (see SetKeySource).
	keySource  keySource
	ringSecret []byte
	ringID     string

	issuers   []string
	audiences []string
	leeway    time.Duration
	maxLen    int
	types     []string
	// checkIssuer and checkAudience are on unless TokenConfig turns them off.
	checkIssuer   bool
	checkAudience bool
	cookieTok     string
	queryTok      string
	cacheSize     int
	cacheOff      bool
	store         store.Store
	ownsStore     bool
	l2            store.Cache
	l2Key         []byte
	accessTTL     time.Duration
	refreshTTL    time.Duration

	remotes []RemoteIssuer

	sessionIdle     time.Duration
	sessionAbsolute time.Duration
	cookie          cookieConfig
	insecureCookies bool
	csrf            bool

	rolePerms map[string][]string

	limits  RateLimits
	trusted []netip.Prefix
	// publicOrigin is WithPublicURL's origin, canonical ("" when unset).
	publicOrigin string
	// publicURL is WithPublicURL's URL as given, against which DPoP proofs' htu is checked.
	publicURL string
	// dpop builds the DPoP proof checker (dpop.WithProofs; nil without it).
	dpop engine.DPoPBuilder
	// claims is WithClaims's hook (nil without it).
	claims *claimsHook
	// quietRegister makes a taken username look like a successful registration.
	quietRegister bool
	// factor is the second factor of login that a package's option registered (see mfa.go).
	factor engine.SecondFactor

	failOpen bool
	observer audit.Observer
	logger   *slog.Logger
	now      func() time.Time
	clockSet bool
	argon    argon2Params
	hashSlot int
}

func defaultConfig() config {
	return config{
		leeway:          10 * time.Second,
		maxLen:          8 << 10,
		types:           []string{"at+jwt"},
		checkIssuer:     true,
		checkAudience:   true,
		cacheSize:       100_000,
		accessTTL:       15 * time.Minute,
		refreshTTL:      720 * time.Hour,
		sessionIdle:     30 * time.Minute,
		sessionAbsolute: 24 * time.Hour,
		cookie:          cookieConfig{Name: "__Host-session", Path: "/", Secure: true, HTTPOnly: true, SameSite: http.SameSiteLaxMode},
		csrf:            true,
		limits:          defaultRateLimits,
		now:             time.Now,
		argon:           defaultArgon2Params,
		rolePerms:       map[string][]string{},
	}
}

// cookieConfig describes the session cookie.
type cookieConfig struct {
	Name     string
	Path     string
	Domain   string
	Secure   bool
	HTTPOnly bool
	SameSite http.SameSite
}

// Key is a signing or verification key. Set exactly one of PEM, File and HMAC.
type Key struct {
	// PEM holds a private key (PKCS#8, PKCS#1 or SEC1), which signs and verifies, or a
	// public key or certificate, which only verifies. RSA keys use RS256, EC P-256 ES256,
	// P-384 ES384, P-521 ES512, Ed25519 EdDSA; the kid is the key's RFC 7638 thumbprint.
	PEM []byte
	// File is a PEM file, read at New.
	File string
	// HMAC is an HS256 secret of at least 32 bytes, which signs and verifies.
	HMAC []byte
	// ID is the kid of an HMAC key (a PEM key's is its thumbprint). Several HMAC keys
	// need one each.
	ID string
	// Algorithm picks RS256, RS384, RS512, PS256, PS384 or PS512 for an RSA key, or HS384
	// or HS512 for an HMAC one.
	Algorithm string
	// VerifyOnly keeps a private key from signing: a key being rotated out, as State
	// retiring says.
	VerifyOnly bool
	// State is where the key stands in a rotation (core/keys names the states): "active"
	// (the default for a key that can sign) signs, and exactly one key that can sign must
	// be; "next" is published and verifies ahead of signing; "retiring" no longer signs and
	// verifies until the last token it signed has expired. A public key or a VerifyOnly one
	// cannot be active. See "Rotating signing keys" in the README.
	State store.KeyState
}

// WithKey adds a key. Every key verifies and is published in the JWKS (HMAC keys are
// not); the active one signs (see Key.State).
func WithKey(k Key) Option {
	return optionFunc(func(c *config) { c.addKeyOption("WithKey", k) })
}

func (c *config) addKeyOption(opt string, k Key) {
	{
		n := 0
		for _, set := range []bool{k.PEM != nil, k.File != "", k.HMAC != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			optErr(c, opt, fmt.Errorf("set exactly one of PEM, File and HMAC"))
			return
		}
		var kk *key
		var err error
		switch {
		case k.HMAC != nil:
			kk, err = newHMACKey(k.ID, k.HMAC, k.Algorithm)
		case k.File != "":
			var data []byte
			if data, err = os.ReadFile(k.File); err == nil {
				if kk, err = parsePEMKey(data, k.Algorithm); err != nil {
					err = fmt.Errorf("%s: %w", k.File, err)
				}
			}
		default:
			kk, err = parsePEMKey(k.PEM, k.Algorithm)
		}
		if err != nil {
			optErr(c, opt, err)
			return
		}
		if k.State != "" && !k.State.Valid() {
			optErr(c, opt, fmt.Errorf("State %q is not next, active or retiring", k.State))
			return
		}
		if k.VerifyOnly {
			if k.State == store.KeyActive {
				optErr(c, opt, fmt.Errorf("a VerifyOnly key cannot be State active"))
				return
			}
			kk.sign = nil
		}
		kk.state = k.State
		c.addKey(kk)
	}
}

// WithKeyFile adds the PEM key in a file: WithKey(Key{File: path}).
func WithKeyFile(path string) Option {
	return optionFunc(func(c *config) {
		if path == "" {
			optErr(c, "WithKeyFile", fmt.Errorf("empty path"))
			return
		}
		c.addKeyOption("WithKeyFile", Key{File: path})
	})
}

// WithHMACSecret adds an HS256 secret of at least 32 bytes: WithKey(Key{HMAC: secret}).
func WithHMACSecret(secret []byte) Option {
	return optionFunc(func(c *config) {
		if len(secret) == 0 {
			optErr(c, "WithHMACSecret", fmt.Errorf("empty secret"))
			return
		}
		c.addKeyOption("WithHMACSecret", Key{HMAC: secret})
	})
}

func (c *config) addKey(k *key) {
	for _, have := range c.keys {
		if have.kid == k.kid {
			optErr(c, "WithKey", fmt.Errorf("two keys share the kid %q", k.kid))
			return
		}
	}
	c.keys = append(c.keys, k)
}

// WithIssuer sets the issuer: the iss of issued tokens (the first one) and the issuers
// accepted from local keys (all of them).
func WithIssuer(iss ...string) Option {
	return optionFunc(func(c *config) { c.issuers = append(c.issuers, iss...) })
}

// WithAudience sets the audience: the aud of issued tokens (the first one) and the
// audiences accepted (a token passes when its aud contains any of them).
func WithAudience(aud ...string) Option {
	return optionFunc(func(c *config) { c.audiences = append(c.audiences, aud...) })
}

// TokenConfig tunes access and refresh tokens. Zero fields keep their defaults.
type TokenConfig struct {
	// AccessTTL is the lifetime of access tokens (default 15 minutes).
	AccessTTL time.Duration
	// RefreshTTL is the lifetime of a refresh-token family (default 30 days); rotation
	// does not extend it.
	RefreshTTL time.Duration
	// Leeway is the clock skew allowed on exp, nbf and iat (default 10 s, at most 5 min;
	// a negative Leeway allows none).
	Leeway time.Duration
	// MaxSize caps a token's length in bytes (default 8 KiB); longer ones are refused
	// before any parsing.
	MaxSize int
	// Types are the typ headers accepted on tokens of local keys (default: "at+jwt" only,
	// RFC 9068, which the Guard puts on what it issues). Requiring it keeps other JWTs
	// signed with the same key (an e-mail link token, an ID token) from passing as access
	// tokens (RFC 8725 §3.11). "" in the list accepts a token without typ. Remote issuers
	// have their own list (RemoteIssuer.Types).
	Types []string
	// Cookie also reads bearer tokens from this cookie when there is no Authorization
	// header. The browser sends it with requests other sites make, so an unsafe request
	// (not GET, HEAD or OPTIONS) it authenticates must come from the app's own origin:
	// Sec-Fetch-Site same-origin (or none), and an Origin, when present, equal to
	// WithPublicURL; anything else is ErrCSRF. WithoutCSRF turns that off.
	Cookie string
	// QueryParameter also reads bearer tokens from this query parameter. Tokens in URLs
	// leak into logs and Referer headers (RFC 6750 §2.3): only where a client cannot send
	// headers.
	QueryParameter string
	// InsecureAnyIssuer accepts tokens of local keys whatever their iss. New otherwise
	// refuses a Guard with local keys and no WithIssuer: a token that another service
	// signed with a shared key would pass here.
	InsecureAnyIssuer bool
	// InsecureAnyAudience accepts tokens of local keys whatever their aud. New otherwise
	// refuses a Guard with local keys and no WithAudience: a token the same issuer made for
	// another service would pass here.
	InsecureAnyAudience bool
}

// WithTokens tunes token lifetimes, verification and where tokens are read from.
func WithTokens(t TokenConfig) Option {
	return optionFunc(func(c *config) {
		if t.AccessTTL < 0 || t.RefreshTTL < 0 {
			optErr(c, "WithTokens", fmt.Errorf("lifetimes must be positive"))
			return
		}
		if t.Leeway > 5*time.Minute {
			optErr(c, "WithTokens", fmt.Errorf("leeway %v is outside 0..5m", t.Leeway))
			return
		}
		if t.MaxSize != 0 && t.MaxSize < 64 {
			optErr(c, "WithTokens", fmt.Errorf("MaxSize %d bytes is too small", t.MaxSize))
			return
		}
		if t.AccessTTL > 0 {
			c.accessTTL = t.AccessTTL
		}
		if t.RefreshTTL > 0 {
			c.refreshTTL = t.RefreshTTL
		}
		if t.Leeway != 0 {
			c.leeway = max(t.Leeway, 0)
		}
		if t.MaxSize > 0 {
			c.maxLen = t.MaxSize
		}
		if len(t.Types) > 0 {
			c.types = append([]string(nil), t.Types...)
		}
		if t.Cookie != "" {
			c.cookieTok = t.Cookie
		}
		if t.QueryParameter != "" {
			c.queryTok = t.QueryParameter
		}
		if t.InsecureAnyIssuer {
			c.checkIssuer = false
		}
		if t.InsecureAnyAudience {
			c.checkAudience = false
		}
	})
}

// SessionConfig tunes cookie sessions. Zero fields keep their defaults: the contract's
// __Host-session cookie (HttpOnly, Secure, SameSite=Lax, Path=/, no Domain), 30 minutes
// idle, 24 hours absolute.
type SessionConfig struct {
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration
	// CookieName: a name starting with __Host- requires Path=/, no Domain and Secure
	// (so no WithInsecureCookies).
	CookieName   string
	CookiePath   string
	CookieDomain string
	SameSite     http.SameSite
}

// WithSessions tunes cookie sessions.
func WithSessions(s SessionConfig) Option {
	return optionFunc(func(c *config) {
		if s.IdleTimeout < 0 || s.AbsoluteTimeout < 0 {
			optErr(c, "WithSessions", fmt.Errorf("timeouts must be positive"))
			return
		}
		if s.IdleTimeout > 0 {
			c.sessionIdle = s.IdleTimeout
		}
		if s.AbsoluteTimeout > 0 {
			c.sessionAbsolute = s.AbsoluteTimeout
		}
		if s.CookieName != "" {
			c.cookie.Name = s.CookieName
		}
		if s.CookiePath != "" {
			c.cookie.Path = s.CookiePath
		}
		if s.CookieDomain != "" {
			c.cookie.Domain = s.CookieDomain
		}
		if s.SameSite != 0 {
			c.cookie.SameSite = s.SameSite
		}
	})
}

// WithInsecureCookies drops Secure and the __Host- prefix from the session cookie, for
// plain-http local development only.
func WithInsecureCookies() Option {
	return optionFunc(func(c *config) { c.insecureCookies = true })
}

// WithoutCSRF turns off the CSRF checks on unsafe requests authenticated by a cookie (the
// session's X-CSRF-Token, and the origin check of TokenConfig.Cookie). Only for apps that
// defend against CSRF some other way.
func WithoutCSRF() Option {
	return optionFunc(func(c *config) { c.csrf = false })
}

// CacheConfig tunes the validation caches. Zero fields keep their defaults.
type CacheConfig struct {
	// Size is how many verified tokens the in-process LRU holds (default 100 000).
	Size int
	// Disabled turns the in-process LRU off: every request verifies its token.
	Disabled bool
	// Shared is a second tier behind the LRU shared by every instance (such as the Redis
	// one). Every value the Guard writes there carries an HMAC-SHA256 under SharedKey, so
	// whoever can write to it cannot forge a principal; revocations it carries between
	// instances are authenticated the same way.
	Shared store.Cache
	// SharedKey (at least 32 bytes, the same on every instance) authenticates what the
	// Guard puts in Shared. Empty: derived from the Guard's signing keys, so instances
	// sharing their keys share the cache. A Guard without signing keys needs it.
	SharedKey []byte
}

// WithCache tunes the validation caches.
func WithCache(cc CacheConfig) Option {
	return optionFunc(func(c *config) {
		if cc.Size < 0 {
			optErr(c, "WithCache", fmt.Errorf("negative size %d", cc.Size))
			return
		}
		if cc.SharedKey != nil && len(cc.SharedKey) < 32 {
			optErr(c, "WithCache", fmt.Errorf("SharedKey is %d bytes, need at least 32", len(cc.SharedKey)))
			return
		}
		if cc.Size > 0 {
			c.cacheSize = cc.Size
		}
		if cc.Disabled {
			c.cacheOff = true
		}
		if cc.Shared != nil {
			c.l2 = cc.Shared
		}
		if cc.SharedKey != nil {
			c.l2Key = append([]byte(nil), cc.SharedKey...)
		}
	})
}

// WithStore sets the store (default: a memory store that the Guard closes on Close).
func WithStore(s store.Store) Option {
	return optionFunc(func(c *config) {
		if s == nil {
			optErr(c, "WithStore", fmt.Errorf("nil store"))
			return
		}
		c.store = s
	})
}

// WithRolePermissions maps a role to the permissions it grants ("action:resource", "*"
// allowed in either part). Calling it again for a role replaces that role's list.
func WithRolePermissions(role string, perms ...string) Option {
	return optionFunc(func(c *config) {
		for _, p := range perms {
			if err := validPermission(p); err != nil {
				optErr(c, "WithRolePermissions", err)
				return
			}
		}
		c.rolePerms[role] = append([]string(nil), perms...)
	})
}

// WithTrustedProxies trusts X-Forwarded-For from these networks (CIDRs or addresses).
// Without it the client IP is always the connection's address.
func WithTrustedProxies(cidrs ...string) Option {
	return optionFunc(func(c *config) {
		for _, s := range cidrs {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				a, aerr := netip.ParseAddr(s)
				if aerr != nil {
					optErr(c, "WithTrustedProxies", fmt.Errorf("%q is neither a CIDR nor an address", s))
					return
				}
				p = netip.PrefixFrom(a, a.BitLen())
			}
			c.trusted = append(c.trusted, p.Masked())
		}
	})
}

// WithFailOpen accepts a correctly signed, unexpired bearer token when the store or cache
// cannot say whether it was revoked. The default (fail closed) answers 503 unavailable:
// fail open keeps the service up through a store outage at the price of honouring a
// revocation made during the outage only when the store is back.
func WithFailOpen(open bool) Option {
	return optionFunc(func(c *config) { c.failOpen = open })
}

// WithObserver adds an observer of authentication events (audit logs, metrics). It may be
// given more than once.
func WithObserver(o audit.Observer) Option {
	return optionFunc(func(c *config) {
		if o != nil {
			c.observer = audit.Join(c.observer, o)
		}
	})
}

// WithLogger sets the logger for operational messages (default: silent). Audit events go
// through an Observer such as audit.NewLogger.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option {
	return optionFunc(func(c *config) {
		if now != nil {
			c.now, c.clockSet = now, true
		}
	})
}

// PasswordConfig tunes password hashing. Zero fields keep their defaults.
type PasswordConfig struct {
	// Memory (KiB), Iterations, Parallelism, SaltLength and KeyLength are the argon2id
	// parameters (default: OWASP's recommendation, 19 MiB, 2 iterations, 1 lane, a 16-byte
	// salt and a 32-byte key). Hashes are stored as PHC strings, so they can change later.
	// Parameters below OWASP's minimum are refused unless InsecureWeakHashing is set.
	// Stored hashes weaker than these are upgraded at the next successful login; stronger
	// ones are kept.
	Memory      uint32
	Iterations  uint32
	Parallelism uint8
	SaltLength  uint32
	KeyLength   uint32
	// MaxConcurrentHashes bounds how many hashes run at once (default: twice the CPU
	// count), so that a login flood cannot exhaust memory.
	MaxConcurrentHashes int
	// InsecureWeakHashing accepts Argon2 parameters below the floor: hashes made with them
	// are cheap to guess if the store leaks. Only for tests, where hashing time matters
	// and the passwords are not real.
	InsecureWeakHashing bool
}

// WithPasswords tunes password hashing.
func WithPasswords(p PasswordConfig) Option {
	return optionFunc(func(c *config) {
		if p.MaxConcurrentHashes < 0 {
			optErr(c, "WithPasswords", fmt.Errorf("negative MaxConcurrentHashes"))
			return
		}
		if p.MaxConcurrentHashes > 0 {
			c.hashSlot = p.MaxConcurrentHashes
		}
		a := argon2Params{Memory: p.Memory, Iterations: p.Iterations, Parallelism: p.Parallelism, SaltLength: p.SaltLength, KeyLength: p.KeyLength}
		if a == (argon2Params{}) {
			return
		}
		def := defaultArgon2Params
		a.Memory, a.Iterations = cmp.Or(a.Memory, def.Memory), cmp.Or(a.Iterations, def.Iterations)
		a.Parallelism, a.SaltLength, a.KeyLength = cmp.Or(a.Parallelism, def.Parallelism), cmp.Or(a.SaltLength, def.SaltLength), cmp.Or(a.KeyLength, def.KeyLength)
		check := a.validateStrength
		if p.InsecureWeakHashing {
			check = a.validate
		}
		if err := check(); err != nil {
			optErr(c, "WithPasswords", err)
			return
		}
		c.argon = a
	})
}

// WithQuietRegistration answers a registration for a taken username like a successful
// one (with an id that names no user) instead of ErrConflict, so that registration does not
// tell anyone which usernames exist. The price: someone registering a taken name learns it
// only when logging in fails, so pair it with a confirmation step (e-mail) in the app.
func WithQuietRegistration() Option {
	return optionFunc(func(c *config) { c.quietRegister = true })
}
