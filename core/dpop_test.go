package authframe_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/audit"
	"github.com/authframe/authframe/core/dpop"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/oauth"
	"github.com/authframe/authframe/core/store"
)

const dpopPublicURL = "https://api.example"

// dpopReq is a request with the headers DPoP travels in.
type dpopReq struct {
	method, path, auth, proof string
}

func (r dpopReq) Header(n string) string {
	switch {
	case strings.EqualFold(n, "Authorization"):
		return r.auth
	case strings.EqualFold(n, "DPoP"):
		return r.proof
	}
	return ""
}
func (r dpopReq) Cookie(string) string { return "" }
func (r dpopReq) Query(string) string  { return "" }
func (r dpopReq) Method() string       { return r.method }
func (r dpopReq) Path() string         { return r.path }
func (r dpopReq) RemoteAddr() string   { return "198.51.100.9:5000" }

func newProver(t testing.TB) *dpop.Prover {
	t.Helper()
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dpop.NewProver(key)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func proof(t testing.TB, p *dpop.Prover, method, path string, opts ...dpop.ProofOption) string {
	t.Helper()
	s, err := p.Proof(method, dpopPublicURL+path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// dpopGuard is a Guard with DPoP on, over s (a fresh memory store when nil).
func dpopGuard(t testing.TB, s store.Store, opts ...authframe.Option) *authframe.Guard {
	t.Helper()
	if s == nil {
		ms := memstore.New()
		t.Cleanup(func() { ms.Close() })
		s = ms
	}
	base := []authframe.Option{authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud),
		authframe.WithStore(s), authframe.WithPasswords(auditArgon), authframe.WithPublicURL(dpopPublicURL), dpop.WithProofs()}
	g, err := authframe.New(append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// boundPair logs u in with a proof by p and returns the bound pair.
func boundPair(t testing.TB, g *authframe.Guard, u authframe.User, p *dpop.Prover) *authframe.TokenPair {
	t.Helper()
	ctx, err := dpop.TokenRequest(context.Background(), g, dpopReq{method: "POST", path: "/auth/token", proof: proof(t, p, "POST", "/auth/token")})
	if err != nil {
		t.Fatal(err)
	}
	pair, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return pair
}

// wantDPoPRefusal fails unless err is a 401 of code with a DPoP challenge (and no Bearer one).
func wantDPoPRefusal(t *testing.T, err error, code authframe.Code) {
	t.Helper()
	if !errors.Is(err, code) {
		t.Fatalf("error %v, want %s", err, code)
	}
	r := endpoint.RenderError(err, "rid")
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401 (%v)", r.Status, err)
	}
	var challenge string
	for _, h := range r.Headers {
		if h[0] == "WWW-Authenticate" {
			challenge = h[1]
		}
	}
	if !strings.HasPrefix(challenge, `DPoP algs="`) || !strings.Contains(challenge, `error="`+string(code)+`"`) {
		t.Fatalf("WWW-Authenticate %q, want a DPoP challenge with error=%q", challenge, code)
	}
}

func TestDPoPBoundTokenNeedsAFreshProofByItsKeyOnEveryRequest(t *testing.T) {
	ctx := context.Background()
	g := dpopGuard(t, nil)
	u, err := g.Register(ctx, authframe.ClientInfo{}, "dpop-user", "password123")
	if err != nil {
		t.Fatal(err)
	}
	p := newProver(t)
	pair := boundPair(t, g, u, p)
	if pair.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", pair.TokenType)
	}
	_, claims := jwtPayload(t, pair.AccessToken)
	if cnf, _ := claims["cnf"].(map[string]any); cnf["jkt"] != p.JKT() {
		t.Fatalf("cnf %v, want jkt %s", claims["cnf"], p.JKT())
	}
	at := pair.AccessToken
	req := func(pr string) dpopReq {
		return dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + at, proof: pr}
	}
	good := proof(t, p, "GET", "/api/me", dpop.WithAccessToken(at))
	for i := range 3 {
		// The first request verifies the token, the later ones hit the cache: each needs a
		// proof of its own.
		pr := good
		if i > 0 {
			pr = proof(t, p, "GET", "/api/me", dpop.WithAccessToken(at))
		}
		got, err := g.Authenticate(ctx, req(pr))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if got.JKT != p.JKT() || got.Method != authframe.MethodBearer || got.UserID != u.ID {
			t.Fatalf("principal %+v", got)
		}
	}

	other := newProver(t)
	cases := []struct {
		name string
		r    dpopReq
		code authframe.Code
	}{
		{"a replayed proof", req(good), authframe.ErrInvalidDPoPProof},
		{"no proof", req(""), authframe.ErrInvalidDPoPProof},
		{"a proof by another key", req(proof(t, other, "GET", "/api/me", dpop.WithAccessToken(at))), authframe.ErrInvalidDPoPProof},
		{"a proof for another method", req(proof(t, p, "POST", "/api/me", dpop.WithAccessToken(at))), authframe.ErrInvalidDPoPProof},
		{"a proof for another path", req(proof(t, p, "GET", "/api/admin", dpop.WithAccessToken(at))), authframe.ErrInvalidDPoPProof},
		{"a proof without ath", req(proof(t, p, "GET", "/api/me")), authframe.ErrInvalidDPoPProof},
		{"a proof for another token", req(proof(t, p, "GET", "/api/me", dpop.WithAccessToken(at+"x"))), authframe.ErrInvalidDPoPProof},
		{"a proof for another origin", dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + at, proof: func() string {
			s, _ := p.Proof("GET", "https://evil.example/api/me", dpop.WithAccessToken(at))
			return s
		}()}, authframe.ErrInvalidDPoPProof},
		{"a garbled token", dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + at[:len(at)-4] + "AAAA", proof: proof(t, p, "GET", "/api/me", dpop.WithAccessToken(at[:len(at)-4]+"AAAA"))}, authframe.ErrInvalidToken},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := g.Authenticate(ctx, c.r)
			wantDPoPRefusal(t, err, c.code)
		})
	}

	t.Run("presented as Bearer it is refused", func(t *testing.T) {
		_, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: "Bearer " + at})
		if !errors.Is(err, authframe.ErrInvalidToken) {
			t.Fatalf("Bearer presentation: %v, want invalid_token", err)
		}
		if r := endpoint.RenderError(err, ""); r.Status != 401 || !strings.HasPrefix(r.Headers[0][1], "Bearer ") {
			t.Fatalf("Bearer presentation rendered %d %v", r.Status, r.Headers)
		}
		if _, err := g.VerifyToken(ctx, at); !errors.Is(err, authframe.ErrInvalidToken) {
			t.Fatalf("VerifyToken of a bound token: %v, want invalid_token", err)
		}
	})
	t.Run("an unbound token with the DPoP scheme is refused", func(t *testing.T) {
		plain, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
		if err != nil {
			t.Fatal(err)
		}
		if plain.TokenType != "Bearer" {
			t.Fatalf("a login without proof: token_type %q", plain.TokenType)
		}
		_, err = g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + plain.AccessToken, proof: proof(t, p, "GET", "/api/me", dpop.WithAccessToken(plain.AccessToken))})
		wantDPoPRefusal(t, err, authframe.ErrInvalidToken)
		if _, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: "Bearer " + plain.AccessToken}); err != nil {
			t.Fatalf("the unbound token as Bearer: %v", err)
		}
	})
	t.Run("a logout revokes the bound token", func(t *testing.T) {
		pr, err := g.Authenticate(ctx, req(proof(t, p, "GET", "/api/me", dpop.WithAccessToken(at))))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Logout(ctx, pr); err != nil {
			t.Fatal(err)
		}
		_, err = g.Authenticate(ctx, req(proof(t, p, "GET", "/api/me", dpop.WithAccessToken(at))))
		wantDPoPRefusal(t, err, authframe.ErrInvalidToken)
	})
}

