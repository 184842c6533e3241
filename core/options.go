package authframe

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"time"

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

	issuers   []string
	audiences []string
	leeway    time.Duration
	maxLen    int
	types     []string
	// checkIssuer and checkAudience are on unless WithoutIssuerCheck or
	// WithoutAudienceCheck turn them off.
	checkIssuer   bool
	checkAudience bool
	cookieTok     string
	queryTok      string
	cacheSize     int
	cacheOff      bool
	store         store.Store
	ownsStore     bool
	l2            Cache
	l2Key         []byte
	accessTTL     time.Duration
	refreshTTL    time.Duration

	remotes     []RemoteIssuer
	httpClient  *http.Client
	jwksRefresh time.Duration

	sessionIdle     time.Duration
	sessionAbsolute time.Duration
	cookie          CookieConfig
	csrf            bool

	rolePerms map[string][]string

	limits  RateLimits
	trusted []netip.Prefix
	// publicOrigin is WithPublicURL's origin, canonical ("" when unset).
	publicOrigin string
	// quietRegister makes a taken username look like a successful registration.
	quietRegister bool

	failOpen bool
	observer Observer
	logger   *slog.Logger
	now      func() time.Time
	clockSet bool
	argon    Argon2Params
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
		cookie:          CookieConfig{Name: "__Host-session", Path: "/", Secure: true, HTTPOnly: true, SameSite: http.SameSiteLaxMode},
		csrf:            true,
		limits:          defaultRateLimits,
		now:             time.Now,
		argon:           DefaultArgon2Params,
		jwksRefresh:     time.Hour,
		rolePerms:       map[string][]string{},
	}
}

// CookieConfig describes the session cookie. The default is the contract's
// __Host-session; HttpOnly; Secure; SameSite=Lax; Path=/ with no Domain.
type CookieConfig struct {
	Name     string
	Path     string
	Domain   string
	Secure   bool
	HTTPOnly bool
	SameSite http.SameSite
}

// WithHMACSecret adds an HMAC key (HS256) that signs and verifies. The secret must hold at
// least 32 bytes. kid may be empty when it is the only HMAC key.
func WithHMACSecret(kid string, secret []byte) Option {
	return optionFunc(func(c *config) {
		k, err := newHMACKey(kid, secret, "HS256")
		if err != nil {
			optErr(c, "WithHMACSecret", err)
			return
		}
		c.addKey(k, true)
	})
}

// WithKeyPEM adds a PEM key: a private key signs (the first one becomes the signing key)
// and verifies; a public key or certificate only verifies. RSA keys use RS256, EC P-256
// ES256, P-384 ES384, Ed25519 EdDSA. The kid is the key's RFC 7638 thumbprint.
func WithKeyPEM(pemBytes []byte) Option {
	return optionFunc(func(c *config) {
		k, err := parsePEMKey(pemBytes, "")
		if err != nil {
			optErr(c, "WithKeyPEM", err)
			return
		}
		c.addKey(k, k.sign != nil)
	})
}

// WithKeyFile is WithKeyPEM reading the key from a file.
func WithKeyFile(path string) Option {
	return optionFunc(func(c *config) {
		data, err := os.ReadFile(path)
		if err != nil {
			optErr(c, "WithKeyFile", err)
			return
		}
		k, err := parsePEMKey(data, "")
		if err != nil {
			optErr(c, "WithKeyFile", fmt.Errorf("%s: %w", path, err))
			return
		}
		c.addKey(k, k.sign != nil)
	})
}

// WithVerificationKeyPEM adds a key that only verifies, even if it is a private key: use it
// for keys being rotated out.
func WithVerificationKeyPEM(pemBytes []byte) Option {
	return optionFunc(func(c *config) {
		k, err := parsePEMKey(pemBytes, "")
		if err != nil {
			optErr(c, "WithVerificationKeyPEM", err)
			return
		}
		k.sign = nil
		c.addKey(k, false)
	})
}

// WithRSAKeyPEM adds an RSA PEM key with an explicit algorithm (RS256, RS384, RS512,
// PS256, PS384 or PS512); WithKeyPEM uses RS256.
func WithRSAKeyPEM(pemBytes []byte, alg string) Option {
	return optionFunc(func(c *config) {
		k, err := parsePEMKey(pemBytes, alg)
		if err != nil {
			optErr(c, "WithRSAKeyPEM", err)
			return
		}
		c.addKey(k, k.sign != nil)
	})
}

