package authframe_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/golang-jwt/jwt/v5"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/endpoint"
)

// Inputs name the genuine values of a fuzz run with placeholders, so that a corpus entry
// keeps its meaning across runs although tokens, sessions and CSRF tokens are fresh each
// time.
func expand(s string, genuine map[string]string) string {
	if !strings.Contains(s, "{") {
		return s
	}
	for k, v := range genuine {
		s = strings.ReplaceAll(s, k, v)
	}
	return s
}

// sameOriginFetch is what Sec-Fetch-Site must say for an unsafe request that a cookie
// authenticates, when no public URL is configured.
func sameOriginFetch(v string) bool {
	return v == "" || strings.EqualFold(v, "same-origin") || strings.EqualFold(v, "none")
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// FuzzAuthenticate feeds arbitrary Authorization headers, token cookies, session cookies,
// methods and Sec-Fetch-Site values through extraction and verification, and the header
// itself to VerifyToken: nothing may panic, nothing but a genuine token may pass, and a
// genuine token in a cookie passes an unsafe request only from the app's own origin.
func FuzzAuthenticate(f *testing.F) {
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	g, err := authframe.New(
		authframe.WithHMACSecret(hmacSecret), authframe.WithKey(authframe.Key{PEM: pemOf(f, edKey), State: "retiring"}),
		authframe.WithIssuer(testIss), authframe.WithAudience(testAud),
		authframe.WithTokens(authframe.TokenConfig{Cookie: "__Host-token"}), authframe.WithPasswords(fastArgon),
	)
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	genuine := map[string]string{
		"{hs}": sign(f, jwt.SigningMethodHS256, hmacSecret, claims(nil), nil),
		"{ed}": sign(f, jwt.SigningMethodEdDSA, edKey, claims(nil), nil),
	}
	isGenuine := func(tok string) bool { return tok == genuine["{hs}"] || tok == genuine["{ed}"] }
	hs := genuine["{hs}"]
	f.Add("Bearer "+hs, "", "", "POST", "")
	f.Add("Bearer {hs}", "", "", "GET", "")
	f.Add("bEARER  {ed} ", "", "", "DELETE", "cross-site")
	f.Add("bearer "+hs+"x", "", "", "POST", "")
	f.Add("Bearer "+hs[:len(hs)-1], "", "", "POST", "")
	f.Add("Bearer a.b.c", "", "", "GET", "")
	f.Add("Bearer ....", "", "", "GET", "")
	f.Add("Bearer", "{hs}", "", "GET", "")
	f.Add("Basic Zm9vOmJhcg==", "{hs}", "", "POST", "same-site")
	f.Add("", "{ed}", "", "PUT", "same-origin")
	f.Add("", "{hs}", "", "POST", "cross-site")
	f.Add("", "", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "POST", "")
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "", "", "GET", "")
	f.Add("Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9.e30.", "", "", "GET", "")
	f.Fuzz(func(t *testing.T, authz, tokCookie, session, method, fetchSite string) {
		authz, tokCookie = expand(authz, genuine), expand(tokCookie, genuine)
		ctx := context.Background()
		if p, err := g.VerifyToken(ctx, authz); err == nil && (!isGenuine(authz) || p.UserID != "user-1") {
			t.Fatalf("VerifyToken accepted %q as %+v", authz, p)
		}
		req := fakeReq{
			method:  method,
			headers: map[string]string{"Authorization": authz, "Sec-Fetch-Site": fetchSite},
			cookies: map[string]string{"__Host-token": tokCookie, "__Host-session": session},
		}
		p, err := g.Authenticate(ctx, req)
		if err != nil {
			return
		}
		if p.UserID != "user-1" || p.Method != authframe.MethodBearer {
			t.Fatalf("accepted %q / %q / %q as %+v", authz, tokCookie, session, p)
		}
		// RFC 6750: an Authorization header with the Bearer scheme is the only credential
		// looked at; otherwise the token cookie is.
		switch {
		case len(authz) >= 7 && strings.EqualFold(authz[:7], "bearer "):
			if !isGenuine(strings.TrimSpace(authz[7:])) {
				t.Fatalf("accepted the header %q", authz)
			}
		case strings.EqualFold(strings.TrimSpace(authz), "bearer"):
			t.Fatalf("accepted an empty bearer header %q", authz)
		case isGenuine(tokCookie):
			if !safeMethod(req.Method()) && !sameOriginFetch(fetchSite) {
				t.Fatalf("a cookie-borne token passed a %s with Sec-Fetch-Site %q", req.Method(), fetchSite)
			}
		default:
			t.Fatalf("accepted %q / %q / %q without a genuine token", authz, tokCookie, session)
		}
	})
}

