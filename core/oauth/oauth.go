// Package oauth gives a Guard the service-to-service half of OAuth 2.0: service clients
// (RFC 6749 §4.4, the client credentials grant), their RFC 9068 access tokens, token
// introspection (RFC 7662) and revocation (RFC 7009). The HTTP side, with OAuth's own
// error shape, is in package endpoint and behind every adapter's handlers; these functions
// are what those handlers call, for services that route by hand.
//
// A client's secret carries 256 bits and is stored only as its SHA-256 (package
// credential). A client's access token is a JWT like a user's, with sub and client_id the
// client id, scope its granted scopes and no sid; a Guard verifies it like any other of its
// tokens, and its Principal has Method authframe.MethodClient, the client's name as
// Username, no roles, and the scopes as Permissions, so Require("read:reports") serves
// users, clients and API keys alike.
package oauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/internal/ctxkey"
	"github.com/authframe/authframe/core/internal/engine"
	"github.com/authframe/authframe/core/store"
)

// guardOps are the Guard internals this package uses (see core/internal/engine).
type guardOps interface {
	CreateClient(ctx context.Context, name string, scopes []string) (store.Client, string, error)
	ListClients(ctx context.Context) ([]store.Client, error)
	DeleteClient(ctx context.Context, id string) error
	AuthenticateClient(ctx context.Context, client authframe.ClientInfo, id, secret string) (store.Client, error)
	GrantScopes(c store.Client, requested []string) ([]string, error)
	IssueClientToken(ctx context.Context, c store.Client, scopes []string) (string, time.Duration, error)
	Introspect(ctx context.Context, tok string) (*authframe.Principal, string, error)
	RevokeCredential(ctx context.Context, tok string) error
	ValidPermission(p string) error
}

func ops(g *authframe.Guard) guardOps { return engine.Of(g).(guardOps) }

// Client is a service client as its administrators see it. Its secret is shown once, by
// CreateClient, and kept nowhere.
type Client struct {
	ID        string
	Name      string
	Scopes    []string
	CreatedAt time.Time
	Disabled  bool
}

func fromStore(c store.Client) Client {
	return Client{ID: c.ID, Name: c.Name, Scopes: c.Scopes, CreatedAt: c.CreatedAt, Disabled: c.Disabled}
}

// The limits of a client's name and scopes (and of an API key's name and permissions).
const (
	MaxNameLen = 64
	MaxScopes  = 32
)

// CheckName validates a client's (or an API key's) name: 1 to MaxNameLen printable
// characters.
func CheckName(name string) error {
	if name == "" || utf8.RuneCountInString(name) > MaxNameLen || !utf8.ValidString(name) {
		return fmt.Errorf("name must be 1 to %d characters", MaxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return errors.New("name must be printable characters")
		}
	}
	return nil
}

// CheckPermissions validates a list of 1 to MaxScopes permissions ("action:resource", "*"
// wildcards allowed), as client scopes and API key permissions are.
func CheckPermissions(g *authframe.Guard, perms []string) error {
	if len(perms) == 0 || len(perms) > MaxScopes {
		return fmt.Errorf("give 1 to %d permissions", MaxScopes)
	}
	o := ops(g)
	for _, p := range perms {
		if len(p) > 128 || strings.ContainsAny(p, " \t\r\n") {
			return fmt.Errorf("permission %q is not action:resource", p)
		}
		if err := o.ValidPermission(p); err != nil {
			return err
		}
	}
	return nil
}

// CreateClient registers a service client with name and scopes, and returns it with its
// secret: show the secret to whoever registered the client, once.
func CreateClient(ctx context.Context, g *authframe.Guard, name string, scopes []string) (Client, string, error) {
	if err := CheckName(name); err != nil {
		return Client{}, "", &authframe.Error{Code: authframe.ErrInvalidRequest, Message: "client " + err.Error()}
	}
	if err := CheckPermissions(g, scopes); err != nil {
		return Client{}, "", &authframe.Error{Code: authframe.ErrInvalidRequest, Message: "scopes: " + err.Error()}
	}
	c, secret, err := ops(g).CreateClient(ctx, name, scopes)
	if err != nil {
		return Client{}, "", err
	}
	return fromStore(c), secret, nil
}

// ListClients returns every service client, oldest first.
func ListClients(ctx context.Context, g *authframe.Guard) ([]Client, error) {
	cs, err := ops(g).ListClients(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, fromStore(c))
	}
	return out, nil
}

