package rediscache_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/redis/go-redis/v9"

	authframe "github.com/authframe/authframe/core"

	rediscache "github.com/authframe/authframe/cache/redis"
)

// Every instance of a service builds its Guard over the same Redis: tokens verified by one
// are shared hits on the others, and a logout on one is enforced by all.
func Example() {
	client := redis.NewClient(&redis.Options{
		Addr:                  "127.0.0.1:6379",
		ContextTimeoutEnabled: true, // required: the cache's deadlines must reach the socket
	})
	defer client.Close()

	cache, err := rediscache.New(context.Background(), client, rediscache.WithPrefix("myapp:auth:"))
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()

	guard, err := authframe.New(
		authframe.WithHMACSecret([]byte(os.Getenv("AUTHFRAME_SECRET"))),
		authframe.WithIssuer("https://auth.example.com"),
		authframe.WithAudience("api"),
		authframe.WithCache(authframe.CacheConfig{Shared: cache}),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer guard.Close() // deferred last, so it closes first

	p, err := guard.VerifyToken(context.Background(), os.Getenv("TOKEN"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Username)
}

// Tuning the failure behaviour: a tighter deadline for a Redis on the same host, a breaker
// that opens on the third failure in a row and probes again after half a second.
func ExampleNew_failure() {
	opt, err := redis.ParseURL("redis://127.0.0.1:6379/0")
	if err != nil {
		log.Fatal(err)
	}
	opt.ContextTimeoutEnabled = true
	client := redis.NewClient(opt)
	defer client.Close()

	cache, err := rediscache.New(context.Background(), client,
		rediscache.WithTimeout(20*time.Millisecond),
		rediscache.WithCircuitBreaker(3, 500*time.Millisecond),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer cache.Close()
	fmt.Println(cache.BreakerState())
}

// A client built without ContextTimeoutEnabled would let a hung Redis hold each request
// for go-redis's ReadTimeout (5 s): New refuses it.
func ExampleNew_contextTimeout() {
	client := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379"})
	defer client.Close()
	_, err := rediscache.New(context.Background(), client)
	fmt.Println(err)
	// Output: rediscache: the client ignores context deadlines: set ContextTimeoutEnabled: true in its options
}
