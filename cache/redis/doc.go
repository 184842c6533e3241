// Package rediscache is authframe's shared validation cache on Redis, with cross-instance
// revocation.
//
// Put a Cache behind every Guard of a service with authframe.WithCache:
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	cache, err := rediscache.New(context.Background(), client)
//	guard, err := authframe.New(authframe.WithKeyFile("signing.pem"), authframe.WithIssuer(iss), authframe.WithAudience(aud), authframe.WithCache(authframe.CacheConfig{Shared: cache}))
//
// A token verified by one instance is then a Redis GET away on every other instance (the
// "shared" tier, behind each instance's in-process LRU), and a revocation made on one
// instance reaches every other within milliseconds over Redis pub/sub. Revocations are
// also kept in a log in Redis, so an instance whose subscription broke replays what it
// missed when it reconnects.
//
// The cache is an optimisation and is built to fail fast: every call it makes on a
// request's behalf has a short deadline (WithTimeout, 50 ms by default) and goes through a
// circuit breaker (WithCircuitBreaker), so a dead or hung Redis costs a request microseconds, not
// a timeout, and the Guard falls back to verifying tokens locally. Whether a token whose
// revocation status cannot be confirmed during such an outage is accepted is the Guard's
// choice: see authframe.WithFailOpen and the README.
package rediscache
