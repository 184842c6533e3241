package authtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// The iss and aud of the tokens an Issuer mints, which its Guard accepts (and puts in the
// tokens it issues itself).
const (
	IssuerURL = "https://authtest.invalid"
	Audience  = "authtest"
)

// Defaults of the tokens an Issuer mints.
const (
	// DefaultSubject is the sub of a token minted without Subject.
	DefaultSubject = "user"
	// DefaultLifetime is the lifetime of a token minted without ExpiresIn: the Guard's
	// default access-token lifetime.
	DefaultLifetime = 15 * time.Minute
)

// sessionLifetime is the absolute lifetime of the sessions an Issuer creates: a refresh
// family's default, far past any token the Guard accepts (24 hours at most).
const sessionLifetime = 30 * 24 * time.Hour

// Issuer is a Guard built for a test, and the issuer of access tokens it accepts. Make one
// with New; it is safe for concurrent use.
type Issuer struct {
	t      testing.TB
	guard  *authframe.Guard
	store  *FailingStore
	key    ed25519.PrivateKey
	kid    string
	now    func() time.Time
	grants map[string]bool
}

// New builds a Guard for t: a fresh Ed25519 key, issuer IssuerURL, audience Audience,
// password hashing fast enough for tests (and too weak for anything else), and a memory
// store wrapped in a FailingStore (Issuer.Store). The Guard and the store are closed when
// the test ends; a misconfiguration fails the test.
//
// opts are the Guard's, applied after the kit's own: the app's role permissions, its
// WithClaims, WithFailOpen, and so on. Three of them also tell the Issuer something and
// must be the kit's: WithStore (authframe.WithStore would leave the Issuer creating
// sessions in a store the Guard does not read), WithClock (authframe.WithClock would
// leave it minting tokens at another time than the Guard's) and Grant.
func New(t testing.TB, opts ...authframe.Option) *Issuer {
	t.Helper()
	iss := &Issuer{t: t, now: time.Now, grants: map[string]bool{}}
	var given store.Store
	rest := make([]authframe.Option, 0, len(opts))
	for _, o := range opts {
		k, ok := o.(kitOption)
		if !ok {
			rest = append(rest, o)
			continue
		}
		switch {
		case k.store != nil:
			// The Guard gets the FailingStore around it, below.
			given = k.store
			continue
		case k.now != nil:
			iss.now = k.now
		case k.grant != "":
			iss.grants[k.grant] = true
		}
		rest = append(rest, k.Option)
	}

	var owned *memstore.Store
	switch s := given.(type) {
	case nil:
		owned = memstore.New(memstore.WithClock(iss.now))
		iss.store = NewFailingStore(owned)
	case *FailingStore:
		iss.store = s
	default:
		iss.store = NewFailingStore(s)
	}
	closeOwned := func() {
		if owned != nil {
			owned.Close()
		}
	}

	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		closeOwned()
		t.Fatalf("authtest: %v", err)
		return nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		closeOwned()
		t.Fatalf("authtest: %v", err)
		return nil
	}
	iss.key, iss.kid = priv, thumbprint(pub)

	g, err := authframe.New(append([]authframe.Option{
		authframe.WithKey(authframe.Key{PEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})}),
		authframe.WithIssuer(IssuerURL),
		authframe.WithAudience(Audience),
		authframe.WithPasswords(authframe.PasswordConfig{Memory: 64, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}),
		authframe.WithStore(iss.store),
	}, rest...)...)
	if err != nil {
		closeOwned()
		t.Fatalf("authtest: %v", err)
		return nil
	}
	iss.guard = g
	t.Cleanup(func() {
		g.Close()
		closeOwned()
	})
	return iss
}