func TestDPoPBoundRefreshTokenNeedsAProofByItsKeyAndIsNotSpentWithoutOne(t *testing.T) {
	ctx := context.Background()
	g := dpopGuard(t, nil)
	u, err := g.Register(ctx, authframe.ClientInfo{}, "dpop-refresh", "password123")
	if err != nil {
		t.Fatal(err)
	}
	p, other := newProver(t), newProver(t)
	pair := boundPair(t, g, u, p)
	refreshCtx := func(pr *dpop.Prover) context.Context {
		t.Helper()
		if pr == nil {
			return ctx
		}
		c, err := dpop.TokenRequest(ctx, g, dpopReq{method: "POST", path: "/auth/refresh", proof: proof(t, pr, "POST", "/auth/refresh")})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, pr := range []*dpop.Prover{nil, other} {
		_, err := g.Refresh(refreshCtx(pr), pair.RefreshToken, authframe.ClientInfo{})
		if !errors.Is(err, authframe.ErrInvalidToken) {
			t.Fatalf("refresh of a bound family without its key's proof: %v, want invalid_token", err)
		}
	}
	next, err := g.Refresh(refreshCtx(p), pair.RefreshToken, authframe.ClientInfo{})
	if err != nil {
		t.Fatalf("the refused attempts spent the token: %v", err)
	}
	_, claims := jwtPayload(t, next.AccessToken)
	if cnf, _ := claims["cnf"].(map[string]any); next.TokenType != "DPoP" || cnf["jkt"] != p.JKT() {
		t.Fatalf("refreshed pair: token_type %q cnf %v", next.TokenType, claims["cnf"])
	}
	if _, err := g.Refresh(ctx, next.RefreshToken, authframe.ClientInfo{}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("the new refresh token is not bound: %v", err)
	}
	// Reuse detection still applies to a bound family.
	if _, err := g.Refresh(refreshCtx(p), pair.RefreshToken, authframe.ClientInfo{}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("reuse of a spent bound token: %v", err)
	}
	if _, err := g.Refresh(refreshCtx(p), next.RefreshToken, authframe.ClientInfo{}); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("after reuse the family is revoked: %v", err)
	}
	ss, err := g.ListSessions(ctx, &authframe.Principal{UserID: u.ID, Local: true, Method: authframe.MethodBearer})
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 0 {
		t.Fatalf("%d sessions left after the reuse", len(ss))
	}
}

