// Package authframe is the framework-agnostic core of the authframe suite: it verifies
// JWTs behind an in-process validation cache, issues access and refresh tokens, runs
// server-side sessions with CSRF protection, checks roles and permissions, and defines the
// store and cache interfaces its Redis and PostgreSQL modules implement.
//
// Build one Guard at start-up and hand it to an adapter (authhttp, authgin, authecho,
// authfiber):
//
//	guard, err := authframe.New(
//		authframe.WithKeyFile("signing.pem"),
//		authframe.WithIssuer("https://auth.example.com"),
//		authframe.WithAudience("api"),
//	)
//
// Every request goes through Guard.Authenticate. A bearer token already verified is a
// cache hit: no parsing, no signature check, one revocation-generation load (about 120 ns
// and no allocation). A miss verifies with golang-jwt/jwt/v5 under an algorithm allow-list
// derived from the configured keys, requires exp, checks iss and aud, refuses crit headers
// and oversized tokens, and, for tokens this Guard issued, confirms that the token's session
// is live in the store. Revocations (logout, session deletion, refresh-token reuse) enter an
// in-memory set at once and reach other instances through the store's or the shared
// cache's revocation feed.
//
// Failures are *Error values with stable codes; RenderError and WriteError produce the one
// JSON error shape and WWW-Authenticate challenge every adapter sends.
package authframe