// thumbprint is the RFC 7638 thumbprint of an Ed25519 key: the kid the Guard gives it.
func thumbprint(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(fmt.Appendf(nil, `{"crv":"Ed25519","kty":"OKP","x":%q}`, base64.RawURLEncoding.EncodeToString(pub)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Guard returns the Guard under test.
func (iss *Issuer) Guard() *authframe.Guard { return iss.guard }

// Store returns the Guard's store, ready to be broken.
func (iss *Issuer) Store() *FailingStore { return iss.store }

// Header returns "Bearer " and a token minted with opts: an Authorization header.
func (iss *Issuer) Header(opts ...TokenOption) string {
	iss.t.Helper()
	return "Bearer " + iss.Token(opts...)
}

// Token mints an access token that the Guard accepts as one of its own: signed with its
// key, typed at+jwt, with its issuer and audience, valid for DefaultLifetime, for subject
// DefaultSubject, in a session of its own created in the store. opts change any of that.
// A token that cannot be minted fails the test.
//
// The store is written directly, not through the FailingStore, so tokens can be minted
// while it is broken.
func (iss *Issuer) Token(opts ...TokenOption) string {
	iss.t.Helper()
	spec := tokenSpec{subject: DefaultSubject, lifetime: DefaultLifetime}
	for _, o := range opts {
		if o != nil {
			o.apply(&spec)
		}
	}
	now := iss.now()
	exp := now.Add(spec.lifetime)
	issued := now
	if !exp.After(now) {
		// An expired token was issued before it expired, as a real one was.
		issued = exp.Add(-DefaultLifetime)
	}
	roles := slices.Clone(spec.roles)
	for _, p := range spec.permissions {
		if !iss.grants[p] {
			iss.t.Fatalf("authtest: Permissions(%q): the Guard grants it only when New is given authtest.Grant(%q)", p, p)
			return ""
		}
		roles = append(roles, grantRole(p))
	}

	claims := jwt.MapClaims{
		"iss": IssuerURL,
		"sub": spec.subject,
		"aud": []string{Audience},
		"exp": jwt.NewNumericDate(exp),
		"nbf": jwt.NewNumericDate(issued),
		"iat": jwt.NewNumericDate(issued),
		"jti": randomID(),
	}
	if len(roles) > 0 {
		claims["roles"] = roles
	}
	if spec.username != "" {
		claims["preferred_username"] = spec.username
	}
	if !spec.noSession {
		sid := spec.session
		if sid == "" {
			sid = randomID()
		}
		if !iss.ensureSession(sid, spec, roles, now) {
			return ""
		}
		claims["sid"] = sid
	}
	for _, v := range spec.claims {
		b, err := json.Marshal(v)
		var extra map[string]json.RawMessage
		if err == nil {
			err = json.Unmarshal(b, &extra)
		}
		if err != nil || extra == nil {
			iss.t.Fatalf("authtest: Claims(%T): not a JSON object (%v)", v, err)
			return ""
		}
		for k, raw := range extra {
			claims[k] = raw
		}
	}

	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	tok.Header["typ"] = "at+jwt"
	tok.Header["kid"] = iss.kid
	s, err := tok.SignedString(iss.key)
	if err != nil {
		iss.t.Fatalf("authtest: %v", err)
		return ""
	}
	return s
}

// ensureSession creates session sid for the token's subject unless it exists, and fails
// the test when it belongs to someone else.
func (iss *Issuer) ensureSession(sid string, spec tokenSpec, roles []string, now time.Time) bool {
	iss.t.Helper()
	ctx := iss.t.Context()
	s := iss.store.Unwrap()
	have, ok, err := s.GetSession(ctx, sid)
	if err != nil {
		iss.t.Fatalf("authtest: reading session %q: %v", sid, err)
		return false
	}
	if ok {
		if have.UserID != spec.subject {
			iss.t.Fatalf("authtest: Session(%q) belongs to %q, not to %q", sid, have.UserID, spec.subject)
			return false
		}
		return true
	}
	err = s.CreateSession(ctx, store.Session{
		ID: sid, UserID: spec.subject, Username: spec.username, Roles: roles, Kind: "token",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(sessionLifetime),
	})
	if err != nil {
		iss.t.Fatalf("authtest: creating session %q: %v", sid, err)
		return false
	}
	return true
}

func randomID() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TokenOption shapes a token minted by Issuer.Token or Issuer.Header.
type TokenOption interface{ apply(*tokenSpec) }

type tokenOptionFunc func(*tokenSpec)

func (f tokenOptionFunc) apply(s *tokenSpec) { f(s) }

type tokenSpec struct {
	subject     string
	username    string
	roles       []string
	permissions []string
	claims      []any
	lifetime    time.Duration
	session     string
	noSession   bool
}

// Subject sets the token's sub: the Principal's UserID (default DefaultSubject).
func Subject(id string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.subject = id })
}

// Username sets the token's preferred_username: the Principal's Username (which, without
// it, is the subject).
func Username(name string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.username = name })
}