func TestDPoPUnboundFamilyRefreshedWithAProofGetsABoundAccessToken(t *testing.T) {
	ctx := context.Background()
	g := dpopGuard(t, nil)
	u, _ := g.Register(ctx, authframe.ClientInfo{}, "dpop-upgrade", "password123")
	plain, err := g.IssueTokens(ctx, u, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	p := newProver(t)
	c, err := dpop.TokenRequest(ctx, g, dpopReq{method: "POST", path: "/auth/refresh", proof: proof(t, p, "POST", "/auth/refresh")})
	if err != nil {
		t.Fatal(err)
	}
	next, err := g.Refresh(c, plain.RefreshToken, authframe.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if next.TokenType != "DPoP" {
		t.Fatalf("token_type %q, want DPoP", next.TokenType)
	}
	if _, err := g.VerifyToken(ctx, next.AccessToken); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("the access token is not bound: %v", err)
	}
}

func TestDPoPTokenRequestRefusesBadProofs(t *testing.T) {
	ctx := context.Background()
	g := dpopGuard(t, nil)
	p := newProver(t)
	replayed := proof(t, p, "POST", "/auth/token")
	if _, err := dpop.TokenRequest(ctx, g, dpopReq{method: "POST", path: "/auth/token", proof: replayed}); err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]dpopReq{
		"replayed":           {method: "POST", path: "/auth/token", proof: replayed},
		"for another path":   {method: "POST", path: "/auth/token", proof: proof(t, p, "POST", "/auth/refresh")},
		"for another method": {method: "POST", path: "/auth/token", proof: proof(t, p, "PUT", "/auth/token")},
		"not a JWS":          {method: "POST", path: "/auth/token", proof: "not-a-proof"},
	} {
		_, err := dpop.TokenRequest(ctx, g, r)
		if !errors.Is(err, authframe.ErrInvalidDPoPProof) {
			t.Fatalf("%s: %v, want invalid_dpop_proof", name, err)
		}
		if st := endpoint.RenderError(err, "").Status; st != http.StatusBadRequest {
			t.Fatalf("%s: status %d, want 400", name, st)
		}
	}
	same, err := dpop.TokenRequest(ctx, g, dpopReq{method: "POST", path: "/auth/token"})
	if err != nil || same != ctx {
		t.Fatalf("a request without a proof: %v (context changed: %v)", err, same != ctx)
	}
}

func TestDPoPReplayIsRefusedAcrossGuardsSharingTheStore(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	defer ms.Close()
	a, b := dpopGuard(t, ms), dpopGuard(t, ms)
	u, _ := a.Register(ctx, authframe.ClientInfo{}, "dpop-twin", "password123")
	p := newProver(t)
	pair := boundPair(t, a, u, p)
	r := dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + pair.AccessToken, proof: proof(t, p, "GET", "/api/me", dpop.WithAccessToken(pair.AccessToken))}
	if _, err := a.Authenticate(ctx, r); err != nil {
		t.Fatal(err)
	}
	_, err := b.Authenticate(ctx, r)
	wantDPoPRefusal(t, err, authframe.ErrInvalidDPoPProof)
}

