package authframe

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/internal/ctxkey"
	"github.com/authframe/authframe/core/internal/engine"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// The store's records that Guard methods take and return, named here so that users
// need not import the store package for them.
type (
	User    = store.User
	Session = store.Session
)

// Guard authenticates requests, issues tokens and runs sessions. Build it once with New; it
// is safe for concurrent use and immutable afterwards. Close releases its background work.
type Guard struct {
	cfg    config
	parser *jwt.Parser
	// keyring holds the keys in force (see ring).
	keyring atomic.Pointer[keyRing]

	remotes []*remoteSource

	cache       *lruCache
	l2          store.Cache
	fingerprint []byte
	// l2mac authenticates shared cache values (see CacheConfig.Shared).
	l2mac           []byte
	depLogs         sync.Map // kind/op → *depLog
	revs            *revocationSet
	store           store.Store
	ownsStore       bool
	confirmSessions bool

	obs    audit.Observer
	log    *slog.Logger
	hashes chan struct{}
	dummy  string

	touchEvery time.Duration
	// touches queues API keys' last-use writes (see touchAPIKey).
	touches chan apiKeyTouch
	// coarse is the cached-hit path's clock (nil with WithClock); see coarseClock.
	coarse *coarseClock
	// dpop checks DPoP proofs (nil unless dpop.WithProofs), recording their jti in replay.
	dpop   engine.DPoP
	replay store.ReplayStore

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New builds a Guard. With no store it uses an in-memory one; it needs at least one key
// (or a remote key source) to verify with. Every misconfiguration is an error naming the
// option; New never panics on input.
func New(opts ...Option) (*Guard, error) {
	cfg := defaultConfig()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if len(cfg.errs) > 0 {
		return nil, errors.Join(cfg.errs...)
	}
	if len(cfg.keys) == 0 && len(cfg.remotes) == 0 && cfg.keySource == nil {
		return nil, errors.New("authframe: no key configured: use WithKey, WithKeyFile, WithHMACSecret or WithRemote")
	}
	if err := cfg.validateKeys(); err != nil {
		return nil, err
	}
	if len(cfg.keys) > 0 || cfg.keySource != nil {
		// Without both checks a token signed by the same key for another service (or by
		// another service holding the key) would be accepted here.
		if cfg.checkIssuer && len(cfg.issuers) == 0 {
			return nil, errors.New("authframe: no issuer: set WithIssuer, or TokenConfig.InsecureAnyIssuer to accept tokens of any issuer signed by the keys")
		}
		if cfg.checkAudience && len(cfg.audiences) == 0 {
			return nil, errors.New("authframe: no audience: set WithAudience, or TokenConfig.InsecureAnyAudience to accept tokens meant for any audience signed by the keys")
		}
	}
	if cfg.insecureCookies {
		cfg.cookie.Secure = false
		if cfg.cookie.Name == "__Host-session" {
			cfg.cookie.Name = "session"
		}
	}
	if strings.HasPrefix(cfg.cookie.Name, "__Host-") && (!cfg.cookie.Secure || cfg.cookie.Path != "/" || cfg.cookie.Domain != "") {
		return nil, errors.New("authframe: WithSessions: a __Host- cookie needs Secure (no WithInsecureCookies), Path=/ and no Domain")
	}
	if cfg.cookie.Name == "" {
		return nil, errors.New("authframe: WithSessions: empty cookie name")
	}
	g := &Guard{cfg: cfg, revs: &revocationSet{limit: maxRevocations}, obs: cfg.observer, log: cfg.logger}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.ctx, g.cancel = context.WithCancel(context.Background())

	g.keyring.Store(newKeyRing(cfg.keys, cfg.signer, time.Time{}))
	algSet := map[string]bool{}
	for _, k := range cfg.keys {
		algSet[k.alg] = true
	}
	if len(cfg.remotes) > 0 || cfg.keySource != nil {
		// A rotating ring may bring a key of any asymmetric algorithm; keyFor still
		// holds each token to its key's one algorithm.
		if err := g.setupRemotes(); err != nil {
			g.cancel()
			return nil, err
		}
		for _, a := range []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"} {
			algSet[a] = true
		}
	}
	algs := make([]string, 0, len(algSet))
	for a := range algSet {
		algs = append(algs, a)
	}
	sort.Strings(algs)
	g.parser = jwt.NewParser(
		jwt.WithValidMethods(algs),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(cfg.leeway),
		jwt.WithTimeFunc(cfg.now),
		// One spelling per token (RFC 7515 base64url without padding or stray bits): a
		// token re-spelled is refused, not verified again and cached as another entry.
		jwt.WithStrictDecoding(),
	)
	g.fingerprint = g.configFingerprint(algs)

	if !cfg.cacheOff && cfg.cacheSize > 0 {
		g.cache = newLRUCache(cfg.cacheSize)
	}
	g.l2 = cfg.l2
	if g.l2 != nil {
		g.l2mac = cfg.l2Key
		if g.l2mac == nil {
			g.l2mac = g.defaultCacheKey()
		}
		if g.l2mac == nil {
			g.cancel()
			return nil, errors.New("authframe: WithCache: a Guard without signing keys needs CacheConfig.SharedKey to authenticate shared cache values")
		}
	}
	g.store = cfg.store
	g.confirmSessions = cfg.signer != nil || cfg.keySource != nil || cfg.store != nil
	if g.store == nil {
		g.store = memstore.New(memstore.WithClock(cfg.now))
		g.ownsStore = true
	}
	if err := g.checkSecondFactor(); err != nil {
		g.cancel()
		return nil, err
	}
	slots := cfg.hashSlot
	if slots <= 0 {
		slots = 2 * runtime.GOMAXPROCS(0)
	}
	g.hashes = make(chan struct{}, slots)
	g.dummy = hashPasswordWith(cfg.argon, "authframe-dummy-password")
	g.touchEvery = min(time.Minute, cfg.sessionIdle/4)
	g.revs.onLost = func() {
		// A lost feed may have missed revocations: forget what was cached under it.
		if g.cache != nil {
			g.cache.purge()
		}
	}
	if err := g.setupDPoP(); err != nil {
		g.cancel()
		return nil, err
	}
	if err := g.startKeys(); err != nil {
		_ = g.Close()
		return nil, err
	}
	if err := g.loadRevocations(); err != nil {
		g.log.Warn("authframe: could not load revocations at start", "error", scrubDependencyError(err.Error()))
	}
	g.startFeeds()
	g.wg.Add(1)
	go g.sweepLoop()
	if ks, ok := store.As[store.APIKeyStore](g.store); ok {
		g.touches = make(chan apiKeyTouch, 256)
		g.wg.Add(1)
		go g.toucher(ks)
	}
	if !cfg.clockSet && g.cache != nil {
		g.coarse = &coarseClock{}
		g.coarse.set(time.Now())
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			g.coarse.run(g.ctx.Done())
		}()
	}
	return g, nil
}

