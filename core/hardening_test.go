package authframe_test

// Regression tests of the outside security review: each is named after what it defends.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/authtest"
	"github.com/authframe/authframe/core/endpoint"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// oidcProvider serves a discovery document and a JWKS for issuer-keyed signing keys.
type oidcProvider struct {
	srv  *httptest.Server
	jwks atomic.Value // []byte
	hang atomic.Bool
	hits atomic.Int32
}

func newOIDCProvider(t *testing.T) *oidcProvider {
	t.Helper()
	p := &oidcProvider{}
	p.jwks.Store([]byte(`{"keys":[]}`))
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		if p.hits.Add(1) > 1 && p.hang.Load() {
			select {
			case <-r.Context().Done():
			case <-time.After(15 * time.Second):
			}
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(p.jwks.Load().([]byte))
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

// publish sets the provider's JWKS to the public keys of guards made with these keys.
func (p *oidcProvider) publish(t *testing.T, keys ...*ecdsa.PrivateKey) []string {
	t.Helper()
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	var kids []string
	for _, k := range keys {
		g := newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, k)}))
		var one struct {
			Keys []json.RawMessage `json:"keys"`
		}
		json.Unmarshal(g.JWKS(), &one)
		set.Keys = append(set.Keys, one.Keys...)
		var k struct {
			Kid string `json:"kid"`
		}
		json.Unmarshal(one.Keys[0], &k)
		kids = append(kids, k.Kid)
	}
	b, _ := json.Marshal(set)
	p.jwks.Store(b)
	return kids
}

func TestRemoteIssuerWithoutAudienceIsRefused(t *testing.T) {
	p := newOIDCProvider(t)
	if g, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL})); err == nil {
		g.Close()
		t.Fatal("New accepted a remote issuer with no audience: any token the provider signs would pass")
	} else if !strings.Contains(err.Error(), "audience") {
		t.Fatalf("error %q does not say what is missing", err)
	}
	g, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{"my-api"}}))
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
}

func TestLocalKeysWithoutIssuerOrAudienceAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []authframe.Option
		want string
	}{
		{"no issuer", []authframe.Option{authframe.WithAudience(testAud)}, "WithIssuer"},
		{"no audience", []authframe.Option{authframe.WithIssuer(testIss)}, "WithAudience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := authframe.New(append(tc.opts, authframe.WithHMACSecret(hmacSecret))...)
			if err == nil {
				g.Close()
				t.Fatal("New accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %s", err, tc.want)
			}
		})
	}
	g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithTokens(authframe.TokenConfig{InsecureAnyIssuer: true}), authframe.WithTokens(authframe.TokenConfig{InsecureAnyAudience: true}))
	if err != nil {
		t.Fatalf("the named opt-outs: %v", err)
	}
	defer g.Close()
	tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["iss"], c["aud"] = "anyone", "anything" }), nil)
	if _, err := g.VerifyToken(context.Background(), tok); err != nil {
		t.Fatalf("with both checks off: %v", err)
	}
}

func TestTokensOfOtherTypesAreNotAccessTokens(t *testing.T) {
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret))
	ctx := context.Background()
	for _, typ := range []any{"JWT", "id_token+jwt", "application/jwt", nil} {
		hdr := map[string]any{"typ": typ}
		tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), hdr)
		if typ == nil {
			tok = signNoTyp(t, hmacSecret, claims(nil))
		}
		if _, err := g.VerifyToken(ctx, tok); err == nil {
			t.Errorf("a token with typ %v passed as an access token", typ)
		}
	}
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt"} {
		if _, err := g.VerifyToken(ctx, sign(t, jwt.SigningMethodHS256, hmacSecret, claims(nil), map[string]any{"typ": typ})); err != nil {
			t.Errorf("typ %q: %v", typ, err)
		}
	}
	// A Guard's own tokens carry at+jwt.
	issuer := newIssuer(t)
	_, pair := registerAndLogin(t, issuer, "typed-user")
	if _, err := issuer.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatalf("own token: %v", err)
	}
}