// FuzzSessionCookie feeds session cookie values, methods and CSRF headers to Authenticate:
// only a cookie the Guard issued passes, and an unsafe request only with that session's own
// CSRF token.
func FuzzSessionCookie(f *testing.F) {
	g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithPasswords(fastArgon))
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	ctx := context.Background()
	a, err := g.StartSession(ctx, authframe.User{ID: "user-a", Username: "alice"}, client)
	if err != nil {
		f.Fatal(err)
	}
	b, err := g.StartSession(ctx, authframe.User{ID: "user-b", Username: "bob"}, client)
	if err != nil {
		f.Fatal(err)
	}
	genuine := map[string]string{
		"{a}": a.Cookie.Value, "{a-csrf}": a.CSRFToken,
		"{b}": b.Cookie.Value, "{b-csrf}": b.CSRFToken,
	}
	f.Add(a.Cookie.Value, "GET", "")
	f.Add(a.Cookie.Value, "POST", a.CSRFToken)
	f.Add("{a}", "POST", "{a-csrf}")
	f.Add("{a}", "POST", "{b-csrf}")
	f.Add("{b}", "DELETE", "{a-csrf}")
	f.Add("{a}", "post", "")
	f.Add("{a}=", "GET", "")
	f.Add(" {a}", "GET", "")
	f.Add("{a}", "PATCH", " {a-csrf}")
	f.Add(a.Cookie.Value[:42]+"A", "HEAD", "")
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "OPTIONS", "")
	f.Fuzz(func(t *testing.T, cookie, method, csrf string) {
		cookie, csrf = expand(cookie, genuine), expand(csrf, genuine)
		req := fakeReq{method: method, headers: map[string]string{endpoint.CSRFHeader: csrf}, cookies: map[string]string{"__Host-session": cookie}}
		p, err := g.Authenticate(ctx, req)
		if err != nil {
			return
		}
		var want *authframe.SessionGrant
		switch cookie {
		case a.Cookie.Value:
			want = a
		case b.Cookie.Value:
			want = b
		default:
			t.Fatalf("accepted the cookie %q as %+v", cookie, p)
		}
		if p.Method != authframe.MethodSession || p.SessionID != want.Session.ID || p.UserID != want.Session.UserID {
			t.Fatalf("cookie %q authenticated as %+v, want session %s", cookie, p, want.Session.ID)
		}
		if !safeMethod(req.Method()) && csrf != want.CSRFToken {
			t.Fatalf("a %s passed with the CSRF header %q", req.Method(), csrf)
		}
	})
}

// FuzzKeyPEM feeds arbitrary bytes to WithKeyPEM: New never panics, and a key it accepts
// is published as a JWKS that a consumer can load, with its RFC 7638 thumbprint as kid.
func FuzzKeyPEM(f *testing.F) {
	for _, seed := range pemSeeds(f) {
		f.Add(seed)
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"))
	f.Add([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"))
	f.Add([]byte("not a key"))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := authframe.New(authframe.WithKey(authframe.Key{PEM: data}), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithPasswords(fastArgon), authframe.WithCache(authframe.CacheConfig{Disabled: true}))
		if err != nil {
			return
		}
		defer g.Close()
		raw := g.JWKS()
		if !json.Valid(raw) {
			t.Fatalf("JWKS is not JSON: %q", raw)
		}
		var set jwkset.JWKSMarshal
		if err := json.Unmarshal(raw, &set); err != nil {
			t.Fatal(err)
		}
		if len(set.Keys) != 1 {
			t.Fatalf("one key published as %s", raw)
		}
		m := set.Keys[0]
		if _, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{}); err != nil {
			t.Fatalf("published key %s does not load: %v", raw, err)
		}
		if m.USE != jwkset.UseSig || m.D != "" || m.P != "" || m.K != "" {
			t.Fatalf("published key %s", raw)
		}
		if kid := thumbprint(t, m); m.KID != kid {
			t.Fatalf("kid %q, want the thumbprint %q", m.KID, kid)
		}
	})
}

