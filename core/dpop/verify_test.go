package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authframe/authframe/core/internal/jwk"
	"github.com/authframe/authframe/core/memstore"
)

const publicURL = "https://api.example.com"

var testNow = time.Unix(1_700_000_000, 0)

type testKeys struct {
	ed    ed25519.PrivateKey
	ec256 *ecdsa.PrivateKey
	ec384 *ecdsa.PrivateKey
	rsa   *rsa.PrivateKey
}

var (
	keysOnce sync.Once
	keysVal  testKeys
)

func keys(t testing.TB) testKeys {
	keysOnce.Do(func() {
		_, keysVal.ed, _ = ed25519.GenerateKey(rand.Reader)
		keysVal.ec256, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		keysVal.ec384, _ = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		keysVal.rsa, _ = rsa.GenerateKey(rand.Reader, 2048)
	})
	return keysVal
}

func newTestVerifier(t testing.TB, opts ...Option) *Verifier {
	t.Helper()
	v, err := NewVerifier(publicURL, append([]Option{WithClock(func() time.Time { return testNow })}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func jwkOf(t testing.TB, pub crypto.PublicKey) map[string]any {
	t.Helper()
	p, err := jwk.FromKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{"kty": p.Kty}
	for k, v := range map[string]string{"crv": p.Crv, "n": p.N, "e": p.E, "x": p.X, "y": p.Y} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func ath(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return b64.EncodeToString(sum[:])
}

// craft signs a proof with golang-jwt, so that every header and claim can be set wrong.
func craft(t testing.TB, alg string, key any, header map[string]any, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
		} else {
			tok.Header[k] = v
		}
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func goodClaims() jwt.MapClaims {
	return jwt.MapClaims{"htm": "GET", "htu": publicURL + "/api/me", "iat": testNow.Unix(), "jti": "jti-1", "ath": ath("tok")}
}

var getMe = Request{Method: "GET", Path: "/api/me", AccessToken: "tok"}

func TestVerifyAcceptsEveryAllowedAlgorithm(t *testing.T) {
	k := keys(t)
	v := newTestVerifier(t)
	for _, tc := range []struct {
		alg string
		key crypto.Signer
	}{
		{"EdDSA", k.ed}, {"ES256", k.ec256}, {"ES384", k.ec384}, {"RS256", k.rsa}, {"PS256", k.rsa},
	} {
		t.Run(tc.alg, func(t *testing.T) {
			proof := craft(t, tc.alg, tc.key, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, tc.key.Public())}, goodClaims())
			p, err := v.Verify(proof, getMe)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := jwk.Thumbprint(tc.key.Public())
			if p.JKT != want || p.JTI != "jti-1" || !p.IssuedAt.Equal(testNow) {
				t.Fatalf("Verify = %+v, want jkt %s", p, want)
			}
		})
	}
}

func TestVerifyRefuses(t *testing.T) {
	k := keys(t)
	edJWK := jwkOf(t, k.ed.Public())
	hdr := func(edit map[string]any) map[string]any {
		h := map[string]any{"typ": "dpop+jwt", "jwk": edJWK}
		for kk, vv := range edit {
			h[kk] = vv
		}
		return h
	}
	claims := func(edit jwt.MapClaims) jwt.MapClaims {
		c := goodClaims()
		for kk, vv := range edit {
			if vv == nil {
				delete(c, kk)
			} else {
				c[kk] = vv
			}
		}
		return c
	}
	private := jwkOf(t, k.ed.Public())
	private["d"] = b64.EncodeToString(k.ed.Seed())
	hmacJWK := map[string]any{"kty": "oct", "k": b64.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))}
	good := craft(t, "EdDSA", k.ed, hdr(nil), goodClaims())
	parts := strings.Split(good, ".")
	none := b64.EncodeToString([]byte(`{"alg":"none","typ":"dpop+jwt"}`)) + "." + parts[1] + "."

	for _, tc := range []struct {
		name  string
		proof string
		req   Request
	}{
		{"no proof", "", getMe},
		{"a proof too large", good + strings.Repeat("A", DefaultMaxProofSize), getMe},
		{"two segments", parts[0] + "." + parts[1], getMe},
		{"alg none", none, getMe},
		{"HS256 with a symmetric jwk", craft(t, "HS256", []byte("0123456789abcdef0123456789abcdef"), hdr(map[string]any{"jwk": hmacJWK}), goodClaims()), getMe},
		{"a jwk with its private key", craft(t, "EdDSA", k.ed, hdr(map[string]any{"jwk": private}), goodClaims()), getMe},
		{"no jwk", craft(t, "EdDSA", k.ed, hdr(map[string]any{"jwk": nil}), goodClaims()), getMe},
		{"a jwk that is a string", craft(t, "EdDSA", k.ed, hdr(map[string]any{"jwk": "x"}), goodClaims()), getMe},
		{"a jwk of another key", craft(t, "EdDSA", k.ed, hdr(map[string]any{"jwk": jwkOf(t, ed25519.PublicKey(make([]byte, 32)))}), goodClaims()), getMe},
		{"a P-256 key under ES384", craft(t, "ES256", k.ec256, hdr(map[string]any{"alg": "ES384", "jwk": jwkOf(t, k.ec256.Public())}), goodClaims()), getMe},
		{"a jwk whose alg differs", craft(t, "EdDSA", k.ed, hdr(map[string]any{"jwk": func() map[string]any { m := jwkOf(t, k.ed.Public()); m["alg"] = "ES256"; return m }()}), goodClaims()), getMe},
		{"typ JWT", craft(t, "EdDSA", k.ed, hdr(map[string]any{"typ": "JWT"}), goodClaims()), getMe},
		{"no typ", craft(t, "EdDSA", k.ed, hdr(map[string]any{"typ": nil}), goodClaims()), getMe},
		{"a crit header", craft(t, "EdDSA", k.ed, hdr(map[string]any{"crit": []string{"exp"}}), goodClaims()), getMe},
		{"an altered payload", parts[0] + "." + b64.EncodeToString([]byte(`{"htm":"GET"}`)) + "." + parts[2], getMe},
		{"a padded signature", good + "==", getMe},
		{"another method", good, Request{Method: "POST", Path: "/api/me", AccessToken: "tok"}},
		{"a lower-case method", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htm": "get"})), getMe},
		{"another path", good, Request{Method: "GET", Path: "/api/admin", AccessToken: "tok"}},
		{"another host", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htu": "https://evil.example.com/api/me"})), getMe},
		{"plain http", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htu": "http://api.example.com/api/me"})), getMe},
		{"another port", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htu": "https://api.example.com:8443/api/me"})), getMe},
		{"an htu that is not a URL", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htu": "/api/me"})), getMe},
		{"an htu with user info", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htu": "https://a@api.example.com/api/me"})), getMe},
		{"no htu", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htu": nil})), getMe},
		{"no htm", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"htm": nil})), getMe},
		{"no jti", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"jti": nil})), getMe},
		{"a jti too long", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"jti": strings.Repeat("j", MaxJTILength+1)})), getMe},
		{"a jti that is a number", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"jti": 7})), getMe},
		{"no iat", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"iat": nil})), getMe},
		{"an iat 61 s old", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"iat": testNow.Unix() - 61})), getMe},
		{"an iat 6 s ahead", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"iat": testNow.Unix() + 6})), getMe},
		{"an iat that is a string", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"iat": "now"})), getMe},
		{"no ath with a token", craft(t, "EdDSA", k.ed, hdr(nil), claims(jwt.MapClaims{"ath": nil})), getMe},
		{"the ath of another token", good, Request{Method: "GET", Path: "/api/me", AccessToken: "other"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newTestVerifier(t).Verify(tc.proof, tc.req)
			if !errors.Is(err, ErrInvalidProof) {
				t.Fatalf("Verify = %+v, %v; want ErrInvalidProof", p, err)
			}
			if tc.proof != "" && len(tc.proof) > 20 && strings.Contains(err.Error(), tc.proof[:20]) {
				t.Fatalf("the error quotes the proof: %v", err)
			}
		})
	}
}

