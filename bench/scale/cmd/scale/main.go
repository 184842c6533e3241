// Command scale runs authframe's scale measurements (issue 17) against the Redis and
// PostgreSQL of AUTHFRAME_TEST_REDIS_URL and AUTHFRAME_TEST_DATABASE_URL: throughput of each
// store's request-path operations beside the raw driver, then a million users. It prints a
// `scale:` line per cell and a summary, and writes every figure as JSON for cmd/plots.
//
//	go run ./cmd/scale -out results/scale.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/authframe/authframe/bench/scale"
)

func main() {
	sizes := flag.String("sizes", "10000,100000,1000000", "dataset sizes, comma-separated")
	cellsSize := flag.Int("cells-size", 100_000, "the size whose dataset the throughput cells run on (0: none)")
	callers := flag.String("callers", "1,8,64,256", "concurrencies of the throughput cells")
	slice := flag.Duration("slice", 100*time.Millisecond, "length of one slice of the interleaved comparison")
	rounds := flag.Int("rounds", 10, "slices per side of each cell")
	workers := flag.Int("workload-callers", runtime.GOMAXPROCS(0), "callers of the verification workload (default: one per processor)")
	redisPool := flag.Int("redis-pool", 0, "go-redis pool size (0: its default, ten per CPU)")
	pgConns := flag.Int("pg-conns", 16, "pgx pool size (0: its default, four or one per CPU)")
	out := flag.String("out", "results/scale.json", "where to write the figures (empty: nowhere)")
	flag.Parse()

	cfg := scale.Config{
		RedisURL:      env("AUTHFRAME_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
		DatabaseURL:   env("AUTHFRAME_TEST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"),
		CellsSize:     *cellsSize,
		Cells:         scale.CellConfig{Rounds: *rounds, Slice: *slice},
		Workload:      scale.WorkloadConfig{Callers: *workers, Warm: 100_000, Calls: 100_000, ZipfS: 1.1, Seed: 17},
		CacheSize:     100_000,
		RedisPool:     *redisPool,
		PostgresConns: int32(*pgConns),
		Out:           os.Stdout,
		Log:           os.Stderr,
	}
	var err error
	if cfg.Sizes, err = ints(*sizes); err != nil {
		fail(err)
	}
	if cfg.Cells.Callers, err = ints(*callers); err != nil {
		fail(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := scale.Run(ctx, cfg)
	if res != nil {
		for _, l := range scale.Summary(res) {
			fmt.Println(l)
		}
		// A run that failed half way keeps the last complete run's figures.
		if *out != "" && err == nil {
			b, jerr := json.MarshalIndent(res, "", "  ")
			if jerr == nil {
				jerr = os.MkdirAll(filepath.Dir(*out), 0o755)
			}
			if jerr == nil {
				jerr = os.WriteFile(*out, append(b, '\n'), 0o644)
			}
			if jerr != nil {
				fmt.Fprintln(os.Stderr, "scale: writing the figures:", jerr)
			}
		}
	}
	if err != nil {
		fail(err)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func ints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q: want positive integers separated by commas", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "scale:", err)
	os.Exit(1)
}