func signNoTyp(t *testing.T, key []byte, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	delete(tok.Header, "typ")
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRemoteIssuersHaveTheirOwnTypes(t *testing.T) {
	p := newOIDCProvider(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid := p.publish(t, k)[0]
	remoteClaims := claims(func(c jwt.MapClaims) { c["iss"] = p.srv.URL })
	strict, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{testAud}, Types: []string{"at+jwt"}}))
	if err != nil {
		t.Fatal(err)
	}
	defer strict.Close()
	lenient, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{testAud}}))
	if err != nil {
		t.Fatal(err)
	}
	defer lenient.Close()
	ctx := context.Background()
	jwtTyped := sign(t, jwt.SigningMethodES256, k, remoteClaims, map[string]any{"kid": kid, "typ": "JWT"})
	if _, err := strict.VerifyToken(ctx, jwtTyped); err == nil {
		t.Error("a source that accepts only at+jwt accepted typ JWT")
	}
	if _, err := lenient.VerifyToken(ctx, jwtTyped); err != nil {
		t.Errorf("the default remote types refuse typ JWT: %v", err)
	}
	logout := sign(t, jwt.SigningMethodES256, k, remoteClaims, map[string]any{"kid": kid, "typ": "logout+jwt"})
	if _, err := lenient.VerifyToken(ctx, logout); err == nil {
		t.Error("a logout token passed as an access token")
	}
}

// storeHook runs a function inside GetSession, after the store has answered: the window
// between a miss's session check and its cache write.
type storeHook struct {
	store.Store
	mu     sync.Mutex
	inside func()
}

func (s *storeHook) GetSession(ctx context.Context, id string) (store.Session, bool, error) {
	sess, ok, err := s.Store.GetSession(ctx, id)
	s.mu.Lock()
	f := s.inside
	s.inside = nil
	s.mu.Unlock()
	if f != nil {
		f()
	}
	return sess, ok, err
}

func TestLogoutDuringACacheMissIsNotForgotten(t *testing.T) {
	hook := &storeHook{Store: memstore.New()}
	g := newIssuer(t, authframe.WithStore(hook))
	ctx := context.Background()
	_, pair := registerAndLogin(t, g, "racer")
	// The first verification confirms the session; before it caches the answer, the
	// session is logged out.
	hook.mu.Lock()
	hook.inside = func() {
		p := &authframe.Principal{UserID: "x", SessionID: pair.SessionID, Local: true, Method: authframe.MethodBearer}
		if err := g.Logout(ctx, p); err != nil {
			t.Errorf("logout: %v", err)
		}
	}
	hook.mu.Unlock()
	g.VerifyToken(ctx, pair.AccessToken)
	if p, err := g.VerifyToken(ctx, pair.AccessToken); err == nil {
		t.Fatalf("a token logged out while its first verification ran is accepted from the cache as %s", p.UserID)
	}
}

func TestNonCanonicalBase64IsRefused(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	g := newVerifier(t, authframe.WithKey(authframe.Key{PEM: pemOf(t, ed)}))
	tok := sign(t, jwt.SigningMethodEdDSA, ed, claims(nil), nil)
	ctx := context.Background()
	if _, err := g.VerifyToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	// A 64-byte signature is 86 characters: the last one carries 2 bits and 4 unused ones.
	// Setting unused bits spells the same signature another way.
	dot := strings.LastIndexByte(tok, '.')
	sig := tok[dot+1:]
	last := strings.IndexByte(alphabet, sig[len(sig)-1])
	for bits := 1; bits < 16; bits++ {
		alt := tok[:dot+1] + sig[:len(sig)-1] + string(alphabet[last|bits])
		if alt == tok {
			continue
		}
		raw, err := base64.RawURLEncoding.DecodeString(alt[dot+1:])
		if err != nil || string(raw) != mustDecode(t, sig) {
			continue
		}
		if _, err := g.VerifyToken(ctx, alt); err == nil {
			t.Fatalf("a second spelling of the same token verified: %q", alt[dot+1:])
		}
	}
}

