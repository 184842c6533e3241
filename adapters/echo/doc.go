// Package authecho puts an authframe Guard in front of Echo (github.com/labstack/echo/v4).
//
//	e.Use(authecho.Middleware(guard))                   // the one line
//	e.GET("/admin", h, authecho.Require("admin"))       // optional authorization
//	authecho.Mount(e.Group("/auth"), guard)             // login, refresh, logout, sessions
//
// Middleware authenticates (bearer token from the Authorization header, else the session
// cookie, with the CSRF check on unsafe cookie requests) and stores the Principal in the
// request's context, read back with PrincipalFrom (or authframe.PrincipalFromContext in a
// service layer); Optional lets requests without credentials through anonymously;
// Require and RequireAny check roles and permissions. RequestID tags requests and error
// bodies.
//
// The ready-made handlers (NewHandlers, or Mount for all of them at once) serve the
// standard routes of endpoint.Routes: token login, refresh and logout, cookie-session
// login and logout, the caller's sessions, the JWKS, and sign-up with WithRegistration.
// They read request bodies raw and bounded (WithBodyLimit), never decompressed: a body
// with a Content-Encoding is refused with 415 before it is read.
//
// All decisions are the Guard's: this package only translates. Failures are answered with
// the same JSON body and WWW-Authenticate challenge as every other authframe adapter, or,
// with WithHTTPError(true), returned as *echo.HTTPError for the Echo instance's
// HTTPErrorHandler. The client address is the connection's peer as judged by the Guard's
// own trusted-proxy rules (authframe.WithTrustedProxies), never echo's IPExtractor.
package authecho