func (c *config) addKey(k *key, signs bool) {
	for _, have := range c.keys {
		if have.kid == k.kid {
			optErr(c, "keys", fmt.Errorf("two keys share the kid %q", k.kid))
			return
		}
	}
	c.keys = append(c.keys, k)
	if signs && c.signer == nil {
		c.signer = k
	}
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

// WithLeeway sets the clock skew allowed on exp, nbf and iat (default 10 s, at most 5 min).
func WithLeeway(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d < 0 || d > 5*time.Minute {
			optErr(c, "WithLeeway", fmt.Errorf("leeway %v is outside 0..5m", d))
			return
		}
		c.leeway = d
	})
}

// WithMaxTokenSize caps the length of a token in bytes (default 8 KiB); longer tokens are
// refused before any parsing.
func WithMaxTokenSize(n int) Option {
	return optionFunc(func(c *config) {
		if n < 64 {
			optErr(c, "WithMaxTokenSize", fmt.Errorf("%d bytes is too small", n))
			return
		}
		c.maxLen = n
	})
}

// WithTokenTypes sets the typ headers accepted on tokens of local keys (default: only
// "at+jwt", RFC 9068, which the Guard puts on the tokens it issues). Requiring it keeps
// other JWTs signed with the same key (an e-mail link token, an ID token) from passing as
// access tokens (RFC 8725 §3.11). "" in the list accepts a token without typ. Remote
// issuers have their own list (RemoteIssuer.Types).
func WithTokenTypes(types ...string) Option {
	return optionFunc(func(c *config) {
		if len(types) == 0 {
			optErr(c, "WithTokenTypes", fmt.Errorf("no type given"))
			return
		}
		c.types = append([]string(nil), types...)
	})
}

// WithoutIssuerCheck accepts tokens of local keys whatever their iss. New otherwise
// refuses a Guard with local keys and no WithIssuer: a token that another service signed
// with a shared key would pass here.
func WithoutIssuerCheck() Option {
	return optionFunc(func(c *config) { c.checkIssuer = false })
}

// WithoutAudienceCheck accepts tokens of local keys whatever their aud. New otherwise
// refuses a Guard with local keys and no WithAudience: a token the same issuer made for
// another service would pass here.
func WithoutAudienceCheck() Option {
	return optionFunc(func(c *config) { c.checkAudience = false })
}

// WithTokenCookie also reads bearer tokens from the named cookie when no Authorization
// header is present. The browser sends that cookie with requests other sites make, so an
// unsafe request (not GET, HEAD or OPTIONS) authenticated by it must come from the app's
// own origin: Sec-Fetch-Site same-origin (or none), and an Origin, when present, equal to
// WithPublicURL. Anything else is ErrCSRF (403 csrf_failed). WithoutCSRF turns the check
// off.
func WithTokenCookie(name string) Option {
	return optionFunc(func(c *config) { c.cookieTok = name })
}

// WithTokenQueryParameter also reads bearer tokens from the named query parameter.
// Tokens in URLs leak into logs and Referer headers (RFC 6750 §2.3): opt in only where a
// client cannot send headers.
func WithTokenQueryParameter(name string) Option {
	return optionFunc(func(c *config) { c.queryTok = name })
}