// Close stops background work and closes the default memory store.
func (g *Guard) Close() error {
	g.cancel()
	g.wg.Wait()
	if g.ownsStore {
		if c, ok := g.store.(interface{ Close() error }); ok {
			return c.Close()
		}
	}
	return nil
}

// issuer is the iss the Guard puts in the tokens it issues ("" if none).
func (g *Guard) issuer() string {
	if len(g.cfg.issuers) > 0 {
		return g.cfg.issuers[0]
	}
	return ""
}

// configFingerprint binds shared-cache keys to everything that decides whether a token
// passes, so an entry made under one configuration never answers another.
func (g *Guard) configFingerprint(algs []string) []byte {
	h := sha256.New()
	w := func(parts ...string) {
		for _, p := range parts {
			fmt.Fprintf(h, "%d:%s;", len(p), p)
		}
	}
	// v2: shared entries carry a token's DPoP binding (K); entries of instances that
	// predate it never answer one that reads it.
	w("authframe-v2")
	w(algs...)
	for _, k := range g.cfg.keys {
		w(k.kid, k.alg)
		switch v := k.verify.(type) {
		case []byte:
			s := sha256.Sum256(v)
			w(string(s[:]))
		default:
			if j, err := publicJWK(v); err == nil {
				w(j.thumbprint())
			}
		}
	}
	if g.cfg.ringID != "" {
		// A rotating ring is named by its KEK, the same through every rotation.
		w("ring", g.cfg.ringID)
	}
	w("iss")
	w(g.cfg.issuers...)
	w("aud")
	w(g.cfg.audiences...)
	for _, r := range g.remotes {
		w("remote", r.issuer)
		w(r.audiences...)
		w("types")
		w(r.types...)
		w("perms")
		w(r.permClaim...)
	}
	w("typ")
	w(g.cfg.types...)
	if g.cfg.claims != nil {
		// Instances with different claim types never share entries.
		w("claims", g.cfg.claims.typ.PkgPath()+"."+g.cfg.claims.typ.String())
	}
	w("checks", fmt.Sprint(g.cfg.checkIssuer, g.cfg.checkAudience, g.cfg.leeway))
	return h.Sum(nil)
}

