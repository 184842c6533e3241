package redisstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	envURL            = "AUTHFRAME_TEST_REDIS_URL"
	envCluster        = "AUTHFRAME_TEST_REDIS_CLUSTER_ADDRS"
	envSentinelAddrs  = "AUTHFRAME_TEST_REDIS_SENTINEL_ADDRS"
	envSentinelMaster = "AUTHFRAME_TEST_REDIS_SENTINEL_MASTER"
)

// skipOrFail skips with msg, or fails under AUTHFRAME_REQUIRE_INTEGRATION=1 (as in CI),
// where a missing server must not pass as a skipped test.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("AUTHFRAME_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg + "\n(AUTHFRAME_REQUIRE_INTEGRATION=1 forbids skipping)")
	}
	t.Skip(msg)
}

// testOptions returns the client options of AUTHFRAME_TEST_REDIS_URL, or skips.
func testOptions(t testing.TB) *redis.Options {
	t.Helper()
	url := os.Getenv(envURL)
	if url == "" {
		skipOrFail(t, fmt.Sprintf("%s is not set: run Redis and set it to run the integration tests, e.g. "+
			"%s=redis://127.0.0.1:6379/0 go test ./...", envURL, envURL))
	}
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("%s: %v", envURL, err)
	}
	return opt
}

// testClient returns a client of AUTHFRAME_TEST_REDIS_URL closed at the end of the test,
// or skips.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewClient(testOptions(t))
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s does not answer: %v", envURL, err)
	}
	return c
}

// testClusterClient returns a client of AUTHFRAME_TEST_REDIS_CLUSTER_ADDRS, or skips.
func testClusterClient(t testing.TB) *redis.ClusterClient {
	t.Helper()
	addrs := os.Getenv(envCluster)
	if addrs == "" {
		skipOrFail(t, fmt.Sprintf("%s is not set: start a cluster with `eval \"$(bash .ci/redis-cluster.sh)\"` "+
			"from the repository root to run the Cluster tests", envCluster))
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: strings.Split(addrs, ",")})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s does not answer: %v", envCluster, err)
	}
	return c
}

// sentinelOptions returns the failover options of AUTHFRAME_TEST_REDIS_SENTINEL_ADDRS and
// AUTHFRAME_TEST_REDIS_SENTINEL_MASTER, or skips.
func sentinelOptions(t testing.TB) *redis.FailoverOptions {
	t.Helper()
	addrs, master := os.Getenv(envSentinelAddrs), os.Getenv(envSentinelMaster)
	if addrs == "" || master == "" {
		skipOrFail(t, fmt.Sprintf("%s and %s are not set: start a Sentinel-monitored pair with "+
			"`eval \"$(bash .ci/redis-sentinel.sh)\"` from the repository root to run the Sentinel tests",
			envSentinelAddrs, envSentinelMaster))
	}
	return &redis.FailoverOptions{MasterName: master, SentinelAddrs: strings.Split(addrs, ",")}
}

// testSentinelClient returns a client that finds the master through the Sentinel, or skips.
func testSentinelClient(t testing.TB) *redis.Client {
	t.Helper()
	c := redis.NewFailoverClient(sentinelOptions(t))
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("the master behind %s does not answer: %v", envSentinelAddrs, err)
	}
	return c
}

// testPrefix is a fresh key prefix whose keys are deleted at the end of the test. Deleting
// them is the one place where this module uses SCAN, and only on its own test prefix.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "authframe-test:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() { deletePrefix(t, c, prefix) })
	return prefix
}

func deletePrefix(t testing.TB, c redis.UniversalClient, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := scanPrefix(ctx, c, prefix, func(ctx context.Context, node redis.UniversalClient, key string) error {
		// One key at a time: on a Cluster each key may live in another slot.
		return node.Unlink(ctx, key).Err()
	})
	if err != nil {
		t.Logf("cleaning up %s*: %v", prefix, err)
	}
}

// keysUnder lists the keys of a prefix, for tests that check the layout.
func keysUnder(t testing.TB, c redis.UniversalClient, prefix string) []string {
	t.Helper()
	var mu sync.Mutex
	var out []string
	err := scanPrefix(context.Background(), c, prefix, func(_ context.Context, _ redis.UniversalClient, key string) error {
		mu.Lock()
		out = append(out, key)
		mu.Unlock()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// scanPrefix calls fn for every key under prefix, on every master of a Cluster.
func scanPrefix(ctx context.Context, c redis.UniversalClient, prefix string, fn func(context.Context, redis.UniversalClient, string) error) error {
	scan := func(ctx context.Context, node redis.UniversalClient) error {
		iter := node.Scan(ctx, 0, prefix+"*", 500).Iterator()
		for iter.Next(ctx) {
			if err := fn(ctx, node, iter.Val()); err != nil {
				return err
			}
		}
		return iter.Err()
	}
	if cc, ok := c.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error { return scan(ctx, n) })
	}
	return scan(ctx, c)
}

// newTestStore returns a Store on a fresh prefix, closed and cleaned up at the end.
func newTestStore(t testing.TB, c redis.UniversalClient, opts ...Option) *Store {
	t.Helper()
	return newTestStoreOn(t, c, testPrefix(t, c), opts...)
}

func newTestStoreOn(t testing.TB, c redis.UniversalClient, prefix string, opts ...Option) *Store {
	t.Helper()
	s, err := New(context.Background(), c, append([]Option{WithPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
