// Package authgin puts an authframe Guard in front of Gin routes and serves the standard
// authentication routes.
//
//	r := gin.New()
//	authgin.Mount(r.Group("/auth"), guard)            // /auth/token, /auth/refresh, ...
//	api := r.Group("/api", authgin.Middleware(guard)) // the one line
//	api.GET("/admin", authgin.Require("admin"), h)    // optional authorization
//
// Middleware authenticates (bearer token or session cookie, with CSRF on unsafe cookie
// requests) and stores the Principal in c.Request's context, read back with PrincipalFrom
// (or authframe.PrincipalFromContext in a service layer handed that context); Require and
// RequireAny check roles and permissions. Failures are answered with the same JSON bytes
// and WWW-Authenticate challenge as every other authframe adapter, and abort the chain.
//
// Mount routes the ready-made handlers of endpoint.Routes (password login for tokens or a
// cookie session, refresh, logout, registration with WithRegistration, the caller's
// sessions, the JWKS), putting Middleware in front of those that need a caller;
// NewHandlers gives the same handlers one by one for routes of the app's own. Each reads
// the raw body (at most WithBodyLimit, never one with a Content-Encoding) and hands it to
// package endpoint: all decisions are the Guard's, this package only translates.
//
// The client address the Guard sees is the TCP peer (c.Request.RemoteAddr), never
// c.ClientIP(): configure trusted proxies on the Guard (authframe.WithTrustedProxies), not
// on the engine.
package authgin
