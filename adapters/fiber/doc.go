// Package authfiber puts an authframe Guard in front of Fiber v2 handlers, and serves the
// standard authentication routes as Fiber handlers.
//
//	authfiber.Mount(app.Group("/auth"), guard)             // login, refresh, logout, sessions, JWKS
//	app.Use(authfiber.Middleware(guard))                   // the one line
//	app.Get("/admin", authfiber.Require("admin"), handler) // optional authorization
//
// Middleware authenticates (bearer token or session cookie, with CSRF on unsafe cookie
// requests) and stores the Principal in c.Locals, read back with PrincipalFrom; Require
// and RequireAny check roles and permissions. Mount, or NewHandlers for routing the
// handlers one by one, serves the routes of core/endpoint: token login, refresh, logout,
// registration (WithRegistration), session login and logout, session listing and
// deletion, and the JWKS. All decisions are the Guard's: this package only translates.
//
// It works on fasthttp directly: the Guard reads headers, cookies and the path as views of
// fasthttp's buffers, without a net/http conversion or a copy, and a cached token costs no
// allocation. Such views are valid only while the handler runs; the Guard copies what it
// keeps, and so does this package (ClientInfo, RequestID, the id of DELETE /sessions/:id).
// Handlers that keep strings from c.Get, c.Cookies, c.Params or c.FormValue must copy
// them too, as everywhere in Fiber.
//
// The handlers read the raw request body (c.Request().Body(), never c.Body(), which
// decompresses any Content-Encoding without a limit): a body with a Content-Encoding is
// refused with 415, one over the limit (64 KiB, WithBodyLimit) with 413.
//
// The client IP comes from the TCP peer and the Guard's WithTrustedProxies rules, never
// from Fiber's ProxyHeader setting.
package authfiber
