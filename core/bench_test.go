package authframe_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/apikey"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/oauth"
	"github.com/authframe/authframe/core/store"
)

type benchClaims struct {
	jwt.RegisteredClaims
	SID               string   `json:"sid,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
}

type algCase struct {
	name   string
	method jwt.SigningMethod
	sign   any
	verify any
	opt    authframe.Option
}

func algCases(b *testing.B) []algCase {
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	return []algCase{
		{"HS256", jwt.SigningMethodHS256, hmacSecret, hmacSecret, authframe.WithHMACSecret(hmacSecret)},
		{"RS256", jwt.SigningMethodRS256, rsaKey, &rsaKey.PublicKey, authframe.WithKey(authframe.Key{PEM: pemOf(b, rsaKey)})},
		{"ES256", jwt.SigningMethodES256, ecKey, &ecKey.PublicKey, authframe.WithKey(authframe.Key{PEM: pemOf(b, ecKey)})},
		{"EdDSA", jwt.SigningMethodEdDSA, edKey, edPub, authframe.WithKey(authframe.Key{PEM: pemOf(b, edKey)})},
	}
}

// benchTokens returns n distinct valid tokens, so that every verification is a cache miss.
func benchTokens(b *testing.B, ac algCase, n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = sign(b, ac.method, ac.sign, claims(func(c jwt.MapClaims) { c["jti"] = fmt.Sprint("j", i) }), nil)
	}
	return toks
}

// BenchmarkVerifyUncached compares the Guard's full verification (cache miss) with the
// floor: a bare golang-jwt parse with the same checks.
func BenchmarkVerifyUncached(b *testing.B) {
	for _, ac := range algCases(b) {
		toks := benchTokens(b, ac, 4096)
		b.Run(ac.name+"/floor", func(b *testing.B) {
			parser := jwt.NewParser(jwt.WithValidMethods([]string{ac.method.Alg()}), jwt.WithExpirationRequired(),
				jwt.WithIssuedAt(), jwt.WithLeeway(10*time.Second), jwt.WithIssuer(testIss), jwt.WithAudience(testAud))
			keyf := func(*jwt.Token) (any, error) { return ac.verify, nil }
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				var c benchClaims
				if _, err := parser.ParseWithClaims(toks[i%len(toks)], &c, keyf); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
		// The cache off: every call verifies in full. (bench/ measures first-seen tokens
		// against a full cache through each adapter.)
		b.Run(ac.name+"/authframe", func(b *testing.B) {
			g, err := authframe.New(ac.opt, authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithCache(authframe.CacheConfig{Disabled: true}))
			if err != nil {
				b.Fatal(err)
			}
			defer g.Close()
			ctx := context.Background()
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := g.VerifyToken(ctx, toks[i%len(toks)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkVerifyCached is the hot path: a token already verified, with revocations present
// in the set (so the revocation check is on). The RS256 token is the longer one (580 bytes
// against 281), which the hit has to compare in full.
func BenchmarkVerifyCached(b *testing.B) {
	for _, ac := range algCases(b)[:2] {
		ms := memstore.New()
		defer ms.Close()
		g, err := authframe.New(ac.opt, authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithStore(ms))
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		ctx := context.Background()
		tok := sign(b, ac.method, ac.sign, claims(nil), nil)
		now := time.Now()
		for i := 0; i < 100; i++ {
			ms.AddRevocation(ctx, store.Revocation{Kind: store.RevokeSession, Key: fmt.Sprint("s-dead-", i), At: now, ExpiresAt: now.Add(time.Hour)})
		}
		g2, _ := authframe.New(ac.opt, authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithStore(ms))
		defer g2.Close()
		if _, err := g2.VerifyToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
		b.Run(ac.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := g2.VerifyToken(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(ac.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := g2.VerifyToken(ctx, tok); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func BenchmarkLifecycle(b *testing.B) {
	g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithRateLimits(authframe.RateLimits{Login: 1 << 30, Window: time.Minute, Address: -1, Account: -1}))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	u, err := g.Register(ctx, authframe.ClientInfo{}, "bench-user", "correct horse battery")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("login_argon2id_m19456_t2_p1", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.VerifyPassword(ctx, client, "bench-user", "correct horse battery"); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("issue_token_pair", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := g.IssueTokens(ctx, u, client); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("refresh", func(b *testing.B) {
		pair, err := g.IssueTokens(ctx, u, client)
		if err != nil {
			b.Fatal(err)
		}
		rt := pair.RefreshToken
		b.ReportAllocs()
		for b.Loop() {
			next, err := g.Refresh(ctx, rt, client)
			if err != nil {
				b.Fatal(err)
			}
			rt = next.RefreshToken
		}
	})
}

func BenchmarkSessionAuthenticate(b *testing.B) {
	g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithPasswords(fastArgon))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	u, _ := g.Register(ctx, authframe.ClientInfo{}, "sess-user", "password123")
	grant, err := g.StartSession(ctx, u, client)
	if err != nil {
		b.Fatal(err)
	}
	req := cookieReq(g, "GET", grant.Cookie.Value, "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := g.Authenticate(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRequestWithPrincipal is the whole of what authhttp (and authgin, authecho) add
// to a cached verification: the request copy that carries the Principal, beside the
// two-allocation r.WithContext(context.WithValue(...)) it replaces. On a machine where
// allocation is slow, this is where an adapter's time goes.
func BenchmarkRequestWithPrincipal(b *testing.B) {
	r := httptest.NewRequest("GET", "/api", nil)
	p := &authframe.Principal{UserID: "u1"}
	type key struct{}
	if got, _ := authframe.PrincipalFromContext(authframe.RequestWithPrincipal(r, p).Context()); got != p {
		b.Fatal("the request copy does not carry the principal")
	}
	b.Run("RequestWithPrincipal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			requestSink = authframe.RequestWithPrincipal(r, p)
		}
	})
	b.Run("WithContext+WithValue", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			requestSink = r.WithContext(context.WithValue(r.Context(), key{}, p))
		}
	})
}

// requestSink receives every request BenchmarkRequestWithPrincipal makes, so that they
// escape as a handler's would and the compiler cannot drop the allocation.
var requestSink *http.Request

// BenchmarkVerifyCachedServiceCredentials is BenchmarkVerifyCached for the credentials of
// services: a client token through VerifyToken, and an API key through Authenticate (the
// only way a key is presented) beside a user's token through Authenticate, all of them
// already in the in-process cache.
func BenchmarkVerifyCachedServiceCredentials(b *testing.B) {
	ms := memstore.New()
	defer ms.Close()
	g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud),
		authframe.WithStore(ms), authframe.WithRolePermissions("user", "read:notes"))
	if err != nil {
		b.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	c, secret, err := oauth.CreateClient(ctx, g, "svc", []string{"read:reports"})
	if err != nil {
		b.Fatal(err)
	}
	cl, _ := oauth.AuthenticateClient(ctx, g, authframe.ClientInfo{}, c.ID, secret)
	ctok, _ := oauth.IssueToken(ctx, g, cl, nil)
	u, err := g.Register(ctx, authframe.ClientInfo{}, "bench-user", "correct horse battery", "user")
	if err != nil {
		b.Fatal(err)
	}
	pair, _ := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	up, _ := g.VerifyToken(ctx, pair.AccessToken)
	_, key, err := apikey.Create(ctx, g, up, "bench", []string{"read:notes"}, 0)
	if err != nil {
		b.Fatal(err)
	}
	// The requests are made once: a framework's request exists before the Guard sees it.
	var keyReq, keyBearerReq, userReq authframe.Request = &svcReq{apiKey: key}, &svcReq{auth: "Bearer " + key}, &svcReq{auth: "Bearer " + pair.AccessToken}
	cases := []struct {
		name string
		run  func() error
	}{
		{"client_token/VerifyToken", func() error { _, err := g.VerifyToken(ctx, ctok.AccessToken); return err }},
		{"api_key/Verify", func() error { _, err := apikey.Verify(ctx, g, key); return err }},
		{"api_key/Authenticate", func() error { _, err := g.Authenticate(ctx, keyReq); return err }},
		{"api_key_bearer/Authenticate", func() error { _, err := g.Authenticate(ctx, keyBearerReq); return err }},
		{"user_token/Authenticate", func() error { _, err := g.Authenticate(ctx, userReq); return err }},
	}
	for _, tc := range cases {
		if err := tc.run(); err != nil {
			b.Fatal(err)
		}
		b.Run(tc.name+"/serial", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := tc.run(); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