func TestVerifyComparesHTUAsRFC9449Says(t *testing.T) {
	k := keys(t)
	v := newTestVerifier(t)
	for _, htu := range []string{
		"https://api.example.com/api/me",
		"HTTPS://API.Example.COM/api/me",
		"https://api.example.com:443/api/me",
		"https://api.example.com/api/me?x=1",
		"https://api.example.com/api/me#frag",
		"https://api.example.com/api/./me",
		"https://api.example.com/api/x/../me",
		"https://api.example.com/%61pi/me",
	} {
		proof := craft(t, "EdDSA", k.ed, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, k.ed.Public())},
			jwt.MapClaims{"htm": "GET", "htu": htu, "iat": testNow.Unix(), "jti": "j"})
		if _, err := v.Verify(proof, Request{Method: "GET", Path: "/api/me"}); err != nil {
			t.Errorf("htu %q: %v", htu, err)
		}
	}
	// A public URL with a base path: the request path follows it.
	based, err := NewVerifier("https://example.com/svc/", WithClock(func() time.Time { return testNow }))
	if err != nil {
		t.Fatal(err)
	}
	proof := craft(t, "EdDSA", k.ed, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, k.ed.Public())},
		jwt.MapClaims{"htm": "GET", "htu": "https://example.com/svc/api/me", "iat": testNow.Unix(), "jti": "j"})
	if _, err := based.Verify(proof, Request{Method: "GET", Path: "/api/me"}); err != nil {
		t.Errorf("a base path: %v", err)
	}
}

