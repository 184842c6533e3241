package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/redis/go-redis/v9"

	authframe "github.com/authframe/authframe/core"
	redisstore "github.com/authframe/authframe/stores/redis"
)

// A Guard on the Redis store: every instance built this way on the same Redis and prefix
// shares users, sessions, refresh families and rate limits, and hears of the others'
// revocations through pub/sub. (The example needs a Redis server, so it is compiled but not
// run by go test.)
func Example() {
	// The client is the application's: its timeouts bound every store call, and the
	// application closes it. redis.NewClusterClient or redis.NewFailoverClient (Sentinel)
	// work the same way.
	client := redis.NewClient(&redis.Options{
		Addr:         "127.0.0.1:6379",
		DialTimeout:  time.Second,
		ReadTimeout:  500 * time.Millisecond,
		WriteTimeout: 500 * time.Millisecond,
	})
	defer client.Close()
	ctx := context.Background()

	st, err := redisstore.New(ctx, client, redisstore.WithPrefix("myapp:auth:"))
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	if err := st.Ping(ctx); err != nil {
		log.Fatalf("redis: %v", err)
	}

	guard, err := authframe.New(
		authframe.WithStore(st),
		authframe.WithHMACSecret([]byte("an example secret of 32 bytes or more")),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("api"),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer guard.Close()

	client1 := authframe.ClientInfo{IP: "203.0.113.5", UserAgent: "example"}
	if _, err := guard.Register(ctx, authframe.ClientInfo{}, "alice", "a long enough password"); err != nil && !errors.Is(err, authframe.ErrConflict) {
		log.Fatal(err)
	}
	u, err := guard.VerifyPassword(ctx, client1, "alice", "a long enough password")
	if err != nil {
		log.Fatal(err)
	}
	pair, err := guard.IssueTokens(ctx, u, client1)
	if err != nil {
		log.Fatal(err)
	}
	// One EVALSHA spends the refresh token and stores its successor.
	if pair, err = guard.Refresh(ctx, pair.RefreshToken, client1); err != nil {
		log.Fatal(err)
	}
	p, err := guard.VerifyToken(ctx, pair.AccessToken)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("authenticated", p.Username)

	stats, err := st.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("live sessions:", stats.LiveSessions)
}