// WithCacheSize sets the number of verified tokens the in-process cache holds (default
// 100 000); 0 disables the cache.
func WithCacheSize(n int) Option {
	return optionFunc(func(c *config) {
		if n < 0 {
			optErr(c, "WithCacheSize", fmt.Errorf("negative size %d", n))
			return
		}
		c.cacheSize, c.cacheOff = n, n == 0
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

// WithSharedCache puts a shared second cache tier (such as the Redis one) behind the
// in-process LRU. Every value the Guard writes there carries an HMAC-SHA256 over the key
// and the value, under a key derived from the Guard's signing keys (so instances sharing
// their keys share the cache) or given with WithSharedCacheKey; a value that fails the
// check is ignored and the token verified afresh, so whoever can write to the cache
// cannot forge a principal.
func WithSharedCache(cache Cache) Option {
	return optionFunc(func(c *config) { c.l2 = cache })
}

// WithSharedCacheKey sets the key (at least 32 bytes, the same on every instance) that
// authenticates shared cache values. A Guard that signs tokens derives one from its
// signing keys; a verify-only Guard (WithJWKSURL, WithOIDC, public keys) needs this option
// to use WithSharedCache.
func WithSharedCacheKey(key []byte) Option {
	return optionFunc(func(c *config) {
		if len(key) < 32 {
			optErr(c, "WithSharedCacheKey", fmt.Errorf("key is %d bytes, need at least 32", len(key)))
			return
		}
		c.l2Key = append([]byte(nil), key...)
	})
}

// WithTokenTTL sets the lifetimes of access tokens (default 15 min) and of refresh-token
// families (default 30 days; rotation does not extend it).
func WithTokenTTL(access, refresh time.Duration) Option {
	return optionFunc(func(c *config) {
		if access <= 0 || refresh <= 0 {
			optErr(c, "WithTokenTTL", fmt.Errorf("lifetimes must be positive"))
			return
		}
		c.accessTTL, c.refreshTTL = access, refresh
	})
}

// WithHTTPClient sets the client used for discovery and JWKS fetches.
func WithHTTPClient(h *http.Client) Option {
	return optionFunc(func(c *config) { c.httpClient = h })
}

// WithJWKSRefresh sets the background refresh interval of remote key sets (default 1 h).
func WithJWKSRefresh(d time.Duration) Option {
	return optionFunc(func(c *config) { c.jwksRefresh = d })
}

// WithSessionTimeouts sets the idle and absolute timeouts of cookie sessions (default
// 30 min and 24 h).
func WithSessionTimeouts(idle, absolute time.Duration) Option {
	return optionFunc(func(c *config) {
		if idle <= 0 || absolute <= 0 {
			optErr(c, "WithSessionTimeouts", fmt.Errorf("timeouts must be positive"))
			return
		}
		c.sessionIdle, c.sessionAbsolute = idle, absolute
	})
}

// WithSessionCookie replaces the cookie attributes. A name starting with __Host- requires
// Secure, Path=/ and no Domain.
func WithSessionCookie(cc CookieConfig) Option {
	return optionFunc(func(c *config) { c.cookie = cc })
}

// WithInsecureCookies drops Secure and the __Host- prefix, for plain-http local development
// only.
func WithInsecureCookies() Option {
	return optionFunc(func(c *config) {
		c.cookie.Secure = false
		if c.cookie.Name == "__Host-session" {
			c.cookie.Name = "session"
		}
	})
}

// WithoutCSRF turns off the CSRF check on cookie-authenticated unsafe requests. Only for
// apps that defend against CSRF some other way.
func WithoutCSRF() Option {
	return optionFunc(func(c *config) { c.csrf = false })
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
func WithObserver(o Observer) Option {
	return optionFunc(func(c *config) {
		if o != nil {
			c.observer = joinObservers(c.observer, o)
		}
	})
}

// WithLogger sets the logger for operational messages (default: silent). Audit events go
// through an Observer such as NewAuditLogger.
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

// WithArgon2Params sets the password hashing parameters (default DefaultArgon2Params).
// Parameters below OWASP's minimum for argon2id are refused. Stored hashes weaker than p
// are upgraded at the next successful login; stronger ones are kept.
func WithArgon2Params(p Argon2Params) Option {
	return optionFunc(func(c *config) {
		if err := p.validateStrength(); err != nil {
			optErr(c, "WithArgon2Params", err)
			return
		}
		c.argon = p
	})
}

// WithInsecureArgon2Params sets password hashing parameters without the strength floor of
// WithArgon2Params: hashes made with them are cheap to guess if the store leaks. Only for
// tests, where hashing time matters and the passwords are not real.
func WithInsecureArgon2Params(p Argon2Params) Option {
	return optionFunc(func(c *config) {
		if err := p.validate(); err != nil {
			optErr(c, "WithInsecureArgon2Params", err)
			return
		}
		c.argon = p
	})
}

// WithQuietRegistration answers a registration for a taken username like a successful
// one (with an id that names no user) instead of ErrConflict, so that registration does not
// tell anyone which usernames exist. The price: someone registering a taken name learns it
// only when logging in fails, so pair it with a confirmation step (e-mail) in the app.
func WithQuietRegistration() Option {
	return optionFunc(func(c *config) { c.quietRegister = true })
}

// WithMaxConcurrentHashes bounds how many password hashes run at once (default: twice the
// CPU count), so a login flood cannot exhaust memory.
func WithMaxConcurrentHashes(n int) Option {
	return optionFunc(func(c *config) { c.hashSlot = n })
}
