// Package interop_test checks authframe against a real OpenID provider: zitadel's OP
// (github.com/zitadel/oidc/v3/pkg/op), running in-process with the storage of its own
// example server, mints client-credentials access tokens that a Guard configured with
// WithRemote verifies, through discovery and the provider's JWKS.
package interop_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2/clientcredentials"

	authhttp "github.com/authframe/authframe/adapters/nethttp"
	authframe "github.com/authframe/authframe/core"
)

const (
	apiAudience  = "authframe-api"
	clientID     = "reports-service"
	clientSecret = "a long random client secret of the provider"
)

// ccStorage is the example server's storage with one service client of our own that gets
// JWT access tokens (the example's own service user gets opaque ones) for our audience, with
// its scopes in the scope claim.
type ccStorage struct {
	*storage.Storage
}

func (s *ccStorage) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	if id != clientID || secret != clientSecret {
		return nil, errors.New("wrong client id or secret")
	}
	return serviceClient{}, nil
}

func (s *ccStorage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	if id != clientID {
		return nil, errors.New("unknown client")
	}
	return &oidc.JWTTokenRequest{Subject: id, Audience: []string{apiAudience}, Scopes: scopes}, nil
}

func (s *ccStorage) GetPrivateClaimsFromScopes(_ context.Context, _, client string, scopes []string) (map[string]any, error) {
	if client != clientID {
		return nil, nil
	}
	return map[string]any{"scope": strings.Join(scopes, " ")}, nil
}

// serviceClient is an op.Client of the client credentials grant.
type serviceClient struct{}

func (serviceClient) GetID() string                       { return clientID }
func (serviceClient) RedirectURIs() []string              { return nil }
func (serviceClient) PostLogoutRedirectURIs() []string    { return nil }
func (serviceClient) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (serviceClient) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (serviceClient) ResponseTypes() []oidc.ResponseType  { return nil }
func (serviceClient) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (serviceClient) LoginURL(string) string               { return "" }
func (serviceClient) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (serviceClient) IDTokenLifetime() time.Duration       { return time.Hour }
func (serviceClient) DevMode() bool                        { return false }
func (serviceClient) IDTokenUserinfoClaimsAssertion() bool { return false }
func (serviceClient) ClockSkew() time.Duration             { return 0 }
func (serviceClient) IsScopeAllowed(s string) bool         { return strings.Contains(s, ":") }
func (serviceClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (serviceClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// provider starts the OP on a loopback port and returns its issuer URL.
func provider(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "http://" + ln.Addr().String()
	st := &ccStorage{Storage: storage.NewStorage(storage.NewUserStore(issuer))}
	p, err := op.NewOpenIDProvider(issuer, &op.Config{CryptoKey: [32]byte{1, 2, 3}, AuthMethodPost: true}, st, op.WithAllowInsecure())
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(p)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

func TestAGuardVerifiesAnOpenIDProvidersClientCredentialsTokens(t *testing.T) {
	issuer := provider(t)
	g, err := authframe.New(authframe.WithRemote(authframe.RemoteIssuer{Issuer: issuer, Audience: []string{apiAudience}}))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()

	// The token comes from the provider through a maintained OAuth 2.0 client.
	cc := clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: issuer + "/oauth/token", Scopes: []string{"read:reports"}}
	ctx := context.Background()
	tok, err := cc.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	p, err := g.VerifyToken(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("the provider's token was refused: %v", err)
	}
	if p.Local || p.Issuer != issuer || p.ClientID != clientID || !p.Can("read:reports") || p.Can("write:reports") {
		t.Fatalf("principal %+v", p)
	}
	// The subject is the provider's, named with its issuer: it is no local user, whose
	// sessions or keys it could reach by sharing an id.
	if p.UserID != clientID || p.Method != authframe.MethodBearer {
		t.Fatalf("principal %+v", p)
	}
	if _, err := g.ListSessions(ctx, p); !errors.Is(err, authframe.ErrForbidden) {
		t.Fatalf("a remote subject listed local sessions: %v", err)
	}

	// The same through an adapter: the client's own http.Client adds and renews its token.
	mux := http.NewServeMux()
	mux.Handle("GET /api/reports", authhttp.Middleware(g)(authhttp.Require("read:reports")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true}`))
	}))))
	api := httptest.NewServer(mux)
	defer api.Close()
	resp, err := cc.Client(ctx).Get(api.URL + "/api/reports")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/reports with the provider's token: %d", resp.StatusCode)
	}

	// Each token carries its own scopes.
	writer, err := (&clientcredentials.Config{ClientID: clientID, ClientSecret: clientSecret, TokenURL: issuer + "/oauth/token", Scopes: []string{"write:reports"}}).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p, err := g.VerifyToken(ctx, writer.AccessToken); err != nil || p.Can("read:reports") {
		t.Fatalf("scopes are not the token's own: %+v, %v", p, err)
	}
	// A logout refuses that token from then on.
	if err := g.Logout(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := g.VerifyToken(ctx, tok.AccessToken); !errors.Is(err, authframe.ErrTokenRevoked) {
		t.Fatalf("a logged-out remote token: %v", err)
	}
}