func TestDPoPBindingSurvivesTheSharedCache(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	defer ms.Close()
	shared := newMapCache()
	a := dpopGuard(t, ms, authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	b := dpopGuard(t, ms, authframe.WithCache(authframe.CacheConfig{Shared: shared}))
	u, _ := a.Register(ctx, authframe.ClientInfo{}, "dpop-shared", "password123")
	p := newProver(t)
	pair := boundPair(t, a, u, p)
	r := func() dpopReq {
		return dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + pair.AccessToken, proof: proof(t, p, "GET", "/api/me", dpop.WithAccessToken(pair.AccessToken))}
	}
	if _, err := a.Authenticate(ctx, r()); err != nil {
		t.Fatal(err)
	}
	if shared.sets.Load() == 0 {
		t.Fatal("the shared cache was not written")
	}
	// b reads the token from the shared tier: the binding comes with it.
	if _, err := b.VerifyToken(ctx, pair.AccessToken); !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("the shared tier lost the binding: %v", err)
	}
	got, err := b.Authenticate(ctx, r())
	if err != nil || got.JKT != p.JKT() {
		t.Fatalf("b: %+v, %v", got, err)
	}
}

func TestDPoPServerNoncesAreAskedForAndAccepted(t *testing.T) {
	ctx := context.Background()
	key := make([]byte, dpop.MinNonceKey)
	_, _ = rand.Read(key)
	n, err := dpop.NewNonces(key, 0)
	if err != nil {
		t.Fatal(err)
	}
	g := dpopGuard(t, nil, dpop.WithProofs(dpop.WithNonces(n)))
	p := newProver(t)
	_, err = dpop.TokenRequest(ctx, g, dpopReq{method: "POST", path: "/auth/token", proof: proof(t, p, "POST", "/auth/token")})
	e, ok := errors.AsType[*authframe.Error](err)
	if !ok || e.DPoPNonce == "" || !errors.Is(err, authframe.ErrInvalidDPoPProof) {
		t.Fatalf("a proof without nonce: %v, want invalid_dpop_proof with a nonce", err)
	}
	r := endpoint.RenderError(err, "")
	hs := map[string]string{}
	for _, h := range r.Headers {
		hs[h[0]] = h[1]
	}
	if r.Status != 400 || hs["DPoP-Nonce"] != e.DPoPNonce || !strings.Contains(hs["WWW-Authenticate"], `error="use_dpop_nonce"`) {
		t.Fatalf("rendered %d %v", r.Status, hs)
	}
	if _, err := dpop.TokenRequest(ctx, g, dpopReq{method: "POST", path: "/auth/token", proof: proof(t, p, "POST", "/auth/token", dpop.WithNonce(e.DPoPNonce))}); err != nil {
		t.Fatalf("with the nonce: %v", err)
	}
}

func TestDPoPClientCredentialsAreBoundAndIntrospectedAsDPoP(t *testing.T) {
	ctx := context.Background()
	g := dpopGuard(t, nil)
	c, _, err := oauth.CreateClient(ctx, g, "reports", []string{"read:reports"})
	if err != nil {
		t.Fatal(err)
	}
	p := newProver(t)
	bctx, err := dpop.TokenRequest(ctx, g, dpopReq{method: "POST", path: "/oauth/token", proof: proof(t, p, "POST", "/oauth/token")})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := oauth.IssueToken(bctx, g, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tok.TokenType != "DPoP" {
		t.Fatalf("token_type %q", tok.TokenType)
	}
	in, err := oauth.Introspect(ctx, g, tok.AccessToken)
	if err != nil || !in.Active || in.TokenType != "DPoP" || in.Cnf == nil || in.Cnf.JKT != p.JKT() {
		t.Fatalf("introspection %+v, %v", in, err)
	}
	got, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/reports", auth: "DPoP " + tok.AccessToken, proof: proof(t, p, "GET", "/api/reports", dpop.WithAccessToken(tok.AccessToken))})
	if err != nil || got.Method != authframe.MethodClient || !got.Can("read:reports") {
		t.Fatalf("client principal %+v, %v", got, err)
	}
	if err := oauth.Revoke(ctx, g, tok.AccessToken); err != nil {
		t.Fatal(err)
	}
	if in, _ := oauth.Introspect(ctx, g, tok.AccessToken); in.Active {
		t.Fatal("a revoked bound token is still active")
	}
}

func TestDPoPIsOffWithoutWithProofsAndBoundTokensStayRefused(t *testing.T) {
	ctx := context.Background()
	ms := memstore.New()
	defer ms.Close()
	on := dpopGuard(t, ms)
	off, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithStore(ms), authframe.WithPasswords(auditArgon))
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()
	u, _ := on.Register(ctx, authframe.ClientInfo{}, "dpop-off", "password123")
	p := newProver(t)
	pr := proof(t, p, "POST", "/auth/token")
	same, err := dpop.TokenRequest(ctx, off, dpopReq{method: "POST", path: "/auth/token", proof: pr})
	if err != nil || same != ctx {
		t.Fatalf("a Guard without DPoP: %v", err)
	}
	pair := boundPair(t, on, u, p)
	for _, auth := range []string{"Bearer ", "DPoP "} {
		_, err := off.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: auth + pair.AccessToken, proof: proof(t, p, "GET", "/api/me", dpop.WithAccessToken(pair.AccessToken))})
		if !errors.Is(err, authframe.ErrInvalidToken) {
			t.Fatalf("%sbound token on a Guard without DPoP: %v", auth, err)
		}
	}
}