const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

func mustDecode(t *testing.T, s string) string {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRemoteSubjectsCannotReachLocalSessions(t *testing.T) {
	p := newOIDCProvider(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid := p.publish(t, k)[0]
	g := newIssuer(t, authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{testAud}}))
	ctx := context.Background()
	u, pair := registerAndLogin(t, g, "victim")
	// A remote token whose subject (and sid) are the victim's.
	tok := sign(t, jwt.SigningMethodES256, k, claims(func(c jwt.MapClaims) {
		c["iss"], c["sub"], c["sid"] = p.srv.URL, u.ID, pair.SessionID
	}), map[string]any{"kid": kid})
	remote, err := g.VerifyToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if remote.Local || remote.SessionID != "" || remote.Issuer != p.srv.URL {
		t.Fatalf("remote principal %+v", remote)
	}
	if ss, err := g.ListSessions(ctx, remote); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a remote subject listed the local user's sessions: %v, %v", ss, err)
	}
	if err := g.RevokeSession(ctx, remote, pair.SessionID); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a remote subject revoked the local user's session: %v", err)
	}
	if err := g.Logout(ctx, remote); err != nil {
		t.Fatalf("logout of the remote token: %v", err)
	}
	if _, err := g.VerifyToken(ctx, pair.AccessToken); err != nil {
		t.Fatalf("the remote logout ended the local user's session: %v", err)
	}
	// A local revocation of the user does not reach the remote subject of the same id.
	tok2 := sign(t, jwt.SigningMethodES256, k, claims(func(c jwt.MapClaims) { c["iss"], c["sub"], c["jti"] = p.srv.URL, u.ID, "other" }), map[string]any{"kid": kid})
	if err := g.RevokeUser(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, tok2); err != nil {
		t.Fatalf("revoking the local user refused a remote subject: %v", err)
	}
}

func TestKeysAreBoundToTheirIssuers(t *testing.T) {
	a, b := newOIDCProvider(t), newOIDCProvider(t)
	ka, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kb, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kidA := a.publish(t, ka)[0]
	b.publish(t, kb)
	g := newIssuer(t, authframe.WithRemote(authframe.RemoteIssuer{Issuer: a.srv.URL, Audience: []string{testAud}}), authframe.WithRemote(authframe.RemoteIssuer{Issuer: b.srv.URL, Audience: []string{testAud}}))
	ctx := context.Background()
	ok := sign(t, jwt.SigningMethodES256, ka, claims(func(c jwt.MapClaims) { c["iss"] = a.srv.URL }), map[string]any{"kid": kidA})
	if _, err := g.VerifyToken(ctx, ok); err != nil {
		t.Fatalf("A's token: %v", err)
	}
	forB := sign(t, jwt.SigningMethodES256, ka, claims(func(c jwt.MapClaims) { c["iss"] = b.srv.URL }), map[string]any{"kid": kidA})
	if _, err := g.VerifyToken(ctx, forB); err == nil {
		t.Fatal("issuer A's key verified a token claiming issuer B")
	}
	asLocal := sign(t, jwt.SigningMethodES256, ka, claims(nil), map[string]any{"kid": kidA})
	if _, err := g.VerifyToken(ctx, asLocal); err == nil {
		t.Fatal("a remote key verified a token of the local issuer")
	}
	if _, err := authframe.New(authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithHMACSecret(hmacSecret), authframe.WithRemote(authframe.RemoteIssuer{Issuer: testIss, JWKSURL: a.srv.URL + "/jwks"})); err == nil {
		t.Fatal("a remote key source was accepted for the local issuer")
	}
}

