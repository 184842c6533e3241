package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authframe/authframe/core/keys"
	"github.com/authframe/authframe/core/store"
)

const keysUsage = `usage:
  authframe keys list     --store URL [--prefix P]
  authframe keys generate --store URL --kek-file FILE [--alg EdDSA|ES256|ES384|RS256] [--propagation D] [--prefix P]
  authframe keys rotate   --store URL --kek-file FILE [--propagation D] [--token-lifetime D] [--prefix P]

list shows the signing-key ring kept in the store (no KEK needed: no key is opened).
generate adds a fresh key: the first key of an empty ring is active at once; otherwise the
  key is published as next and signs after the propagation interval (the instances running
  keys.WithRotation promote it then, or rotate does).
rotate makes the next key active now and the active one retiring, once the next key has
  been published for the propagation interval. Both remove retired keys whose last token
  has expired.
--kek-file holds the key-encryption key (at least 32 bytes, used as read), the one the
  instances are given. --propagation and --token-lifetime must be at least the instances'
  Rotation.Propagation and access-token lifetime plus leeway.`

// keysCommand runs "authframe keys": list, generate and rotate the signing-key ring that
// keys.WithRotation keeps in a store.
func keysCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New(keysUsage)
	}
	sub := args[0]
	fs := flag.NewFlagSet("keys "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("store", "", "the store: redis://… or postgres://…")
	prefix := fs.String("prefix", "", "key prefix (Redis) or table prefix (PostgreSQL); default the store's")
	kekFile := fs.String("kek-file", "", "file holding the key-encryption key (at least 32 bytes)")
	alg := fs.String("alg", "EdDSA", "algorithm of a generated key: EdDSA, ES256, ES384 or RS256")
	propagation := fs.Duration("propagation", 10*time.Minute, "how long a key is published before it signs")
	lifetime := fs.Duration("token-lifetime", 15*time.Minute+10*time.Second, "the longest lifetime of a token, leeway included")
	switch sub {
	case "list", "generate", "rotate":
	default:
		return fmt.Errorf("keys: unknown command %q\n%s", sub, keysUsage)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("keys %s: unexpected argument %q", sub, fs.Arg(0))
	}
	if *url == "" {
		return fmt.Errorf("keys %s: --store is required", sub)
	}
	st, closeStore, err := openStore(ctx, *url, *prefix)
	if err != nil {
		return fmt.Errorf("--store: %w", err)
	}
	defer closeStore()
	ks, ok := st.(store.KeyStore)
	if !ok {
		return fmt.Errorf("--store: %T does not keep signing keys", st)
	}
	if sub == "list" {
		ring, err := keys.List(ctx, ks)
		if err != nil {
			return err
		}
		return printRing(stdout, ring)
	}
	if *kekFile == "" {
		return fmt.Errorf("keys %s: --kek-file is required", sub)
	}
	kek, err := os.ReadFile(*kekFile)
	if err != nil {
		return fmt.Errorf("--kek-file: %w", err)
	}
	r := keys.Rotation{KEK: kek, Store: ks, Algorithm: *alg, Propagation: *propagation, TokenLifetime: *lifetime}
	var k keys.Info
	if sub == "generate" {
		k, err = keys.Generate(ctx, r)
	} else {
		k, err = keys.Promote(ctx, r)
	}
	if err != nil {
		return err
	}
	switch k.State {
	case keys.Next:
		fmt.Fprintf(stdout, "published %s (%s) as next: it signs from %s\n", k.ID, k.Algorithm, k.ActiveAt.Format(time.RFC3339))
	default:
		fmt.Fprintf(stdout, "%s (%s) is active: it signs from now\n", k.ID, k.Algorithm)
	}
	return nil
}

// printRing writes the ring as a table, oldest key first.
func printRing(w io.Writer, ring []keys.Info) error {
	if len(ring) == 0 {
		_, err := fmt.Fprintln(w, "the ring is empty")
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KID\tALG\tSTATE\tCREATED\tACTIVE FROM\tRETIRED\tREMOVED AFTER")
	at := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, k := range ring {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Algorithm, k.State, at(k.CreatedAt), at(k.ActiveAt), at(k.RetiredAt), at(k.ExpiresAt))
	}
	return tw.Flush()
}

// newSigningKeysCmd is `authframe signing-keys` (alias `keys`): the rotation ring's
// commands, which parse their own flags (--store, --kek-file, ...). --store defaults to
// $AUTHFRAME_STORE_URL as for the other commands.
func newSigningKeysCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:                "signing-keys list|generate|rotate --store URL [--kek-file FILE] [--alg A] [--propagation D] [--token-lifetime D]",
		Aliases:            []string{"keys"},
		Short:              "List, generate and rotate the signing-key ring that keys.WithRotation keeps in a store",
		Long:               keysUsage,
		DisableFlagParsing: true,
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			for _, arg := range args {
				if arg == "-h" || arg == "--help" {
					return cmd.Help()
				}
			}
			if url := os.Getenv("AUTHFRAME_STORE_URL"); url != "" && !slices.ContainsFunc(args, func(s string) bool { return s == "--store" || strings.HasPrefix(s, "--store=") }) && len(args) > 0 {
				args = append([]string{args[0], "--store", url}, args[1:]...)
			}
			if len(args) == 0 {
				return usageErr("%s", keysUsage)
			}
			return keysCommand(cmd.Context(), args, a.out, a.err)
		}),
	}
}
