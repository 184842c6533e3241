// Package store defines the records and the small, context-first interfaces that every
// authframe store implements: users, sessions, refresh-token families, revocations and
// rate-limit counters; and the optional abilities a store may add, among them service
// clients (ClientStore), API keys (APIKeyStore) and the signing-key ring (KeyStore). The
// root package re-exports them, so most code names them as
// authframe.Store, authframe.Session and so on; this package exists so that store
// implementations (including the built-in memory store) can depend on the records without
// depending on the Guard.
//
// Not found is (zero, false, nil) for lookups and ErrNotFound for updates; atomic
// operations (RotateRefreshToken, Hit) are single calls so that each store can make them
// atomic natively.
package store