func TestTokensOutlivingTheRevocationHorizonAreRefused(t *testing.T) {
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret))
	long := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(72 * time.Hour).Unix() }), nil)
	if _, err := g.VerifyToken(context.Background(), long); err == nil {
		t.Fatal("a token valid for three days passed, though a revocation of its user is forgotten after one")
	}
}

func TestUnknownKidRefreshIsBoundedByTheRequest(t *testing.T) {
	p := newOIDCProvider(t)
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	p.publish(t, k1)
	g := newIssuer(t, authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{testAud}}))
	p.hang.Store(true)
	unknown := sign(t, jwt.SigningMethodES256, k2, claims(func(c jwt.MapClaims) { c["iss"] = p.srv.URL }), map[string]any{"kid": "not-published"})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := g.VerifyToken(ctx, unknown); err == nil {
		t.Fatal("an unknown kid verified")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("an unknown kid held the request %v past its 300 ms deadline", d)
	}
}

func TestRemoteKeysNotForSignaturesAreNotTried(t *testing.T) {
	p := newOIDCProvider(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid := p.publish(t, k)[0]
	p.jwks.Store([]byte(strings.Replace(string(p.jwks.Load().([]byte)), `"use":"sig"`, `"use":"enc"`, 1)))
	g := newIssuer(t, authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{testAud}}))
	tok := sign(t, jwt.SigningMethodES256, k, claims(func(c jwt.MapClaims) { c["iss"] = p.srv.URL }), map[string]any{"kid": kid})
	if _, err := g.VerifyToken(context.Background(), tok); err == nil {
		t.Fatal(`a key published with "use":"enc" verified a token`)
	}
}

func TestPasswordHashingBelowTheFloorIsRefused(t *testing.T) {
	weak := authframe.PasswordConfig{Memory: 8, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	if g, err := authframe.New(authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithHMACSecret(hmacSecret), authframe.WithPasswords(weak)); err == nil {
		g.Close()
		t.Fatal("WithPasswords accepted m=8 KiB")
	}
}

func TestRehashNeverDowngrades(t *testing.T) {
	ms := memstore.New()
	strong := authframe.PasswordConfig{Memory: 2048, Iterations: 3, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}
	g1 := newIssuer(t, authframe.WithStore(ms), authframe.WithPasswords(strong))
	ctx := context.Background()
	u, err := g1.Register(ctx, authframe.ClientInfo{}, "strong-user", "password123")
	if err != nil {
		t.Fatal(err)
	}
	g2 := newIssuer(t, authframe.WithStore(ms)) // weaker parameters
	if _, err := g2.VerifyPassword(ctx, client, "strong-user", "password123"); err != nil {
		t.Fatal(err)
	}
	after, _, _ := ms.GetUser(ctx, u.ID)
	if after.PasswordHash != u.PasswordHash {
		t.Fatalf("a login under weaker parameters rehashed %q to %q", u.PasswordHash, after.PasswordHash)
	}
}

func TestPerAccountBackoffAcrossAddresses(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	g := newIssuer(t, authframe.WithClock(clock), authframe.WithStore(memstore.New(memstore.WithClock(clock))),
		authframe.WithRateLimits(authframe.RateLimits{Account: 5, MaxBackoff: 8 * time.Second, Address: -1}))
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "target", "password123"); err != nil {
		t.Fatal(err)
	}
	ip := func(i int) authframe.ClientInfo {
		return authframe.ClientInfo{IP: "198.51.100." + string(rune('0'+i%10)) + string(rune('0'+i/10))}
	}
	// An attacker spreads guesses over many addresses: the per-address limit never trips.
	limited := 0
	for i := 0; i < 40; i++ {
		_, err := g.VerifyPassword(ctx, ip(i), "target", "wrong-password")
		var e *authframe.Error
		if errors.As(err, &e) && e.Code == authframe.ErrRateLimited {
			limited++
			if e.RetryAfter <= 0 || e.RetryAfter > 8*time.Second {
				t.Fatalf("Retry-After %v outside (0, MaxBackoff]", e.RetryAfter)
			}
		}
	}
	if limited < 30 {
		t.Fatalf("only %d of 40 guesses from 40 addresses were held back", limited)
	}
	// The real user is never locked out for longer than MaxBackoff.
	advance(8 * time.Second)
	if _, err := g.VerifyPassword(ctx, authframe.ClientInfo{IP: "203.0.113.5"}, "target", "password123"); err != nil {
		t.Fatalf("the real user, MaxBackoff after the attack: %v", err)
	}
}