func (g *Guard) l2Key(tok string) string {
	h := sha256.New()
	h.Write(g.fingerprint)
	h.Write([]byte(tok))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// cachedPrincipal is the shared-tier encoding of a verified token.
type cachedPrincipal struct {
	U   string   `json:"u"`
	N   string   `json:"n,omitempty"`
	R   []string `json:"r,omitempty"`
	S   string   `json:"s,omitempty"`
	J   string   `json:"j,omitempty"`
	I   string   `json:"i,omitempty"`
	L   bool     `json:"l,omitempty"`
	Iat int64    `json:"iat,omitempty"`
	// M is the method when it is not MethodBearer, CI the client id, P the permissions of a
	// client token (its scopes, which no role derives).
	M   AuthMethod `json:"m,omitempty"`
	CI  string     `json:"ci,omitempty"`
	P   []string   `json:"p,omitempty"`
	Exp int64      `json:"exp"`
	// C holds the WithClaims claims as JSON.
	C json.RawMessage `json:"c,omitempty"`
	// A and AT are the login's methods and time (Principal.AMR and AuthTime, Unix seconds).
	A  []string `json:"a,omitempty"`
	AT int64    `json:"at,omitempty"`
	// K is the cnf.jkt of a DPoP-bound token.
	K string `json:"k,omitempty"`
}

// encodePrincipal is the shared-tier value for key: a MAC over key and the JSON, then the
// JSON.
func (g *Guard) encodePrincipal(key string, p *Principal, exp time.Time) []byte {
	c := cachedPrincipal{U: p.UserID, N: p.Username, R: p.Roles, S: p.SessionID, J: p.TokenID, I: p.Issuer, L: p.Local, Exp: exp.UnixMilli()}
	if !p.IssuedAt.IsZero() {
		c.Iat = p.IssuedAt.Unix()
	}
	c.CI, c.K = p.ClientID, p.JKT
	c.A = p.AMR
	if !p.AuthTime.IsZero() {
		c.AT = p.AuthTime.Unix()
	}
	if p.Method == MethodClient {
		c.M, c.P = p.Method, p.Permissions
	}
	if p.claims != nil {
		c.C, _ = json.Marshal(p.claims)
	}
	b, _ := json.Marshal(c)
	return append(g.cacheMAC(key, b), b...)
}

func (g *Guard) cacheMAC(key string, val []byte) []byte {
	m := hmac.New(sha256.New, g.l2mac)
	m.Write([]byte(key))
	m.Write([]byte{0})
	m.Write(val)
	return m.Sum(make([]byte, 0, sha256.Size+len(val)))
}

var errCacheIntegrity = errors.New("shared cache value failed its integrity check")

func (g *Guard) decodePrincipal(key string, b []byte) (*Principal, error) {
	if len(b) < sha256.Size {
		return nil, errCacheIntegrity
	}
	mac, val := b[:sha256.Size], b[sha256.Size:]
	if !hmac.Equal(mac, g.cacheMAC(key, val)[:sha256.Size]) {
		return nil, errCacheIntegrity
	}
	var c cachedPrincipal
	if err := json.Unmarshal(val, &c); err != nil {
		return nil, err
	}
	if c.U == "" {
		return nil, errors.New("cached principal without subject")
	}
	p := &Principal{UserID: c.U, Username: c.N, Roles: c.R, SessionID: c.S, TokenID: c.J, Issuer: c.I, Local: c.L, Method: MethodBearer, ExpiresAt: time.UnixMilli(c.Exp)}
	if c.Iat != 0 {
		p.IssuedAt = time.Unix(c.Iat, 0)
	}
	p.ClientID, p.JKT = c.CI, c.K
	p.AMR = c.A
	if c.AT != 0 {
		p.AuthTime = time.Unix(c.AT, 0)
	}
	switch c.M {
	case "":
	case MethodClient:
		if c.CI == "" || !c.L {
			return nil, errors.New("cached client principal without a local client id")
		}
		p.Method, p.Permissions = MethodClient, c.P
	default:
		return nil, fmt.Errorf("cached principal of unknown method %q", c.M)
	}
	if len(c.C) > 0 && g.cfg.claims != nil {
		v, err := g.cfg.claims.decode(c.C)
		if err != nil {
			return nil, err
		}
		p.claims = v
	}
	return p, nil
}

// deriveCacheKey derives the shared cache's MAC key from the signing keys (nil when the
// Guard signs nothing).
func deriveCacheKey(keys []*key) []byte {
	h := hmac.New(sha256.New, []byte("authframe shared cache integrity v1"))
	n := 0
	for _, k := range keys {
		var material []byte
		switch s := k.sign.(type) {
		case nil:
			continue
		case []byte:
			material = s
		default:
			der, err := x509.MarshalPKCS8PrivateKey(s)
			if err != nil {
				continue
			}
			material = der
		}
		h.Write([]byte(k.kid))
		h.Write([]byte{0})
		h.Write(material)
		n++
	}
	if n == 0 {
		return nil
	}
	return h.Sum(nil)
}

func (g *Guard) observe(ctx context.Context, e audit.Event) {
	if g.obs != nil {
		g.emit(ctx, e)
	}
}

// emit completes e with what observers may need from the request and the error, in forms
// safe to log, and hands it over.
func (g *Guard) emit(ctx context.Context, e audit.Event) {
	if ctx == nil {
		ctx = context.Background()
	}
	e.RequestID = ctxkey.RequestID(ctx)
	if e.Err != nil {
		e.ErrCode, e.ErrMessage = safeErrorForm(e)
	}
	g.obs.Observe(ctx, e)
}

// depError reports a failed store or cache call: an event every time, a log line at most
// once a second for each kind and operation (a dead dependency must not flood the log),
// saying how many were held back.
func (g *Guard) depError(ctx context.Context, kind, op string, err error) {
	g.observe(ctx, audit.Event{Type: audit.DependencyError, Kind: kind, Op: op, Err: err})
	v, ok := g.depLogs.Load(kind + "/" + op)
	if !ok {
		v, _ = g.depLogs.LoadOrStore(kind+"/"+op, &depLog{})
	}
	dl := v.(*depLog)
	now := time.Now().UnixNano()
	last := dl.last.Load()
	if now-last < int64(time.Second) || !dl.last.CompareAndSwap(last, now) {
		dl.held.Add(1)
		return
	}
	g.log.Warn("authframe: dependency error", "kind", kind, "op", op, "error", scrubDependencyError(err.Error()), "suppressed", dl.held.Swap(0))
}

// depLog throttles depError's log lines for one kind and operation.
type depLog struct {
	last atomic.Int64
	held atomic.Int64
}

// storeErr turns a store failure into the contract's 503 and reports it.
func (g *Guard) storeErr(ctx context.Context, op string, err error) error {
	g.depError(ctx, "store", op, err)
	return ErrUnavailable.with(err)
}

// Authenticate identifies the caller of r: an API key in X-API-Key, else a bearer token from
// the Authorization header (an API key there too, recognised by its prefix; and, when
// configured, a token in a cookie or query parameter), else the session cookie. A session
// request with an unsafe method must carry the session's CSRF token in X-CSRF-Token.
// With dpop.WithProofs, a DPoP-bound token is taken from "Authorization: DPoP <token>" with
// its proof in the DPoP header (RFC 9449 §7); a bound token is never accepted as a bearer
// token. Failures are *Error values; the adapters render them with RenderError.
func (g *Guard) Authenticate(ctx context.Context, r Request) (*Principal, error) {
	// X-Api-Key is X-API-Key in the canonical spelling, which adapters look up without
	// allocating a canonical copy.
	if key := r.Header("X-Api-Key"); key != "" {
		if r.Header("Authorization") != "" {
			// RFC 6750 §2: one credential per request, so that no two checks disagree on who
			// is calling.
			return nil, errTwoCredentials
		}
		return g.verifyAPIKey(ctx, strings.TrimSpace(key))
	}
	if g.dpop != nil {
		if tok, ok := dpopToken(r); ok {
			return g.authenticateDPoP(ctx, r, tok)
		}
	}
	if tok, src := g.bearerToken(r); src != tokenNone {
		if src == tokenHeader && strings.HasPrefix(tok, credential.APIKeyPrefix) {
			return g.verifyAPIKey(ctx, tok)
		}
		// A token in a cookie rides along with any request the browser sends, as a session
		// cookie does: an unsafe request bearing one must come from the app's own origin.
		if src == tokenCookie && g.cfg.csrf && !safeMethod(r.Method()) && g.crossSite(r, true) {
			g.observe(ctx, audit.Event{Type: audit.CSRFFailed, Reason: "token_cookie"})
			return nil, ErrCSRF.with(errCrossSite)
		}
		return g.VerifyToken(ctx, tok)
	}
	if c := r.Cookie(g.cfg.cookie.Name); c != "" {
		return g.authenticateSession(ctx, c, r)
	}
	return nil, ErrUnauthenticated
}

var errTwoCredentials = &Error{Code: ErrInvalidRequest, Message: "send one credential: an API key or an Authorization header, not both"}

// Where a bearer token came from.
const (
	tokenNone = iota
	tokenHeader
	tokenCookie
	tokenQuery
)

// bearerToken extracts a bearer token and says where it was. The scheme is matched
// case-insensitively (RFC 7235); the query string is read only when explicitly enabled.
func (g *Guard) bearerToken(r Request) (string, int) {
	if h := r.Header("Authorization"); h != "" {
		if len(h) >= 7 && strings.EqualFold(h[:7], "bearer ") {
			return strings.TrimSpace(h[7:]), tokenHeader
		}
		if strings.EqualFold(strings.TrimSpace(h), "bearer") {
			return "", tokenHeader
		}
	}
	if g.cfg.cookieTok != "" {
		if c := r.Cookie(g.cfg.cookieTok); c != "" {
			return c, tokenCookie
		}
	}
	if g.cfg.queryTok != "" {
		if q := r.Query(g.cfg.queryTok); q != "" {
			return q, tokenQuery
		}
	}
	return "", tokenNone
}

// ClientInfo describes the client of r for session records, audit events and rate
// limits: its address (the connection's peer, or behind a trusted proxy the rightmost
// X-Forwarded-For entry that is not one; see WithTrustedProxies) and its user agent. Like
// r's own strings, they may only be valid during the request; the Guard copies what it
// keeps.
func (g *Guard) ClientInfo(r Request) ClientInfo {
	return ClientInfo{IP: g.clientIP(r), UserAgent: r.Header("User-Agent")}
}

// clientIP returns the client's address: the connection's peer, or, when that peer is a
// trusted proxy, the rightmost address in X-Forwarded-For that is not a trusted proxy.
func (g *Guard) clientIP(r Request) string {
	peer := hostOnly(r.RemoteAddr())
	if len(g.cfg.trusted) == 0 {
		return peer
	}
	if !g.trustedAddr(peer) {
		return peer
	}
	xff := r.Header("X-Forwarded-For")
	parts := strings.Split(xff, ",")
	for i := len(parts) - 1; i >= 0; i-- {
		ip := strings.TrimSpace(parts[i])
		if ip == "" {
			continue
		}
		if _, err := netip.ParseAddr(ip); err != nil {
			return peer
		}
		if !g.trustedAddr(ip) {
			return ip
		}
	}
	return peer
}

func (g *Guard) trustedAddr(s string) bool {
	a, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, p := range g.cfg.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func hostOnly(addr string) string {
	if h, _, err := net.SplitHostPort(addr); err == nil {
		return h
	}
	return addr
}

// JWKS returns the JSON Web Key Set of the Guard's public verification keys (an empty set
// for HMAC-only configurations).
func (g *Guard) JWKS() []byte { return g.ring().jwks }

// loadRevocations fills the revocation set from the store at start, so a new instance
// honours revocations made before it started.
func (g *Guard) loadRevocations() error {
	ctx, cancel := context.WithTimeout(g.ctx, 5*time.Second)
	defer cancel()
	since := g.cfg.now().Add(-g.revocationHorizon())
	rs, err := g.store.RevocationsSince(ctx, since)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if !g.revs.add(r, true) {
			g.depError(ctx, "revocation_set", "full", errRevocationsFull)
			break
		}
	}
	return nil
}

// revocationHorizon is how long a revocation can matter: the longest token lifetime plus
// leeway.
func (g *Guard) revocationHorizon() time.Duration {
	return max(g.cfg.accessTTL, 24*time.Hour) + g.cfg.leeway
}

// startFeeds subscribes to the revocation feeds of the store and the shared cache.
func (g *Guard) startFeeds() {
	var firsts []chan struct{}
	defer func() {
		// Give each feed a moment to connect so that a fresh Guard does not answer 503
		// while its subscriptions come up; a feed that is down stays unsynced.
		deadline := time.After(3 * time.Second)
		for _, f := range firsts {
			select {
			case <-f:
			case <-deadline:
				return
			}
		}
	}()
	seen := map[any]bool{}
	for _, src := range []any{g.store, g.l2} {
		feed, ok := src.(store.RevocationFeed)
		if !ok || seen[src] {
			continue
		}
		seen[src] = true
		w := &feedWatcher{set: g.revs, g: g, name: fmt.Sprintf("%T", src), first: make(chan struct{}), authenticated: src == any(g.l2) && src != any(g.store)}
		// Unsynced until the feed says otherwise.
		g.revs.unsynced.Add(1)
		firsts = append(firsts, w.first)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for g.ctx.Err() == nil {
				err := feed.WatchRevocations(g.ctx, w)
				w.Synced(false)
				if g.ctx.Err() != nil {
					return
				}
				if err != nil {
					g.log.Warn("authframe: revocation feed stopped", "feed", w.name, "error", scrubDependencyError(err.Error()))
				}
				select {
				case <-g.ctx.Done():
					return
				case <-time.After(200 * time.Millisecond):
				}
			}
		}()
	}
}

func (g *Guard) sweepLoop() {
	defer g.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-g.ctx.Done():
			return
		case <-t.C:
			wasFull := g.revs.full.Load()
			g.revs.sweep(g.cfg.now(), g.revocationHorizon())
			if wasFull && !g.revs.full.Load() {
				// Revocations refused while the set was full are read back from the store.
				if err := g.loadRevocations(); err != nil {
					g.depError(g.ctx, "store", "load_revocations", err)
				}
			}
		}
	}
}