func TestVerifyAcceptsTheEdgesOfTheWindow(t *testing.T) {
	k := keys(t)
	v := newTestVerifier(t)
	for _, iat := range []int64{testNow.Unix() - 60, testNow.Unix() + 5} {
		c := goodClaims()
		c["iat"] = iat
		proof := craft(t, "EdDSA", k.ed, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, k.ed.Public())}, c)
		if _, err := v.Verify(proof, getMe); err != nil {
			t.Errorf("iat %+d s: %v", iat-testNow.Unix(), err)
		}
	}
	c := goodClaims()
	delete(c, "ath")
	proof := craft(t, "EdDSA", k.ed, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, k.ed.Public())}, c)
	if _, err := v.Verify(proof, Request{Method: "GET", Path: "/api/me"}); err != nil {
		t.Errorf("a proof without ath at a token endpoint: %v", err)
	}
}

func TestVerifyRequiresTheServersNonceWhenAsked(t *testing.T) {
	k := keys(t)
	n, err := NewNonces([]byte(strings.Repeat("k", 32)), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	v := newTestVerifier(t, WithNonces(n))
	other, _ := NewNonces([]byte(strings.Repeat("o", 32)), time.Minute)
	for _, tc := range []struct {
		name  string
		nonce any
		ok    bool
	}{
		{"the current nonce", n.At(testNow), true},
		{"the previous slice's", n.At(testNow.Add(-time.Minute)), true},
		{"no nonce", nil, false},
		{"two slices old", n.At(testNow.Add(-2 * time.Minute)), false},
		{"the next slice's", n.At(testNow.Add(time.Minute)), false},
		{"another key's", other.At(testNow), false},
		{"garbage", "not-a-nonce", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := goodClaims()
			if tc.nonce != nil {
				c["nonce"] = tc.nonce
			}
			proof := craft(t, "EdDSA", k.ed, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, k.ed.Public())}, c)
			_, err := v.Verify(proof, getMe)
			if tc.ok != (err == nil) || (!tc.ok && !errors.Is(err, ErrUseNonce)) {
				t.Fatalf("Verify = %v; want ok %v or ErrUseNonce", err, tc.ok)
			}
		})
	}
}

func TestRememberRefusesAReplayedJTI(t *testing.T) {
	k := keys(t)
	st := memstore.New()
	defer st.Close()
	v, _ := NewVerifier(publicURL)
	c := goodClaims()
	c["iat"] = time.Now().Unix()
	proof := craft(t, "EdDSA", k.ed, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, k.ed.Public())}, c)
	p, err := v.Verify(proof, getMe)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Remember(t.Context(), st, p); err != nil {
		t.Fatalf("first Remember: %v", err)
	}
	p2, _ := v.Verify(proof, getMe)
	if err := v.Remember(t.Context(), st, p2); !errors.Is(err, ErrReplayed) || !errors.Is(err, ErrInvalidProof) {
		t.Fatalf("Remember of a replay = %v, want ErrReplayed (an ErrInvalidProof)", err)
	}
	// The same jti from another key is another proof.
	c2 := goodClaims()
	c2["iat"] = c["iat"]
	other := craft(t, "ES256", k.ec256, map[string]any{"typ": "dpop+jwt", "jwk": jwkOf(t, k.ec256.Public())}, c2)
	p3, _ := v.Verify(other, getMe)
	if err := v.Remember(t.Context(), st, p3); err != nil {
		t.Fatalf("Remember of another key's proof with the same jti: %v", err)
	}
}

