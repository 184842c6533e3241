// Package bench compares authframe's four framework adapters (authhttp, authgin,
// authecho, authfiber) with peer JWT middlewares on the same frameworks: gin-jwt, echo-jwt,
// Fiber's contrib jwt, Auth0's go-jwt-middleware and a hand-rolled net/http middleware on
// golang-jwt.
//
// The package holds the shared fixtures: keys, tokens, and one GET /api server per
// framework and middleware, every one configured with the same key and the same checks
// (algorithm pinned, iss, aud, exp required) and ending in the same handler. The
// benchmarks (BenchmarkPeers, BenchmarkBare) and the tests that prove the setup live in
// the package's test files. See README.md for what is measured and how to run it.
package bench
