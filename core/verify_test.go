package authframe_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
)

const (
	testIss = "https://issuer.example"
	testAud = "api.example"
)

var hmacSecret = []byte("0123456789abcdef0123456789abcdef")

func pemOf(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func publicPEM(t testing.TB, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func claims(mod func(jwt.MapClaims)) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": testIss, "aud": testAud, "sub": "user-1", "exp": now.Add(time.Hour).Unix(),
		"iat": now.Unix(), "nbf": now.Unix(), "jti": "jti-1", "roles": []string{"admin"},
	}
	if mod != nil {
		mod(c)
	}
	return c
}

func sign(t testing.TB, m jwt.SigningMethod, key any, c jwt.MapClaims, hdr map[string]any) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, c)
	tok.Header["typ"] = "at+jwt"
	for k, v := range hdr {
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newVerifier(t testing.TB, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	base := []authframe.Option{authframe.WithIssuer(testIss), authframe.WithAudience(testAud)}
	g, err := authframe.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestVerificationRules(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)

	hs := newVerifier(t, authframe.WithHMACSecret(hmacSecret))
	rs := newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, rsaKey)}))
	es := newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, ecKey)}))
	es384 := newVerifier(t, authframe.WithKey(authframe.Key{PEM: publicPEM(t, &ec384.PublicKey)}))
	ed := newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, edKey)}))
	typed := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithTokens(authframe.TokenConfig{Types: []string{"at+jwt"}}))
	multi := newVerifier(t, authframe.WithIssuer("https://other.example"), authframe.WithAudience("second"), authframe.WithHMACSecret(hmacSecret))

	valid := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), nil)
	parts := strings.Split(valid, ".")

	rsaPubPEM := publicPEM(t, &rsaKey.PublicKey)
	confused := sign(t, jwt.SigningMethodHS256, rsaPubPEM, claims(nil), nil)

	noneTok := func(alg string) string {
		return b64(`{"alg":"`+alg+`","typ":"JWT"}`) + "." + parts[1] + "."
	}

	tests := []struct {
		name    string
		g       *authframe.Guard
		tok     string
		wantErr string // substring of the safe message; "" means valid
	}{
		{"a valid HS256 token passes", hs, valid, ""},
		{"a valid RS256 token passes", rs, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), nil), ""},
		{"a valid ES256 token passes", es, sign(t, jwt.SigningMethodES256, ecKey, claims(nil), nil), ""},
		{"a valid ES384 token passes with a public key only", es384, sign(t, jwt.SigningMethodES384, ec384, claims(nil), nil), ""},
		{"a valid EdDSA token passes", ed, sign(t, jwt.SigningMethodEdDSA, edKey, claims(nil), nil), ""},
		{"alg none is refused", hs, noneTok("none"), "invalid"},
		{"alg NONE in capitals is refused", hs, noneTok("NONE"), "invalid"},
		{"alg nOnE in mixed case is refused", hs, noneTok("nOnE"), "invalid"},
		{"an HMAC token signed with the server's RSA public key is refused", rs, confused, "invalid"},
		{"an RS256 token at an HMAC verifier is refused", hs, sign(t, jwt.SigningMethodRS256, rsaKey, claims(nil), nil), "invalid"},
		{"a stripped signature is refused", hs, parts[0] + "." + parts[1] + ".", "signature"},
		{"a modified signature is refused", hs, parts[0] + "." + parts[1] + "." + flip(parts[2]), "signature"},
		{"a modified payload is refused", hs, parts[0] + "." + b64(`{"sub":"admin","exp":9999999999,"iss":"`+testIss+`","aud":"`+testAud+`"}`) + "." + parts[2], "signature"},
		{"an expired token is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() }), nil), "expired"},
		{"a token expired within the leeway passes", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-5 * time.Second).Unix() }), nil), ""},
		{"nbf in the future is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), nil), "not valid yet"},
		{"iat in the future is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() }), nil), "not valid yet"},
		{"a wrong issuer is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["iss"] = "https://evil.example" }), nil), "issuer"},
		{"a wrong audience is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["aud"] = "other" }), nil), "audience"},
		{"an audience array containing ours passes", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAud} }), nil), ""},
		{"an audience array without ours is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["aud"] = []string{"x", "y"} }), nil), "audience"},
		{"a second configured issuer and audience pass", multi, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["iss"] = "https://other.example"; c["aud"] = "second" }), nil), ""},
		{"a missing exp is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { delete(c, "exp") }), nil), "required claim"},
		{"a missing sub is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { delete(c, "sub") }), nil), "subject"},
		{"a crit header is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), map[string]any{"crit": []string{"exp"}}), "not valid"},
		{"padded base64 is refused", hs, parts[0] + "=." + parts[1] + "." + parts[2], "malformed"},
		{"a token with too many dots is refused", hs, valid + strings.Repeat(".", 5000), "malformed"},
		{"an oversized token is refused before parsing", hs, strings.Repeat("a", 9000), "too large"},
		{"garbage is refused", hs, "not-a-token", "malformed"},
		{"an unknown kid is refused", hs, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), map[string]any{"kid": "nope"}), "not valid"},
		{"typ at+jwt passes when required", typed, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), map[string]any{"typ": "at+jwt"}), ""},
		{"typ application/at+jwt passes when required", typed, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), map[string]any{"typ": "application/at+jwt"}), ""},
		{"typ JWT is refused when at+jwt is required", typed, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), map[string]any{"typ": "JWT"}), "type is not accepted"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tc.g.VerifyToken(context.Background(), tc.tok)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("VerifyToken: %v", err)
				}
				if p.UserID != "user-1" || p.Method != authframe.MethodBearer {
					t.Fatalf("principal = %+v", p)
				}
				return
			}
			if err == nil {
				t.Fatalf("VerifyToken accepted the token")
			}
			var ae *authframe.Error
			if !errors.As(err, &ae) || ae.Code.Wire() != authframe.ErrInvalidToken || ae.Code.Status() != http.StatusUnauthorized {
				t.Fatalf("error = %#v, want an invalid_token 401", err)
			}
			if !strings.Contains(ae.Message, tc.wantErr) && !(tc.wantErr == "invalid" && strings.Contains(ae.Message, "not valid")) {
				t.Fatalf("message %q does not contain %q", ae.Message, tc.wantErr)
			}
		})
	}
}

