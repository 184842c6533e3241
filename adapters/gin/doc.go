// Package authgin puts an authframe Guard in front of Gin routes.
//
//	r := gin.New()
//	r.Use(authgin.Middleware(guard))            // the one line
//	r.GET("/admin", authgin.Require("admin"), h) // optional authorization
//
// Middleware authenticates (bearer token or session cookie, with CSRF on unsafe cookie
// requests) and stores the Principal in c.Request's context, read back with PrincipalFrom
// (or authframe.PrincipalFromContext in a service layer handed that context); Require and
// RequireAny check roles and permissions; Login and Logout run cookie sessions. Failures
// are answered with the same JSON bytes and WWW-Authenticate challenge as every other
// authframe adapter, and abort the chain. All decisions are the Guard's: this package only
// translates.
//
// The client address the Guard sees is the TCP peer (c.Request.RemoteAddr), never
// c.ClientInfo(): configure trusted proxies on the Guard (authframe.WithTrustedProxies), not
// on the engine.
package authgin