// Roles adds roles to the token. The Principal's permissions are those the Guard maps
// them to (authframe.WithRolePermissions among New's options).
func Roles(roles ...string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.roles = append(s.roles, roles...) })
}

// Permissions gives the token these permissions, beside those its roles map to. The Guard
// derives a local token's permissions from its roles, so each permission comes with a
// role that grants it alone, "authtest:" and the permission, which Grant(permission)
// among New's options registers; a permission not so granted fails the test. The
// Principal's Roles show those roles beside the token's others.
func Permissions(perms ...string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.permissions = append(s.permissions, perms...) })
}

// Claims merges v, which must encode to a JSON object, into the token's claims: the
// claims of the app's own that the Guard reads back with authframe.Claims[T] when it has
// authframe.WithClaims[T]. Its names replace the kit's claims of the same name, which is
// how a test makes a token that the Guard must refuse (another aud, a missing sub).
func Claims(v any) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.claims = append(s.claims, v) })
}

// ExpiresIn sets the token's lifetime from now (default DefaultLifetime). A negative one
// makes an expired token, which the Guard still accepts within its leeway (10 s by
// default): Expired is past any leeway. The Guard refuses tokens that live longer than it
// remembers revocations (24 h by default).
func ExpiresIn(d time.Duration) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.lifetime = d })
}

// Expired makes a token that expired an hour ago, past any leeway the Guard allows.
func Expired() TokenOption { return ExpiresIn(-time.Hour) }

// Session puts the token in the session id of the store, creating it (a token session of
// the token's subject and roles) unless it exists, so that several tokens can share one
// session and end with it (Guard.Logout, RevokeSession). Without Session, every token
// gets a session of its own.
func Session(id string) TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.session, s.noSession = id, false })
}

// NoSession makes a token without a session (no sid claim), as another service holding
// the key would issue: the Guard consults no store to accept it, and Logout revokes the
// token itself (its jti) rather than a session.
func NoSession() TokenOption {
	return tokenOptionFunc(func(s *tokenSpec) { s.noSession, s.session = true, "" })
}

// kitOption is a Guard option that New also reads. Outside New it is the plain Guard
// option it embeds.
type kitOption struct {
	authframe.Option
	store store.Store
	now   func() time.Time
	grant string
}

// WithStore is authframe.WithStore for New: the Guard uses s (wrapped in a FailingStore,
// unless it is one), and the Issuer creates its sessions there. The test owns s: New does
// not close it.
func WithStore(s store.Store) authframe.Option {
	return kitOption{Option: authframe.WithStore(s), store: s}
}

// WithClock is authframe.WithClock for New: the Guard, the memory store and the tokens the
// Issuer mints all read the time from now. A nil now keeps time.Now.
func WithClock(now func() time.Time) authframe.Option {
	return kitOption{Option: authframe.WithClock(now), now: now}
}

// Grant registers a role granting perm alone, which tokens minted with Permissions(perm)
// carry (see Permissions).
func Grant(perm string) authframe.Option {
	return kitOption{Option: authframe.WithRolePermissions(grantRole(perm), perm), grant: perm}
}

func grantRole(perm string) string { return "authtest:" + perm }