func flip(sig string) string {
	b := []byte(sig)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestConstructorNamesTheBadOption(t *testing.T) {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	tests := []struct {
		name string
		opts []authframe.Option
		want string
	}{
		{"no key at all", nil, "no key configured"},
		{"a short HMAC secret", []authframe.Option{authframe.WithHMACSecret([]byte("short"))}, "WithHMACSecret"},
		{"an unreadable key file", []authframe.Option{authframe.WithKeyFile("/nonexistent/key.pem")}, "WithKeyFile"},
		{"a PEM without a key", []authframe.Option{authframe.WithKey(authframe.Key{PEM: []byte("hello")})}, "WithKey"},
		{"two keys with one kid", []authframe.Option{authframe.WithKey(authframe.Key{PEM: pemOf(t, rsaKey)}), authframe.WithKey(authframe.Key{PEM: pemOf(t, rsaKey)})}, "kid"},
		{"two HMAC secrets with one kid", []authframe.Option{authframe.WithKey(authframe.Key{HMAC: hmacSecret, ID: "a"}), authframe.WithKey(authframe.Key{HMAC: hmacSecret, ID: "a"})}, "kid"},
		{"a leeway over five minutes", []authframe.Option{authframe.WithHMACSecret(hmacSecret), authframe.WithTokens(authframe.TokenConfig{Leeway: time.Hour})}, "WithTokens"},
		{"a bad permission", []authframe.Option{authframe.WithHMACSecret(hmacSecret), authframe.WithRolePermissions("r", "nocolon")}, "WithRolePermissions"},
		{"a bad trusted proxy", []authframe.Option{authframe.WithHMACSecret(hmacSecret), authframe.WithTrustedProxies("nonsense")}, "WithTrustedProxies"},
		{"a __Host- cookie without Secure", []authframe.Option{authframe.WithHMACSecret(hmacSecret), authframe.WithSessions(authframe.SessionConfig{CookieName: "__Host-x", CookiePath: "/x"})}, "WithSessions"},
		{"an unreachable OIDC issuer", []authframe.Option{authframe.WithRemote(authframe.RemoteIssuer{Issuer: "http://127.0.0.1:1"})}, "WithRemote"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g, err := authframe.New(append([]authframe.Option{authframe.WithIssuer(testIss), authframe.WithAudience(testAud)}, tc.opts...)...)
			if err == nil {
				g.Close()
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
}

func TestBearerExtraction(t *testing.T) {
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret))
	tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), nil)
	q := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithTokens(authframe.TokenConfig{QueryParameter: "access_token"}), authframe.WithTokens(authframe.TokenConfig{Cookie: "at"}))
	tests := []struct {
		name string
		g    *authframe.Guard
		req  fakeReq
		ok   bool
	}{
		{"Bearer scheme", g, fakeReq{headers: map[string]string{"Authorization": "Bearer " + tok}}, true},
		{"lowercase bearer scheme", g, fakeReq{headers: map[string]string{"Authorization": "bearer " + tok}}, true},
		{"uppercase BEARER scheme", g, fakeReq{headers: map[string]string{"Authorization": "BEARER " + tok}}, true},
		{"a query token is ignored by default", g, fakeReq{query: map[string]string{"access_token": tok}}, false},
		{"a query token is read when enabled", q, fakeReq{query: map[string]string{"access_token": tok}}, true},
		{"a cookie token is read when enabled", q, fakeReq{cookies: map[string]string{"at": tok}}, true},
		{"a Basic header is not a bearer token", g, fakeReq{headers: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.g.Authenticate(context.Background(), tc.req)
			if (err == nil) != tc.ok {
				t.Fatalf("Authenticate err = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok && !errors.Is(err, authframe.ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrUnauthenticated", err)
			}
		})
	}
}

