package main

import (
	"strings"

	"github.com/spf13/cobra"
)

const rootLong = `authframe administers an authframe deployment.

It talks to the store the apps use, named by a URL (--store, or the environment variable
AUTHFRAME_STORE_URL): redis://… or rediss://… for Redis, postgres://… or postgresql://…
for PostgreSQL, with --prefix for the key prefix (Redis) or table prefix (PostgreSQL) when
the apps use one. Token and session lifetimes are read from the same variables as the apps
(AUTHFRAME_ACCESS_TTL, AUTHFRAME_REFRESH_TTL, AUTHFRAME_SESSION_ABSOLUTE).

Ids never begin with "-"; one made by an earlier release might, and goes after "--"
(authframe users show -- -x1y2) so that it is not read as a flag.

Exit codes:
  0    success
  1    failure (the store failed, a check did not pass)
  2    usage: a bad flag, argument or environment variable
  3    not found: the user, session, client or key named does not exist
  4    refused: a destructive command was not confirmed (answer y, or pass --yes)
  5    conflict: the username or id is taken, or a copy differs from its source
  130  interrupted (SIGINT, SIGTERM): the work done so far is kept; rerun to resume`

// newRoot builds the command tree over a.
func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:           "authframe",
		Short:         "Administer an authframe deployment",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if a.output != "text" && a.output != "json" {
				return usageErr("--output %q: want text or json", a.output)
			}
			return nil
		},
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		if strings.HasPrefix(err.Error(), "unknown shorthand flag") || strings.HasPrefix(err.Error(), "unknown flag") {
			return usageErr("%w (an argument that begins with \"-\", such as an id, goes after \"--\": authframe users show -- -x1y2)", err)
		}
		return usageErr("%w", err)
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.storeURL, "store", "", "store URL: redis://… or postgres://… (default $AUTHFRAME_STORE_URL)")
	pf.StringVar(&a.prefix, "prefix", "", "key prefix (Redis) or table prefix (PostgreSQL); default the store's")
	pf.StringVarP(&a.output, "output", "o", "text", "output format of listings, shows and creations: text or json")
	pf.BoolVarP(&a.yes, "yes", "y", false, "confirm destructive commands without asking (required when stdin is not a terminal)")

	root.AddCommand(
		newUsersCmd(a),
		newSessionsCmd(a),
		newClientsCmd(a),
		newAPIKeysCmd(a),
		newMigrateCmd(a),
		newDoctorCmd(a),
		newKeygenCmd(a),
		newSigningKeysCmd(a),
	)
	return root
}

// exactArgs is cobra.ExactArgs with a usage error naming what is expected.
func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr("%s: want %s, got %d argument(s)", cmd.CommandPath(), what, len(args))
		}
		return nil
	}
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("%s: unexpected argument %q", cmd.CommandPath(), args[0])
	}
	return nil
}

// group returns a command that holds subcommands: alone it shows its help, and an
// unknown subcommand is a usage error rather than the help with success.
func group(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return cmd.Help()
		},
	}
}
