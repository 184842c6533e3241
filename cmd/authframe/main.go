// Command authframe administers authframe. keygen writes a fresh signing key:
//
//	authframe keygen > signing.pem                 # Ed25519 (EdDSA)
//	authframe keygen --alg ES256 --out signing.pem # written with mode 0600
//
// migrate copies users, live sessions with their refresh-token families, and recent
// revocations from one store to another in batches, keeping every deadline:
//
//	authframe migrate --from redis://127.0.0.1:6379/0 --to 'postgres://postgres@127.0.0.1/app' --dry-run
//	authframe migrate --from redis://127.0.0.1:6379/0 --to 'postgres://postgres@127.0.0.1/app' --verify
//
// keys lists, generates and rotates the signing-key ring that keys.WithRotation keeps in a
// store:
//
//	authframe keys list --store redis://127.0.0.1:6379/0
//	authframe keys generate --store redis://127.0.0.1:6379/0 --kek-file kek.bin
//	authframe keys rotate --store redis://127.0.0.1:6379/0 --kek-file kek.bin
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/authframe/authframe/core/keys"
	pgstore "github.com/authframe/authframe/stores/postgres"
	redisstore "github.com/authframe/authframe/stores/redis"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "authframe:", err)
		os.Exit(1)
	}
}

const usage = `usage:
  authframe keygen [--alg EdDSA|ES256|ES384|RS256] [--out FILE]
  authframe keys list|generate|rotate --store URL [--kek-file FILE] ...
  authframe migrate --from URL --to URL [--from-prefix P] [--to-prefix P] [--batch N] [--dry-run] [--verify]`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "keygen" {
		return keygen(args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "keys" {
		return keysCommand(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "migrate" {
		return errors.New(usage)
	}
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	from := fs.String("from", "", "source store: redis://… or postgres://…")
	to := fs.String("to", "", "destination store: redis://… or postgres://…")
	fromPrefix := fs.String("from-prefix", "", "source key prefix (Redis) or table prefix (PostgreSQL); default the store's")
	toPrefix := fs.String("to-prefix", "", "destination key or table prefix")
	batch := fs.Int("batch", 500, "records per page")
	dry := fs.Bool("dry-run", false, "read and count, write nothing")
	verify := fs.Bool("verify", false, "read every copied record back and compare")
	window := fs.Duration("revocations", 24*time.Hour, "copy revocations made within this window")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *from == "" || *to == "" {
		return errors.New("migrate: --from and --to are required")
	}
	src, closeSrc, err := openStore(ctx, *from, *fromPrefix)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	defer closeSrc()
	dst, closeDst, err := openStore(ctx, *to, *toPrefix)
	if err != nil {
		return fmt.Errorf("--to: %w", err)
	}
	defer closeDst()
	rep, err := Migrate(ctx, src, dst, Options{Batch: *batch, DryRun: *dry, Verify: *verify, RevocationWindow: *window, Log: stderr})
	if err != nil {
		return err
	}
	mode := "copied"
	if *dry {
		mode = "dry run, would copy"
	}
	fmt.Fprintf(stdout, "%s: %s\n", mode, rep)
	return nil
}

// openStore opens a Redis or PostgreSQL store from a URL.
func openStore(ctx context.Context, url, prefix string) (Source, func(), error) {
	switch {
	case strings.HasPrefix(url, "redis://"), strings.HasPrefix(url, "rediss://"):
		opt, err := redis.ParseURL(url)
		if err != nil {
			return nil, nil, err
		}
		c := redis.NewClient(opt)
		if err := c.Ping(ctx).Err(); err != nil {
			c.Close()
			return nil, nil, err
		}
		var opts []redisstore.Option
		if prefix != "" {
			opts = append(opts, redisstore.WithPrefix(prefix))
		}
		s, err := redisstore.New(ctx, c, opts...)
		if err != nil {
			c.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); c.Close() }, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		pool, err := pgxpool.New(ctx, url)
		if err != nil {
			return nil, nil, err
		}
		if err := pool.Ping(ctx); err != nil {
			pool.Close()
			return nil, nil, err
		}
		var opts []pgstore.Option
		if prefix != "" {
			opts = append(opts, pgstore.WithTablePrefix(prefix))
		}
		s, err := pgstore.New(ctx, pool, opts...)
		if err != nil {
			pool.Close()
			return nil, nil, err
		}
		return s, func() { s.Close(); pool.Close() }, nil
	}
	return nil, nil, fmt.Errorf("unsupported store URL (want redis:// or postgres://)")
}

// keygen writes a fresh private key in PKCS#8 PEM to stdout or, with --out, to a new file
// only its owner can read.
func keygen(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	alg := fs.String("alg", "EdDSA", "EdDSA (Ed25519), ES256, ES384 or RS256")
	out := fs.String("out", "", "write to this file (mode 0600; an existing file is not replaced) instead of stdout")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keygen: unexpected argument %q", fs.Arg(0))
	}
	pem, err := keys.GeneratePEM(*alg)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if *out == "" {
		_, err = stdout.Write(pem)
		return err
	}
	f, err := os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if _, err := f.Write(pem); err != nil {
		f.Close()
		return fmt.Errorf("keygen: %w", err)
	}
	return f.Close()
}