func TestNewVerifierRefusesBadConfiguration(t *testing.T) {
	n, _ := NewNonces(make([]byte, 32), 0)
	for _, tc := range []struct {
		name string
		url  string
		opts []Option
	}{
		{"a relative URL", "/api", nil},
		{"a non-http URL", "ftp://example.com", nil},
		{"a URL with a query", "https://example.com/?x=1", nil},
		{"a URL with user info", "https://u:p@example.com", nil},
		{"HS256", publicURL, []Option{WithAlgorithms("HS256")}},
		{"none", publicURL, []Option{WithAlgorithms("none")}},
		{"no algorithm", publicURL, []Option{WithAlgorithms()}},
		{"a window of a day", publicURL, []Option{WithWindow(24*time.Hour, 0)}},
		{"a negative lead", publicURL, []Option{WithWindow(time.Minute, -time.Second)}},
		{"a tiny proof size", publicURL, []Option{WithMaxProofSize(10)}},
		{"nil nonces", publicURL, []Option{WithNonces(nil)}},
		{"a nil clock", publicURL, []Option{WithClock(nil)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewVerifier(tc.url, tc.opts...); err == nil {
				t.Fatal("NewVerifier accepted it")
			}
		})
	}
	if _, err := NewVerifier(publicURL, WithNonces(n), WithAlgorithms("ES256"), WithWindow(30*time.Second, 0), WithMaxProofSize(4096)); err != nil {
		t.Fatal(err)
	}
}

func TestNewNoncesRefusesBadConfiguration(t *testing.T) {
	if _, err := NewNonces(make([]byte, 31), 0); err == nil {
		t.Error("a 31-byte key was accepted")
	}
	if _, err := NewNonces(make([]byte, 32), time.Second); err == nil {
		t.Error("a 1 s slice was accepted")
	}
	n, _ := NewNonces(make([]byte, 32), 0)
	if got := n.Current(); !n.Valid(got) {
		t.Error("the current nonce is not valid")
	}
}

func TestNormalizeHTU(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.COM":             "https://example.com/",
		"https://example.com:443/a":       "https://example.com/a",
		"http://example.com:80/a":         "http://example.com/a",
		"http://example.com:8080/a":       "http://example.com:8080/a",
		"https://example.com/a/b/../c/./": "https://example.com/a/c/",
		"https://example.com/%7euser":     "https://example.com/~user",
		"https://example.com/a%2fb":       "https://example.com/a%2Fb",
		"https://[::1]:8443/x":            "https://[::1]:8443/x",
		"https://[::1]:443/x":             "https://[::1]/x",
		"https://example.com/a?q#f":       "https://example.com/a",
	} {
		if got, err := normalizeHTU(in); err != nil || got != want {
			t.Errorf("normalizeHTU(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "example.com/a", "mailto:a@b", "https://", "https://example.com:x/", "https://example.com/%zz", "https://example.com/%4", "https://u@example.com/"} {
		if got, err := normalizeHTU(bad); err == nil {
			t.Errorf("normalizeHTU(%q) = %q, want an error", bad, got)
		}
	}
}

func TestProofsOfTheProverVerify(t *testing.T) {
	k := keys(t)
	for name, key := range map[string]crypto.Signer{"Ed25519": k.ed, "P-256": k.ec256} {
		t.Run(name, func(t *testing.T) {
			p, err := NewProver(key)
			if err != nil {
				t.Fatal(err)
			}
			p.nowFunc = func() time.Time { return testNow }
			proof, err := p.Proof("GET", publicURL+"/api/me?page=2#x", WithAccessToken("tok"), WithNonce("n1"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := newTestVerifier(t).Verify(proof, getMe)
			if err != nil {
				t.Fatal(err)
			}
			if got.JKT != p.JKT() || got.Nonce != "n1" || len(got.JTI) < 16 {
				t.Fatalf("Verify = %+v, want jkt %s and nonce n1", got, p.JKT())
			}
			var claims map[string]any
			payload, _ := b64.DecodeString(strings.Split(proof, ".")[1])
			_ = json.Unmarshal(payload, &claims)
			if claims["htu"] != publicURL+"/api/me" {
				t.Fatalf("htu = %v, want the URL without query and fragment", claims["htu"])
			}
			again, _ := p.Proof("GET", publicURL+"/api/me")
			if again == proof {
				t.Fatal("two proofs are equal: the jti is not fresh")
			}
		})
	}
	if _, err := NewProver(k.ec384); err == nil {
		t.Error("NewProver accepted a P-384 key")
	}
	if _, err := NewProver(k.rsa); err == nil {
		t.Error("NewProver accepted an RSA key")
	}
	p, _ := NewProver(k.ed)
	for _, target := range []string{"", "/relative", "ftp://example.com/x"} {
		if _, err := p.Proof("GET", target); err == nil {
			t.Errorf("Proof(%q) was made", target)
		}
	}
}