func TestPerAddressBudgetGroupsIPv6Slash64(t *testing.T) {
	g := newIssuer(t, authframe.WithRateLimits(authframe.RateLimits{Address: 3, Account: -1}))
	ctx := context.Background()
	var last error
	for i := 0; i < 4; i++ {
		c := authframe.ClientInfo{IP: "2001:db8:1:2::" + string(rune('a'+i))}
		_, last = g.VerifyPassword(ctx, c, "user"+string(rune('a'+i)), "wrong-password")
	}
	if !errors.Is(last, authframe.ErrRateLimited) {
		t.Fatalf("the 4th guess from one /64 (four addresses, four usernames): %v, want rate limited", last)
	}
	if _, err := g.VerifyPassword(ctx, authframe.ClientInfo{IP: "2001:db8:1:3::1"}, "usere", "wrong-password"); errors.Is(err, authframe.ErrRateLimited) {
		t.Fatal("another /64 was limited too")
	}
}

func TestRegistrationIsRateLimited(t *testing.T) {
	g := newIssuer(t, authframe.WithRateLimits(authframe.RateLimits{Register: 2}))
	ctx := context.Background()
	c := authframe.ClientInfo{IP: "192.0.2.77"}
	for i := 0; i < 2; i++ {
		if _, err := g.Register(ctx, c, "reg-"+string(rune('a'+i)), "password123"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := g.Register(ctx, c, "reg-c", "password123"); !errors.Is(err, authframe.ErrRateLimited) {
		t.Fatalf("third registration from one address: %v", err)
	}
}

func TestQuietRegistrationDoesNotRevealTakenNames(t *testing.T) {
	g := newIssuer(t, authframe.WithQuietRegistration())
	ctx := context.Background()
	first, err := g.Register(ctx, authframe.ClientInfo{}, "taken", "password123")
	if err != nil {
		t.Fatal(err)
	}
	again, err := g.Register(ctx, authframe.ClientInfo{}, "taken", "different-password")
	if err != nil || again.ID == "" || again.ID == first.ID {
		t.Fatalf("quiet registration of a taken name = %+v, %v", again, err)
	}
	if _, err := g.VerifyPassword(ctx, client, "taken", "different-password"); err == nil {
		t.Fatal("the second registration's password logs in")
	}
}

func TestCancelledLoginFreesItsHashSlot(t *testing.T) {
	g := newIssuer(t, authframe.WithPasswords(authframe.PasswordConfig{MaxConcurrentHashes: 1}), authframe.WithPasswords(authframe.PasswordConfig{Memory: 64 * 1024, Iterations: 3, Parallelism: 1, SaltLength: 16, KeyLength: 32, InsecureWeakHashing: true}))
	ctx := context.Background()
	if _, err := g.Register(ctx, authframe.ClientInfo{}, "slotted", "password123"); err != nil {
		t.Fatal(err)
	}
	// One login holds the only slot; a cancelled one behind it gives up at once.
	done := make(chan struct{})
	go func() {
		defer close(done)
		g.VerifyPassword(ctx, authframe.ClientInfo{IP: "192.0.2.1"}, "slotted", "password123")
	}()
	time.Sleep(5 * time.Millisecond)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	start := time.Now()
	_, err := g.VerifyPassword(cctx, authframe.ClientInfo{IP: "192.0.2.2"}, "slotted", "password123")
	if !errors.Is(err, authframe.ErrUnavailable) {
		t.Fatalf("a cancelled login = %v, want unavailable", err)
	}
	if d := time.Since(start); d > 50*time.Millisecond {
		t.Logf("cancelled login took %v", d)
	}
	<-done
}

func TestCookieBorneTokensNeedTheirOwnOrigin(t *testing.T) {
	g := newIssuer(t, authframe.WithTokens(authframe.TokenConfig{Cookie: "access"}), authframe.WithPublicURL("https://app.example"))
	_, pair := registerAndLogin(t, g, "cookie-user")
	ctx := context.Background()
	req := func(method string, headers map[string]string) fakeReq {
		return fakeReq{method: method, cookies: map[string]string{"access": pair.AccessToken}, headers: headers}
	}
	for _, tc := range []struct {
		name    string
		r       fakeReq
		refused bool
	}{
		{"a cross-site POST", req("POST", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}), true},
		{"a POST from another origin", req("POST", map[string]string{"Origin": "https://evil.example"}), true},
		{"a POST from a sibling subdomain", req("POST", map[string]string{"Sec-Fetch-Site": "same-site", "Origin": "https://x.app.example"}), true},
		{"a null origin", req("POST", map[string]string{"Origin": "null"}), true},
		{"a same-origin POST", req("POST", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": "https://app.example"}), false},
		{"a same-origin POST with the default port", req("POST", map[string]string{"Origin": "https://APP.example:443"}), false},
		{"a cross-site GET", req("GET", map[string]string{"Sec-Fetch-Site": "cross-site"}), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Authenticate(ctx, tc.r)
			if tc.refused != errors.Is(err, authframe.ErrCSRF) {
				t.Fatalf("err = %v, refused want %v", err, tc.refused)
			}
		})
	}
	// The Authorization header is never subject to it: the browser does not add it.
	r := fakeReq{method: "POST", headers: map[string]string{"Authorization": "Bearer " + pair.AccessToken, "Sec-Fetch-Site": "cross-site"}}
	if _, err := g.Authenticate(ctx, r); err != nil {
		t.Fatalf("a header token: %v", err)
	}
}

func TestLoginCSRFIsRefused(t *testing.T) {
	g := newIssuer(t, authframe.WithPublicURL("http://127.0.0.1:8080"))
	for _, tc := range []struct {
		name    string
		headers map[string]string
		refused bool
	}{
		{"cross-site form post", map[string]string{"Sec-Fetch-Site": "cross-site"}, true},
		{"foreign origin", map[string]string{"Origin": "http://evil.example"}, true},
		{"other port", map[string]string{"Origin": "http://127.0.0.1:9090"}, true},
		{"own origin", map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, false},
		{"no browser headers (curl)", nil, false},
		{"same-site", map[string]string{"Sec-Fetch-Site": "same-site"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := g.CheckLoginOrigin(fakeReq{method: "POST", headers: tc.headers})
			if tc.refused != errors.Is(err, authframe.ErrCSRF) {
				t.Fatalf("err = %v, refused want %v", err, tc.refused)
			}
		})
	}
}

func TestRefreshIsRateLimitedPerSession(t *testing.T) {
	g := newIssuer(t, authframe.WithRateLimits(authframe.RateLimits{Refresh: 3}))
	_, pair := registerAndLogin(t, g, "looper")
	ctx := context.Background()
	rt := pair.RefreshToken
	for i := 0; i < 3; i++ {
		p, err := g.Refresh(ctx, rt, client)
		if err != nil {
			t.Fatal(err)
		}
		rt = p.RefreshToken
	}
	if _, err := g.Refresh(ctx, rt, client); !errors.Is(err, authframe.ErrRateLimited) {
		t.Fatalf("4th refresh in a window: %v, want rate limited", err)
	}
}

func TestDependencyErrorsInLogsAreScrubbed(t *testing.T) {
	var buf strings.Builder
	var mu sync.Mutex
	logger := newTextLogger(&buf, &mu)
	ms := memstore.New()
	defer ms.Close()
	bad := authtest.NewFailingStore(ms)
	bad.Fail(errors.New(`dial redis://app:hunter2-secret@10.0.0.1:6379: refused`), authtest.OpRevocationsSince)
	g := newIssuer(t, authframe.WithStore(bad), authframe.WithLogger(logger))
	_ = g
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if !strings.Contains(out, "revocations") {
		t.Fatalf("no log line about the failed load: %q", out)
	}
	if strings.Contains(out, "hunter2-secret") {
		t.Fatalf("a credential reached the log: %q", out)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func newTextLogger(w *strings.Builder, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu: mu, w: w}, nil))
}

func TestRemotePermissionClaimsAreMappedPerIssuer(t *testing.T) {
	p := newOIDCProvider(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	kid := p.publish(t, k)[0]
	ctx := context.Background()
	tok := sign(t, jwt.SigningMethodES256, k, claims(func(c jwt.MapClaims) {
		c["iss"] = p.srv.URL
		c["scope"] = "read:reports write:reports"
		c["scp"] = []string{"read:notes"}
		c["permissions"] = []string{"delete:users"}
		delete(c, "roles")
	}), map[string]any{"kid": kid})
	for _, tc := range []struct {
		name   string
		claims []string
		want   []string
	}{
		{"all three by default", nil, []string{"read:reports", "write:reports", "read:notes", "delete:users"}},
		{"only scp (Okta)", []string{"scp"}, []string{"read:notes"}},
		{"only permissions (Auth0)", []string{"permissions"}, []string{"delete:users"}},
		{"none", []string{"-"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{testAud}, PermissionClaims: tc.claims}))
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			pr, err := g.VerifyToken(ctx, tok)
			if err != nil {
				t.Fatal(err)
			}
			if !slicesEqualSet(pr.Permissions, tc.want) {
				t.Fatalf("permissions %v, want %v", pr.Permissions, tc.want)
			}
			for _, perm := range tc.want {
				if !pr.Can(perm) {
					t.Fatalf("Can(%q) is false", perm)
				}
			}
		})
	}
	if _, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: p.srv.URL, Audience: []string{testAud}, PermissionClaims: []string{"groups"}})); err == nil {
		t.Fatal("an unknown permission claim was accepted")
	}
}

func slicesEqualSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	seen := map[string]bool{}
	for _, x := range a {
		seen[x] = true
	}
	for _, x := range b {
		if !seen[x] {
			return false
		}
	}
	return true
}

func TestAnExpiredTokenIsErrTokenExpired(t *testing.T) {
	g := newVerifier(t, authframe.WithHMACSecret(hmacSecret), authframe.WithTokens(authframe.TokenConfig{Leeway: -1}))
	tok := sign(t, jwt.SigningMethodHS256, hmacSecret, claims(func(c jwt.MapClaims) {
		c["exp"], c["iat"], c["nbf"] = time.Now().Add(-time.Minute).Unix(), time.Now().Add(-time.Hour).Unix(), time.Now().Add(-time.Hour).Unix()
	}), nil)
	_, err := g.VerifyToken(context.Background(), tok)
	if !errors.Is(err, authframe.ErrTokenExpired) || !errors.Is(err, authframe.ErrInvalidToken) {
		t.Fatalf("an expired token = %v, want ErrTokenExpired (and ErrInvalidToken)", err)
	}
	if r := endpoint.RenderError(err, ""); r.Status != 401 || !strings.Contains(string(r.Body), `"code":"invalid_token"`) {
		t.Fatalf("rendered %d %s", r.Status, r.Body)
	}
}