// thumbprint computes RFC 7638 from the JWK's members: encoding/json sorts map keys, which
// gives the lexicographic order the RFC asks for.
func thumbprint(t *testing.T, m jwkset.JWKMarshal) string {
	t.Helper()
	var members map[string]string
	switch m.KTY {
	case jwkset.KtyRSA:
		members = map[string]string{"kty": "RSA", "n": m.N, "e": m.E}
	case jwkset.KtyEC:
		members = map[string]string{"kty": "EC", "crv": string(m.CRV), "x": m.X, "y": m.Y}
	case jwkset.KtyOKP:
		members = map[string]string{"kty": "OKP", "crv": string(m.CRV), "x": m.X}
	default:
		t.Fatalf("published key type %q", m.KTY)
	}
	canon, err := json.Marshal(members)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// pemSeeds covers every block type parsePEMKey reads, and a few it refuses.
func pemSeeds(t testing.TB) [][]byte {
	t.Helper()
	blk := func(typ string, der []byte) []byte { return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}) }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ec256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ec521, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	edPub, edKey, _ := ed25519.GenerateKey(rand.Reader)
	sec1, err := x509.MarshalECPrivateKey(ec256)
	if err != nil {
		t.Fatal(err)
	}
	oid, _ := pem.Decode([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"))
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fuzz"}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &ec384.PublicKey, ec384)
	if err != nil {
		t.Fatal(err)
	}
	return [][]byte{
		pemOf(t, rsaKey),
		blk("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)),
		publicPEM(t, &rsaKey.PublicKey),
		blk("RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)),
		append(blk(oid.Type, oid.Bytes), blk("EC PRIVATE KEY", sec1)...),
		pemOf(t, ec384),
		pemOf(t, ec521),
		publicPEM(t, &ec256.PublicKey),
		pemOf(t, edKey),
		publicPEM(t, edPub),
		blk("CERTIFICATE", cert),
	}
}

// FuzzRemoteJWKS serves arbitrary bytes as a remote issuer's JWKS and verifies fixed tokens
// against them: nothing panics, and a token passes only when the document holds its key,
// under its kid when it names one, marked for signatures (or unmarked), and not bound to
// another algorithm. A document that is a Guard's own JWKS() must verify the tokens of its
// keys.
func FuzzRemoteJWKS(f *testing.F) {
	// Fixed keys, so that corpus documents name the same keys on every run.
	ecKey, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), bytes.Repeat([]byte{7}, 32))
	if err != nil {
		f.Fatal(err)
	}
	edKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	local, err := authframe.New(authframe.WithKey(authframe.Key{PEM: pemOf(f, ecKey)}), authframe.WithKey(authframe.Key{PEM: pemOf(f, edKey), VerifyOnly: true}), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithPasswords(fastArgon))
	if err != nil {
		f.Fatal(err)
	}
	ownJWKS := bytes.Clone(local.JWKS())
	local.Close()
	var own jwkset.JWKSMarshal
	if err := json.Unmarshal(ownJWKS, &own); err != nil || len(own.Keys) != 2 {
		f.Fatalf("JWKS %s: %v", ownJWKS, err)
	}
	ecKid, edKid := own.Keys[0].KID, own.Keys[1].KID

	var served atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(*served.Load())
	}))
	defer srv.Close()
	httpClient := &http.Client{Timeout: 5 * time.Second}

	remoteClaims := claims(func(c jwt.MapClaims) { c["iss"] = srv.URL })
	hmacKey := []byte("remote-hmac-secret-remote-hmac-secret")
	type fixedToken struct {
		tok, kid, alg string
		pub           any // nil: no key in any document may verify it
	}
	tokens := []fixedToken{
		{sign(f, jwt.SigningMethodES256, ecKey, remoteClaims, map[string]any{"kid": ecKid}), ecKid, "ES256", &ecKey.PublicKey},
		{sign(f, jwt.SigningMethodES256, ecKey, remoteClaims, nil), "", "ES256", &ecKey.PublicKey},
		{sign(f, jwt.SigningMethodEdDSA, edKey, remoteClaims, map[string]any{"kid": edKid}), edKid, "EdDSA", edKey.Public()},
		{sign(f, jwt.SigningMethodEdDSA, edKey, remoteClaims, nil), "", "EdDSA", edKey.Public()},
		{sign(f, jwt.SigningMethodHS256, hmacKey, remoteClaims, map[string]any{"kid": "h1"}), "h1", "HS256", nil},
		{sign(f, jwt.SigningMethodHS256, hmacKey, remoteClaims, nil), "", "HS256", nil},
	}

	ecJWK := string(mustJSON(f, own.Keys[0]))
	edJWK := string(mustJSON(f, own.Keys[1]))
	withMember := func(jwk, member string) string { return jwk[:len(jwk)-1] + "," + member + "}" }
	octJWK := `{"kty":"oct","kid":"h1","k":"` + base64.RawURLEncoding.EncodeToString(hmacKey) + `"}`
	// testdata/fuzz/FuzzRemoteJWKS holds the documents that found tokens without kid
	// verified by encryption keys and by keys of another algorithm.
	for i := range tokens {
		f.Add(ownJWKS, uint8(i))
	}
	f.Add([]byte(`{"keys":[`+octJWK+`]}`), uint8(4))
	f.Add([]byte(`{"keys":[`+strings.Replace(octJWK, `"kid":"h1",`, "", 1)+`]}`), uint8(5))
	f.Add([]byte(`{"keys":[`+withMember(strings.Replace(ecJWK, ecKid, "other", 1), `"d":"`+base64.RawURLEncoding.EncodeToString(ecKey.D.Bytes())+`"`)+`]}`), uint8(0))
	f.Add([]byte(`{"keys":[`+ecJWK+`,`+ecJWK+`]}`), uint8(0))
	f.Add([]byte(`{"keys":[`+strings.Replace(edJWK, edKid, ecKid, 1)+`]}`), uint8(0))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`), uint8(1))
	f.Add([]byte(`{"keys":[]}`), uint8(1))
	f.Add([]byte(`{"keys":null}`), uint8(0))
	f.Add([]byte(`[]`), uint8(0))

	f.Fuzz(func(t *testing.T, doc []byte, which uint8) {
		served.Store(&doc)
		g, err := authframe.New(
			authframe.WithRemote(authframe.RemoteIssuer{Issuer: srv.URL, Audience: []string{testAud}, JWKSURL: srv.URL, HTTPClient: httpClient}),
			authframe.WithPasswords(fastArgon), authframe.WithCache(authframe.CacheConfig{Disabled: true}),
		)
		if err != nil {
			return
		}
		defer g.Close()
		tk := tokens[int(which)%len(tokens)]
		_, err = g.VerifyToken(context.Background(), tk.tok)
		if bytes.Equal(doc, ownJWKS) && tk.pub != nil && err != nil {
			t.Fatalf("a Guard's own JWKS does not verify its %s token: %v", tk.alg, err)
		}
		if err == nil && !documentHolds(doc, tk.pub, tk.kid, tk.alg) {
			t.Fatalf("%s token (kid %q) accepted under %s", tk.alg, tk.kid, doc)
		}
	})
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// documentHolds reports whether a JWKS document publishes pub as a signature key that may
// verify a token of alg and kid ("" for a token without kid). It reads the document as the
// key set loader does: the first JSON value, members matched without regard to case.
func documentHolds(doc []byte, pub any, kid, alg string) bool {
	if pub == nil {
		return false
	}
	var set struct {
		Keys []struct {
			Kty, Kid, Use, Alg, Crv, X, Y string
		}
	}
	if err := json.NewDecoder(bytes.NewReader(doc)).Decode(&set); err != nil {
		return false
	}
	coord := func(s string) *big.Int {
		b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
		if err != nil {
			return nil
		}
		return new(big.Int).SetBytes(b)
	}
	for _, k := range set.Keys {
		if (kid != "" && k.Kid != kid) || (k.Use != "" && k.Use != "sig") || (k.Alg != "" && k.Alg != alg) {
			continue
		}
		switch p := pub.(type) {
		case *ecdsa.PublicKey:
			x, y := coord(k.X), coord(k.Y)
			if k.Kty == "EC" && x != nil && y != nil && x.Cmp(p.X) == 0 && y.Cmp(p.Y) == 0 {
				return true
			}
		case ed25519.PublicKey:
			x, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
			if k.Kty == "OKP" && err == nil && bytes.Equal(x, p) {
				return true
			}
		}
	}
	return false
}

// FuzzClientIP feeds X-Forwarded-For values and peer addresses to ClientIP: the answer is
// the peer or one of the header's entries, and an entry only when the peer and every entry
// to its right are trusted proxies.
func FuzzClientIP(f *testing.F) {
	trusted := []string{"10.0.0.0/8", "192.0.2.1", "2001:db8::/32", "::1"}
	g, err := authframe.New(authframe.WithHMACSecret(hmacSecret), authframe.WithIssuer(testIss), authframe.WithAudience(testAud), authframe.WithTrustedProxies(trusted...), authframe.WithPasswords(fastArgon))
	if err != nil {
		f.Fatal(err)
	}
	defer g.Close()
	var prefixes []netip.Prefix
	for _, s := range trusted {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			p = netip.PrefixFrom(netip.MustParseAddr(s), netip.MustParseAddr(s).BitLen())
		}
		prefixes = append(prefixes, p)
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return false
		}
		a = a.Unmap()
		for _, p := range prefixes {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	f.Add("203.0.113.7", "10.1.2.3:443")
	f.Add("203.0.113.7, 10.0.0.2", "192.0.2.1:80")
	f.Add("198.51.100.1, 203.0.113.7, 10.0.0.2", "[::1]:80")
	f.Add("203.0.113.7,, 10.0.0.2 ,", "10.0.0.1:1")
	f.Add("203.0.113.7, garbage, 10.0.0.2", "10.0.0.1:1")
	f.Add("10.0.0.3, 10.0.0.2", "10.0.0.1:1")
	f.Add("::ffff:203.0.113.7, ::ffff:10.0.0.2", "[::ffff:10.0.0.1]:1")
	f.Add("fe80::1%eth0, 2001:db8::1", "[2001:db8::2]:1")
	f.Add("203.0.113.7:1234", "10.0.0.1:1")
	f.Add("203.0.113.7", "203.0.113.9:1")
	f.Add("203.0.113.7", "10.0.0.1")
	f.Add("203.0.113.7", "")
	f.Fuzz(func(t *testing.T, xff, remote string) {
		req := fakeReq{headers: map[string]string{"X-Forwarded-For": xff}, remote: remote}
		got := g.ClientInfo(req).IP
		peer := req.RemoteAddr()
		if h, _, err := net.SplitHostPort(peer); err == nil {
			peer = h
		}
		if got == peer {
			return
		}
		if !isTrusted(peer) {
			t.Fatalf("ClientIP(%q, peer %q) = %q, want the untrusted peer", xff, remote, got)
		}
		parts := strings.Split(xff, ",")
		i := len(parts) - 1
		for ; i >= 0 && strings.TrimSpace(parts[i]) != got; i-- {
			e := strings.TrimSpace(parts[i])
			if e != "" && !isTrusted(e) {
				t.Fatalf("ClientIP(%q, peer %q) = %q, left of the untrusted %q", xff, remote, got, e)
			}
		}
		if i < 0 {
			t.Fatalf("ClientIP(%q, peer %q) = %q, neither the peer nor an entry", xff, remote, got)
		}
		if _, err := netip.ParseAddr(got); err != nil || isTrusted(got) {
			t.Fatalf("ClientIP(%q, peer %q) = %q, not an untrusted address", xff, remote, got)
		}
	})
}
