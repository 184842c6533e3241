package pgstore_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	authframe "github.com/authframe/authframe/core"
	pgstore "github.com/authframe/authframe/stores/postgres"
)

// A Guard whose users, sessions, refresh families, revocations and login counters live in
// PostgreSQL. Every instance built this way on one database is one service: a revocation
// on one reaches the others through LISTEN/NOTIFY.
func Example() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()

	st, err := pgstore.New(ctx, pool) // creates or upgrades the tables
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	guard, err := authframe.New(
		authframe.WithStore(st),
		authframe.WithKeyFile("signing.pem"),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("example-api"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer guard.Close()

	u, err := guard.Register(ctx, authframe.ClientInfo{}, "alice", "correct horse battery staple")
	if err != nil {
		log.Fatal(err)
	}
	pair, err := guard.IssueTokens(ctx, u, authframe.ClientInfo{IP: "192.0.2.1", UserAgent: "example"})
	if err != nil {
		log.Fatal(err)
	}
	_ = pair.AccessToken // send it as "Authorization: Bearer ..."
}

// Applications whose database role may not run DDL skip the migration at start, and a
// deployment step with a privileged role runs it once (concurrent runs are safe too).
func ExampleStore_Migrate() {
	ctx := context.Background()

	// The deployment step, as the owner of the schema.
	admin, err := pgxpool.New(ctx, os.Getenv("MIGRATION_DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer admin.Close()
	migrator, err := pgstore.New(ctx, admin, pgstore.WithSchema("auth"), pgstore.WithMigrate(false), pgstore.WithCleanupInterval(0))
	if err != nil {
		log.Fatal(err)
	}
	if err := migrator.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	migrator.Close()

	// The application, as a role with only SELECT, INSERT, UPDATE and DELETE.
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	st, err := pgstore.New(ctx, pool, pgstore.WithSchema("auth"), pgstore.WithMigrate(false))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
}

// With the cleanup job off, expired rows are deleted by a scheduler of your own. Reads
// never return them either way.
func ExampleStore_Cleanup() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	st, err := pgstore.New(ctx, pool, pgstore.WithCleanupInterval(0))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	deleted, err := st.Cleanup(ctx)
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("deleted %d expired rows", deleted)
}
