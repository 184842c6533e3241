package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/store"
)

// apiKeyView is an API key as the command shows it; Key only in the answer of create, once.
type apiKeyView struct {
	ID          string     `json:"id"`
	Key         string     `json:"key,omitempty"`
	UserID      string     `json:"user_id"`
	Name        string     `json:"name"`
	Permissions []string   `json:"permissions"`
	CreatedAt   time.Time  `json:"created_at"`
	ExpiresAt   *time.Time `json:"expires_at"`
	LastUsedAt  *time.Time `json:"last_used_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func fmtOptTime(t *time.Time, zero string) string {
	if t == nil {
		return zero
	}
	return t.Format(time.RFC3339)
}

func viewAPIKey(k store.APIKey) apiKeyView {
	return apiKeyView{ID: k.ID, UserID: k.UserID, Name: k.Name, Permissions: k.Permissions, CreatedAt: k.CreatedAt.UTC(),
		ExpiresAt: optTime(k.ExpiresAt), LastUsedAt: optTime(k.LastUsedAt)}
}

func apiKeyStore(st Source) (store.APIKeyStore, error) {
	ks, ok := st.(store.APIKeyStore)
	if !ok {
		return nil, errors.New("this store keeps no API keys")
	}
	return ks, nil
}

func newAPIKeysCmd(a *app) *cobra.Command {
	c := group("apikeys", "Create, list and revoke users' API keys")
	c.AddCommand(newAPIKeysCreate(a), newAPIKeysList(a), newAPIKeysRevoke(a))
	return c
}

func newAPIKeysCreate(a *app) *cobra.Command {
	var name string
	var perms []string
	var expiresIn time.Duration
	c := &cobra.Command{
		Use:   "create USER --name NAME --permission PERM... [--expires-in DURATION]",
		Short: "Create an API key for a user; the key is printed once",
		Long: `Create an API key for a user (a username or an id). The key carries the permissions
given; the apps' role map is not in the store, so check that the user's roles grant them.`,
		Args: exactArgs(1, "USER (a username or an id)"),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			if err := checkName(name); err != nil {
				return err
			}
			if err := checkPermissions("--permission", perms); err != nil {
				return err
			}
			if expiresIn < 0 {
				return usageErr("--expires-in %s: must be positive (or 0: never)", expiresIn)
			}
			ctx := cmd.Context()
			st, closeStore, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer closeStore()
			ks, err := apiKeyStore(st)
			if err != nil {
				return err
			}
			u, err := findUser(ctx, st, args[0])
			if err != nil {
				return err
			}
			key, hash := credential.NewAPIKey()
			now := time.Now()
			k := store.APIKey{ID: credential.NewID("key_"), UserID: u.ID, Username: u.Username, Name: name, Permissions: perms, Hash: hash, CreatedAt: now}
			if expiresIn > 0 {
				k.ExpiresAt = now.Add(expiresIn)
			}
			if err := ks.CreateAPIKey(ctx, k); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return conflictErr("API key id %s is taken: run the command again", k.ID)
				}
				return err
			}
			v := viewAPIKey(k)
			v.Key = key
			return a.emit(v, func(w io.Writer) {
				fmt.Fprintf(w, "id:          %s\nkey:         %s\nuser:        %s\nname:        %s\npermissions: %s\nexpires:     %s\n",
					v.ID, v.Key, u.Username, v.Name, strings.Join(v.Permissions, " "), fmtOptTime(v.ExpiresAt, "never"))
				fmt.Fprintln(a.err, "The key is shown this once: store it now.")
			})
		}),
	}
	c.Flags().StringVar(&name, "name", "", "the key's name (1 to 64 printable characters)")
	c.Flags().StringSliceVar(&perms, "permission", nil, "a permission (action:resource) of the key (repeat, or separate with commas)")
	c.Flags().DurationVar(&expiresIn, "expires-in", 0, "the key's lifetime, e.g. 2160h (0: it never expires)")
	return c
}

func newAPIKeysList(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list USER",
		Short: "List a user's live API keys, oldest first (never a key)",
		Args:  exactArgs(1, "USER (a username or an id)"),
		RunE: a.withStore(func(ctx context.Context, st Source, args []string) error {
			ks, err := apiKeyStore(st)
			if err != nil {
				return err
			}
			u, err := findUser(ctx, st, args[0])
			if err != nil {
				return err
			}
			keys, err := ks.ListAPIKeys(ctx, u.ID)
			if err != nil {
				return err
			}
			out := make([]apiKeyView, 0, len(keys))
			for _, k := range keys {
				out = append(out, viewAPIKey(k))
			}
			return a.emit(map[string]any{"keys": out}, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tNAME\tPERMISSIONS\tCREATED\tEXPIRES\tLAST USED")
				for _, v := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Name, strings.Join(v.Permissions, " "), v.CreatedAt.Format(time.RFC3339),
						fmtOptTime(v.ExpiresAt, "never"), fmtOptTime(v.LastUsedAt, "never"))
				}
				tw.Flush()
			})
		}),
	}
}

func newAPIKeysRevoke(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke USER KEY_ID",
		Short: "Delete a user's API key: every instance refuses it within a second",
		Args:  exactArgs(2, "USER (a username or an id) and KEY_ID"),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			l, err := readLifetimes()
			if err != nil {
				return err
			}
			st, closeStore, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer closeStore()
			ks, err := apiKeyStore(st)
			if err != nil {
				return err
			}
			u, err := findUser(ctx, st, args[0])
			if err != nil {
				return err
			}
			keys, err := ks.ListAPIKeys(ctx, u.ID)
			if err != nil {
				return err
			}
			var k *store.APIKey
			for i := range keys {
				if keys[i].ID == args[1] {
					k = &keys[i]
				}
			}
			if k == nil {
				return notFoundErr("user %s has no live API key %q", u.Username, args[1])
			}
			if err := a.confirm(fmt.Sprintf("Revoke API key %s (%s) of %s?", k.ID, k.Name, u.Username)); err != nil {
				return err
			}
			if err := revokeCredential(ctx, st, store.RevokeAPIKey, k.ID, l); err != nil {
				return err
			}
			if _, err := ks.DeleteAPIKey(ctx, u.ID, k.ID); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "revoked API key %s\n", k.ID)
			return nil
		}),
	}
}