// DeleteClient removes a service client: its secret stops working, and every token issued
// to it is refused here at once and by every instance sharing the store or the shared cache
// within a second. authframe.ErrNotFound for an unknown id.
func DeleteClient(ctx context.Context, g *authframe.Guard, id string) error {
	return ops(g).DeleteClient(ctx, id)
}

// AuthenticateClient checks a client's id and secret (in constant time, and at the same
// cost for an unknown id). Failed attempts count per (client address, client id) against
// RateLimits.Login per Window; once they reach it, every attempt is refused with
// authframe.ErrRateLimited until the window ends. A wrong id or secret is
// authframe.ErrInvalidCredentials.
func AuthenticateClient(ctx context.Context, g *authframe.Guard, client authframe.ClientInfo, id, secret string) (Client, error) {
	c, err := ops(g).AuthenticateClient(ctx, client, id, secret)
	if err != nil {
		return Client{}, err
	}
	return fromStore(c), nil
}

// Token is an OAuth 2.0 token response (RFC 6749 §5.1).
type Token struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// ErrInvalidScope is returned by IssueToken for a scope the client does not hold.
var ErrInvalidScope = errors.New("oauth: a requested scope is not granted to the client")

// IssueToken signs an access token for an authenticated client with the scopes requested
// (each granted by one of the client's, "*" wildcards included), or all of the client's
// for none. It has no refresh token: the client authenticates again. Under a context from
// dpop.TokenRequest carrying a verified proof, the token is bound to the proof's key
// (cnf.jkt) and its TokenType is "DPoP".
func IssueToken(ctx context.Context, g *authframe.Guard, c Client, scopes []string) (*Token, error) {
	o := ops(g)
	granted, err := o.GrantScopes(store.Client{ID: c.ID, Scopes: c.Scopes}, scopes)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidScope, err)
	}
	tok, ttl, err := o.IssueClientToken(ctx, store.Client{ID: c.ID, Name: c.Name, Scopes: c.Scopes}, granted)
	if err != nil {
		return nil, err
	}
	typ := "Bearer"
	if ctxkey.JKT(ctx) != "" {
		typ = "DPoP"
	}
	return &Token{AccessToken: tok, TokenType: typ, ExpiresIn: int64(ttl / time.Second), Scope: strings.Join(granted, " ")}, nil
}

// Introspection is an RFC 7662 answer. An inactive credential says nothing else, whatever
// the reason.
type Introspection struct {
	Active    bool   `json:"active"`
	Subject   string `json:"sub,omitempty"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	// Cnf is the key a DPoP-bound token is bound to (RFC 9449 §6.2), nil for others.
	Cnf *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf member of an introspection answer: the RFC 7638 thumbprint of the
// key of a DPoP-bound token.
type Confirmation struct {
	JKT string `json:"jkt"`
}

// Introspect reports whether tok is a live access token (a user's or a client's) or API key
// of this Guard, and if so whose, with its permissions as scope. Refresh tokens and
// anything else are inactive. Only a store or cache that cannot answer is an error.
func Introspect(ctx context.Context, g *authframe.Guard, tok string) (Introspection, error) {
	p, typ, err := ops(g).Introspect(ctx, tok)
	if err != nil {
		if errors.Is(err, authframe.ErrUnavailable) {
			return Introspection{}, err
		}
		return Introspection{}, nil
	}
	in := Introspection{Active: true, Subject: p.UserID, Scope: strings.Join(p.Permissions, " "), ClientID: p.ClientID,
		Username: p.Username, TokenType: typ, Issuer: p.Issuer}
	if !p.ExpiresAt.IsZero() {
		in.ExpiresAt = p.ExpiresAt.Unix()
	}
	if p.JKT != "" {
		in.Cnf = &Confirmation{JKT: p.JKT}
	}
	if !p.IssuedAt.IsZero() {
		in.IssuedAt = p.IssuedAt.Unix()
	}
	return in, nil
}

// Revoke is RFC 7009's revocation: a refresh token ends its family and session, an access
// token is refused from now on by every instance, an API key is deleted. An unknown or
// invalid token is no error (the endpoint answers 200 all the same); only a store that
// cannot answer is.
func Revoke(ctx context.Context, g *authframe.Guard, tok string) error {
	return ops(g).RevokeCredential(ctx, tok)
}
