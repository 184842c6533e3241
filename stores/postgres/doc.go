// Package pgstore is authframe's PostgreSQL store: users, sessions, refresh-token
// families, revocations, rate-limit counters, service clients, API keys, two-factor records
// and replay keys in nine tables, through a github.com/jackc/pgx/v5 pool that the application owns.
//
//	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
//	st, err := pgstore.New(ctx, pool)          // migrates, starts the cleanup job
//	defer st.Close()
//	guard, err := authframe.New(authframe.WithStore(st), authframe.WithKeyFile("signing.pem"), authframe.WithIssuer(iss), authframe.WithAudience(aud))
//
// # Schema and migrations
//
// The tables live in one schema (WithSchema, default "public") under one name prefix
// (WithTablePrefix, default "authframe_"). Versioned SQL migrations are embedded in the
// binary; Migrate (run by New unless WithMigrate(false)) applies the pending ones in one
// transaction under an advisory lock keyed on the schema and prefix, so instances that
// start together migrate once, and records them in <prefix>schema_migrations.
//
// # Atomicity and expiry
//
// Every operation is one SQL statement, and so one round trip with pgx's statement cache
// (CreateSession and CreateAPIKey take two more only when their id, or the key's hash, is
// held by an expired row).
// RotateRefreshToken spends a token with a conditional UPDATE and, when the token was
// already spent, deletes the session and its family in the same statement; the same
// statement keeps the family bounded, deleting by its spend number the spent token that
// falls out of its last store.SpentRefreshKept. Hit counts with
// INSERT ... ON CONFLICT DO UPDATE. Every expiring row has a deadline column that reads
// filter on, so expiry is exact to the microsecond; a cleanup job deletes expired rows on
// its interval (WithCleanupInterval).
//
// # Revocations across instances
//
// AddRevocation inserts the row and pg_notify-s it in one statement. WatchRevocations (a
// store.RevocationFeed the Guard subscribes to by itself) LISTENs on a dedicated
// connection, replays what it may have missed on every (re)connection and reports its
// state through RevocationWatcher.Synced.
//
// Only hashes reach the store: the Guard hands it hashed refresh tokens, session handles
// derived by hashing, argon2id password hashes, and the hashes of client secrets and API
// keys.
package pgstore
