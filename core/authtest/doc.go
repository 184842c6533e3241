// Package authtest is what an app's own tests need from authframe, as net/http/httptest
// is for net/http:
//
//   - New builds a Guard for a test (a fresh key, no files, a memory store, fast
//     hashing, closed when the test ends) and an Issuer that mints the access tokens it
//     accepts, for any subject, username, roles, permissions, custom claims, lifetime
//     and session: Token, or Header for an Authorization header.
//   - WithPrincipal puts a Principal in a request for authhttp, authgin and authecho (and
//     authfiber.SetPrincipal in a Fiber context), so a handler can be unit-tested without
//     any token.
//   - FailingStore wraps any store and fails on demand: errors, timeouts and partitions,
//     of every operation or of chosen ones, to test how the app and the Guard behave
//     when the store is down (WithFailOpen or the default 503).
//
// A test of a protected route:
//
//	func TestAdminRoute(t *testing.T) {
//		iss := authtest.New(t, authframe.WithRolePermissions("admin", "*:*"))
//		h := app.Routes(iss.Guard())
//
//		req := httptest.NewRequest("GET", "/api/admin", nil)
//		req.Header.Set("Authorization", iss.Header(authtest.Roles("admin")))
//		rec := httptest.NewRecorder()
//		h.ServeHTTP(rec, req)
//		if rec.Code != http.StatusOK {
//			t.Fatalf("admin: %d %s", rec.Code, rec.Body)
//		}
//	}
//
// The package is for tests: its Guard hashes passwords with parameters far below what
// protects real ones, and its key lives only as long as the test.
package authtest