type fakeReq struct {
	method  string
	headers map[string]string
	cookies map[string]string
	query   map[string]string
	remote  string
}

func (f fakeReq) Header(n string) string { return f.headers[n] }
func (f fakeReq) Cookie(n string) string { return f.cookies[n] }
func (f fakeReq) Query(n string) string  { return f.query[n] }
func (f fakeReq) Method() string {
	if f.method == "" {
		return http.MethodGet
	}
	return f.method
}
func (f fakeReq) Path() string { return "/" }
func (f fakeReq) RemoteAddr() string {
	if f.remote == "" {
		return "192.0.2.1:1234"
	}
	return f.remote
}

func TestCacheHitSkipsVerificationAndHonoursExpiry(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	var tiers []string
	obs := audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.TokenValidated {
			tiers = append(tiers, e.Tier+":"+e.Result)
		}
	})
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithClock(clock), authframe.WithObserver(obs), authframe.WithTokens(authframe.TokenConfig{Leeway: -1}))
	tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) {
		c["exp"], c["iat"], c["nbf"] = now.Add(time.Minute).Unix(), now.Unix(), now.Unix()
	}), nil)
	for i := 0; i < 2; i++ {
		if _, err := g.VerifyToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Minute)
	if _, err := g.VerifyToken(context.Background(), tok); err == nil {
		t.Fatal("an expired token passed from the cache")
	}
	want := []string{"verify:ok", "lru:ok", "verify:expired"}
	if strings.Join(tiers, ",") != strings.Join(want, ",") {
		t.Fatalf("tiers = %v, want %v", tiers, want)
	}
}

func TestAFullCacheAdmitsATokenOnItsSecondMiss(t *testing.T) {
	var tiers []string
	obs := audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.TokenValidated {
			tiers = append(tiers, e.Tier)
		}
	})
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithCache(authframe.CacheConfig{Size: 2}), authframe.WithObserver(obs))
	tok := func(jti string) string {
		return sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["jti"] = jti }), nil)
	}
	t1, t2, t3 := tok("1"), tok("2"), tok("3")
	for _, step := range []struct {
		tok, tier string
	}{
		{t1, "verify"}, {t2, "verify"}, // the cache fills
		{t3, "verify"},           // full: t3 is remembered, not admitted
		{t1, "lru"}, {t2, "lru"}, // nothing was evicted for it
		{t3, "verify"}, // its second miss admits it, evicting the least recent (t1)
		{t3, "lru"}, {t2, "lru"}, {t1, "verify"},
	} {
		tiers = tiers[:0]
		if _, err := g.VerifyToken(context.Background(), step.tok); err != nil {
			t.Fatal(err)
		}
		if len(tiers) != 1 || tiers[0] != step.tier {
			t.Fatalf("token %s answered by %v, want %s", step.tok[len(step.tok)-6:], tiers, step.tier)
		}
	}
}

func TestCacheIsBoundToConfiguration(t *testing.T) {
	// Two Guards sharing one shared cache tier with different audiences: a token cached by
	// one must not pass the other.
	shared := newMapCache()
	a := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	b, err := authframe.New(authframe.WithIssuer(testIss), authframe.WithAudience("other-aud"), authframe.WithHMACSecret(hmacSecret), authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), nil)
	if _, err := a.VerifyToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if shared.sets.Load() != 1 {
		t.Fatalf("shared cache sets = %d", shared.sets.Load())
	}
	if _, err := b.VerifyToken(context.Background(), tok); err == nil {
		t.Fatal("a token cached under one configuration passed another")
	}
}

