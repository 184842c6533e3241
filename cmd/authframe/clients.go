package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/authframe/authframe/core/credential"
	"github.com/authframe/authframe/core/store"
)

// checkName applies the contract's rule for client and key names: 1 to 64 printable
// characters.
func checkName(name string) error {
	n := 0
	for _, r := range name {
		n++
		if !unicode.IsPrint(r) {
			return usageErr("--name %q: only printable characters", name)
		}
	}
	if n < 1 || n > 64 {
		return usageErr("--name: 1 to 64 characters, got %d", n)
	}
	return nil
}

// checkPermissions applies the contract's rule for client scopes and key permissions: 1
// to 32, each action:resource ("*" wildcards allowed, as core's role permissions).
func checkPermissions(flag string, perms []string) error {
	if len(perms) < 1 || len(perms) > 32 {
		return usageErr("%s: 1 to 32 permissions, got %d", flag, len(perms))
	}
	for _, p := range perms {
		if p == "*" {
			continue
		}
		act, res, ok := strings.Cut(p, ":")
		if !ok || act == "" || res == "" || strings.Contains(res, ":") || strings.ContainsFunc(p, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) {
			return usageErr("%s %q: want action:resource (\"*\" allowed in either part)", flag, p)
		}
	}
	return nil
}

// clientView is a service client as the command shows it; Secret only in the answer of
// create, once.
type clientView struct {
	ID        string    `json:"client_id"`
	Secret    string    `json:"client_secret,omitempty"`
	Name      string    `json:"name"`
	Scopes    []string  `json:"scopes"`
	CreatedAt time.Time `json:"created_at"`
	Disabled  bool      `json:"disabled"`
}

func viewClient(c store.Client) clientView {
	return clientView{ID: c.ID, Name: c.Name, Scopes: c.Scopes, CreatedAt: c.CreatedAt.UTC(), Disabled: c.Disabled}
}

func clientStore(st Source) (store.ClientStore, error) {
	cs, ok := st.(store.ClientStore)
	if !ok {
		return nil, errors.New("this store keeps no service clients")
	}
	return cs, nil
}

func newClientsCmd(a *app) *cobra.Command {
	c := group("clients", "Create, list and revoke service clients (OAuth 2.0 client credentials)")
	c.AddCommand(newClientsCreate(a), newClientsList(a), newClientsRevoke(a))
	return c
}

func newClientsCreate(a *app) *cobra.Command {
	var name string
	var scopes []string
	c := &cobra.Command{
		Use:   "create --name NAME --scope SCOPE...",
		Short: "Create a service client; its secret is printed once",
		Args:  noArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			if err := checkName(name); err != nil {
				return err
			}
			if err := checkPermissions("--scope", scopes); err != nil {
				return err
			}
			ctx := cmd.Context()
			st, closeStore, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer closeStore()
			cs, err := clientStore(st)
			if err != nil {
				return err
			}
			secret, hash := credential.NewClientSecret()
			cl := store.Client{ID: credential.NewID("cl_"), Name: name, Scopes: scopes, SecretHash: hash, CreatedAt: time.Now()}
			if err := cs.CreateClient(ctx, cl); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return conflictErr("client id %s is taken: run the command again", cl.ID)
				}
				return err
			}
			v := viewClient(cl)
			v.Secret = secret
			return a.emit(v, func(w io.Writer) {
				fmt.Fprintf(w, "client_id:     %s\nclient_secret: %s\nname:          %s\nscopes:        %s\n", v.ID, v.Secret, v.Name, strings.Join(v.Scopes, " "))
				fmt.Fprintln(a.err, "The secret is shown this once: store it now.")
			})
		}),
	}
	c.Flags().StringVar(&name, "name", "", "the client's name (1 to 64 printable characters)")
	c.Flags().StringSliceVar(&scopes, "scope", nil, "a scope (a permission, action:resource) the client may ask for (repeat, or separate with commas)")
	return c
}

func newClientsList(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List service clients, oldest first (never a secret)",
		Args:  noArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, closeStore, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer closeStore()
			cs, err := clientStore(st)
			if err != nil {
				return err
			}
			list, err := cs.ListClients(ctx)
			if err != nil {
				return err
			}
			out := make([]clientView, 0, len(list))
			for _, c := range list {
				out = append(out, viewClient(c))
			}
			return a.emit(map[string]any{"clients": out}, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "CLIENT ID\tNAME\tSCOPES\tCREATED\tDISABLED")
				for _, v := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\n", v.ID, v.Name, strings.Join(v.Scopes, " "), v.CreatedAt.Format(time.RFC3339), v.Disabled)
				}
				tw.Flush()
			})
		}),
	}
}

// revokeCredential writes the revocation of a client or an API key, for the instances that
// cached a token or a key of it: kept as long as anything it covers can live.
func revokeCredential(ctx context.Context, st store.Store, kind store.RevocationKind, id string, l lifetimes) error {
	now := time.Now()
	return st.AddRevocation(ctx, store.Revocation{Kind: kind, Key: id, At: now, ExpiresAt: now.Add(l.longest())})
}

func newClientsRevoke(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "revoke CLIENT_ID",
		Short: "Delete a service client: its secret and every token issued to it stop working",
		Args:  exactArgs(1, "CLIENT_ID"),
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
			cs, err := clientStore(st)
			if err != nil {
				return err
			}
			cl, ok, err := cs.GetClient(ctx, args[0])
			if err != nil {
				return err
			}
			if !ok {
				return notFoundErr("no client %q", args[0])
			}
			if err := a.confirm(fmt.Sprintf("Revoke client %s (%s) and every token issued to it?", cl.ID, cl.Name)); err != nil {
				return err
			}
			// The revocation first: should the delete fail, the tokens are refused already and
			// a second run finishes the job.
			if err := revokeCredential(ctx, st, store.RevokeClient, cl.ID, l); err != nil {
				return err
			}
			if _, err := cs.DeleteClient(ctx, cl.ID); err != nil {
				return err
			}
			fmt.Fprintf(a.out, "revoked client %s\n", cl.ID)
			return nil
		}),
	}
}
