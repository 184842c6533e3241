// Package authhttp puts an authframe Guard in front of net/http handlers: the standard mux,
// chi, gorilla/mux or anything else that speaks func(http.Handler) http.Handler.
//
//	authhttp.Mount(mux, "/auth", guard)                  // login, refresh, logout, sessions, JWKS
//	mux.Handle("/api/", authhttp.Middleware(guard)(api)) // the one line
//
// Middleware authenticates (bearer token or session cookie, with CSRF on unsafe cookie
// requests) and stores the Principal in the request context, read back with PrincipalFrom;
// Require checks roles and permissions. Mount serves the standard routes (or NewHandlers
// gives them one by one as http.HandlerFunc). All decisions are the Guard's: this package
// only translates.
package authhttp