func TestSharedCacheValuesAreAuthenticated(t *testing.T) {
	// Whoever can write to the shared cache must not be able to grant roles: a value
	// rewritten in place (here: roles changed to admin) is ignored and the token verified
	// afresh, with the roles its claims carry.
	shared := newMapCache()
	a := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	b := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["roles"] = []string{"user"} }), nil)
	if _, err := a.VerifyToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	if len(shared.m) != 1 {
		t.Fatalf("shared entries = %d", len(shared.m))
	}
	for k, v := range shared.m {
		forged := bytes.Replace(v, []byte(`"user"`), []byte(`"admin"`), 1)
		if bytes.Equal(forged, v) {
			t.Fatalf("value %q does not carry the roles", v)
		}
		shared.m[k] = forged
	}
	p, err := b.VerifyToken(context.Background(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.Roles, "admin") {
		t.Fatalf("a forged shared cache value granted %v", p.Roles)
	}

	// A verify-only Guard has no signing key to derive the MAC key from.
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	iss, aud := authframe.WithIssuer(testIss), authframe.WithAudience(testAud)
	if _, err := authframe.New(iss, aud, authframe.WithKey(authframe.Key{PEM: pub, VerifyOnly: true}), authframe.WithCache(authframe.CacheConfig{Shared: shared})); err == nil || !strings.Contains(err.Error(), "SharedKey") {
		t.Fatalf("verify-only Guard with a shared cache and no key: %v", err)
	}
	if _, err := authframe.New(iss, aud, authframe.WithKey(authframe.Key{PEM: pub, VerifyOnly: true}), authframe.WithCache(authframe.CacheConfig{Shared: shared}), authframe.WithCache(authframe.CacheConfig{SharedKey: make([]byte, 16)})); err == nil {
		t.Fatal("a 16-byte shared cache key was accepted")
	}
	g, err := authframe.New(iss, aud, authframe.WithKey(authframe.Key{PEM: pub, VerifyOnly: true}), authframe.WithCache(authframe.CacheConfig{Shared: shared}), authframe.WithCache(authframe.CacheConfig{SharedKey: bytes.Repeat([]byte{7}, 32)}))
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
}

type mapCache struct {
	m    map[string][]byte
	sets atomic.Int32
}

func newMapCache() *mapCache { return &mapCache{m: map[string][]byte{}} }
func (c *mapCache) Get(_ context.Context, k string) ([]byte, bool, error) {
	v, ok := c.m[k]
	return v, ok, nil
}
func (c *mapCache) Set(_ context.Context, k string, v []byte, _ time.Duration) error {
	c.sets.Add(1)
	c.m[k] = v
	return nil
}

func TestJWKSRotation(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	signer1 := newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, k1)}))
	signer2 := newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, k2)}))
	var current atomic.Value
	current.Store(signer1.JWKS())
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write(current.Load().([]byte))
	}))
	defer srv.Close()
	g, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: testIss, Audience: []string{testAud}, JWKSURL: srv.URL}), authframe.WithCache(authframe.CacheConfig{Disabled: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	kid := func(g *authframe.Guard) string {
		var set struct{ Keys []struct{ Kid string } }
		json.Unmarshal(g.JWKS(), &set)
		return set.Keys[0].Kid
	}
	tok1 := sign(t, jwt.SigningMethodES256, k1, claims(nil), map[string]any{"kid": kid(signer1)})
	tok2 := sign(t, jwt.SigningMethodES256, k2, claims(nil), map[string]any{"kid": kid(signer2)})
	if _, err := g.VerifyToken(context.Background(), tok1); err != nil {
		t.Fatalf("token of the published key: %v", err)
	}
	// Rotate: the set now holds only key 2. An unknown kid triggers a refresh.
	current.Store(signer2.JWKS())
	if _, err := g.VerifyToken(context.Background(), tok2); err != nil {
		t.Fatalf("token of the rotated-in key: %v", err)
	}
	if _, err := g.VerifyToken(context.Background(), tok1); err == nil {
		t.Fatal("a token of a key rotated out of the JWKS still passes")
	}
}

// The validation cache finds entries by the token's tail (its signature), so a forgery
// that keeps a cached token's signature and changes anything before it lands on that
// token's entry: it must still be refused, and the genuine token must keep passing.
func TestCachedTokensSignatureDoesNotCarryForgeries(t *testing.T) {
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret))
	ctx := context.Background()
	valid := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), nil)
	if _, err := g.VerifyToken(ctx, valid); err != nil {
		t.Fatal(err)
	}
	dot := strings.LastIndexByte(valid, '.')
	header, sig := valid[:strings.IndexByte(valid, '.')], valid[dot:]
	last := byte('A') // a different last character of the payload
	if valid[dot-1] == last {
		last = 'B'
	}
	forgeries := []string{
		header + "." + b64(`{"sub":"admin","roles":["admin"],"iss":"`+testIss+`","aud":"`+testAud+`","exp":9999999999}`) + sig,
		"x" + valid[1:],
		valid[:dot-1] + string(last) + sig,
		b64(`{"alg":"none"}`) + valid[strings.IndexByte(valid, '.'):],
		sig[1:],
	}
	for i := 0; i < 3; i++ { // before and after the genuine token is used again
		for _, f := range forgeries {
			if p, err := g.VerifyToken(ctx, f); err == nil {
				t.Fatalf("forgery %q accepted as %+v", f, p)
			}
		}
		if p, err := g.VerifyToken(ctx, valid); err != nil || p.UserID != "user-1" {
			t.Fatalf("genuine token: %v %+v", err, p)
		}
	}
}
