// Package redisstore is authframe's Redis store: users, sessions, refresh-token families,
// revocations, login rate limits, service clients, API keys, two-factor records and replay
// keys in Redis, shared by every instance of a service.
//
// It works on any redis.UniversalClient, so a standalone server, Sentinel and Cluster all
// work; the client belongs to the caller, who sets its timeouts and closes it.
//
//	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
//	st, err := redisstore.New(ctx, client)
//	if err != nil { ... }
//	defer st.Close()
//	guard, err := authframe.New(authframe.WithStore(st), authframe.WithKeyFile("signing.pem"), authframe.WithIssuer(iss), authframe.WithAudience(aud))
//
// Records expire by native TTLs: a session is one hash, its refresh family included, that
// expires at the session's deadline, which a touch or a refresh moves (PEXPIREAT). A
// family keeps its unspent token and its last store.SpentRefreshKept spent ones, so its
// hash stays small however often it is refreshed. Every
// operation that must be atomic (spending a refresh token, detecting its reuse and
// deleting the family, counting a login attempt) is one Lua script, sent with EVALSHA,
// whose keys share one Cluster slot, so it costs one round trip. The store uses neither KEYS nor SCAN:
// a user's sessions are listed from a per-user index, and the export and Stats read global
// indexes.
//
// Revocations are kept in sorted sets until they expire and published on the
// "<prefix>revocations" channel; WatchRevocations (store.RevocationFeed) subscribes to it,
// replays what it may have missed after each reconnection, and tells the Guard whether it
// is in sync.
//
// No secret is stored: the Guard hands the store only hashes (argon2id password hashes,
// SHA-256 refresh-token and CSRF hashes, session ids derived by hashing the cookie, and
// the hashes of client secrets, API keys and recovery codes; a TOTP secret arrives sealed).
//
// Integration tests run against the server named by AUTHFRAME_TEST_REDIS_URL (and a
// Cluster named by AUTHFRAME_TEST_REDIS_CLUSTER_ADDRS, and a Sentinel-monitored pair named by
// AUTHFRAME_TEST_REDIS_SENTINEL_ADDRS and AUTHFRAME_TEST_REDIS_SENTINEL_MASTER); without
// them they skip.
package redisstore