func TestDPoPNeedsThePublicURLAndAReplayStore(t *testing.T) {
	_, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), dpop.WithProofs())
	if err == nil || !strings.Contains(err.Error(), "WithPublicURL") {
		t.Fatalf("New without a public URL: %v", err)
	}
	_, err = authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud),
		authframe.WithPublicURL(dpopPublicURL), dpop.WithProofs(dpop.WithWindow(0, 0)))
	if err == nil || !strings.Contains(err.Error(), "WithWindow") {
		t.Fatalf("New with a bad DPoP option: %v", err)
	}
	ms := memstore.New()
	defer ms.Close()
	_, err = authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud),
		authframe.WithPublicURL(dpopPublicURL), authframe.WithStore(noReplayStore{ms}), dpop.WithProofs())
	if err == nil || !strings.Contains(err.Error(), "ReplayStore") {
		t.Fatalf("New with a store that cannot record jti: %v", err)
	}
}

// noReplayStore hides the memory store's abilities but the Store interface.
type noReplayStore struct{ store.Store }

// A P-256 key works as well as an Ed25519 one, and a proof for a path with characters
// that need escaping names the escaped path.
func TestDPoPWithAP256KeyAndAnEscapedPath(t *testing.T) {
	ctx := context.Background()
	g := dpopGuard(t, nil)
	u, _ := g.Register(ctx, authframe.ClientInfo{}, "dpop-p256", "password123")
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p, err := dpop.NewProver(k)
	if err != nil {
		t.Fatal(err)
	}
	pair := boundPair(t, g, u, p)
	pr, err := p.Proof("GET", dpopPublicURL+"/api/notes/a%20b", dpop.WithAccessToken(pair.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/notes/a b", auth: "DPoP " + pair.AccessToken, proof: pr}); err != nil {
		t.Fatal(err)
	}
}

// countingReplay is a memory store that counts the replay writes.
type countingReplay struct {
	*memstore.Store
	writes atomic.Int32
}

func (c *countingReplay) Remember(ctx context.Context, key string, until time.Time) (bool, error) {
	c.writes.Add(1)
	return c.Store.Remember(ctx, key, until)
}

// The bar of the cached path: a bound token in the LRU is not verified again, and its
// request costs the proof's check and one replay write.
func TestDPoPCachedRequestCostsTheProofAndOneReplayWrite(t *testing.T) {
	ctx := context.Background()
	ms := &countingReplay{Store: memstore.New()}
	defer ms.Close()
	var mu sync.Mutex
	tiers := map[string]int{}
	g := dpopGuard(t, ms, authframe.WithObserver(audit.ObserverFunc(func(_ context.Context, e audit.Event) {
		if e.Type == audit.TokenValidated {
			mu.Lock()
			tiers[e.Tier]++
			mu.Unlock()
		}
	})))
	u, _ := g.Register(ctx, authframe.ClientInfo{}, "dpop-cost", "password123")
	p := newProver(t)
	pair := boundPair(t, g, u, p)
	const n = 5
	before := ms.writes.Load()
	for range n {
		if _, err := g.Authenticate(ctx, dpopReq{method: "GET", path: "/api/me", auth: "DPoP " + pair.AccessToken, proof: proof(t, p, "GET", "/api/me", dpop.WithAccessToken(pair.AccessToken))}); err != nil {
			t.Fatal(err)
		}
	}
	if w := ms.writes.Load() - before; w != n {
		t.Fatalf("%d replay writes for %d requests, want one each", w, n)
	}
	mu.Lock()
	defer mu.Unlock()
	if tiers["verify"] != 1 || tiers["lru"] != n-1 {
		t.Fatalf("token verifications by tier %v, want one full verification and %d cache hits", tiers, n-1)
	}
}
