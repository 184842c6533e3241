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

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/memstore"
	"github.com/authframe/authframe/core/store"
)

// userView is a user as the command shows it: never its password hash.
type userView struct {
	ID        string    `json:"id"`
	Username  string    `json:"username"`
	Roles     []string  `json:"roles"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

func viewUser(u store.User) userView {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return userView{ID: u.ID, Username: u.Username, Roles: roles, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

func (v userView) text(w io.Writer) {
	fmt.Fprintf(w, "id:       %s\nusername: %s\nroles:    %s\ndisabled: %t\ncreated:  %s\nupdated:  %s\n",
		v.ID, v.Username, strings.Join(v.Roles, ","), v.Disabled, v.CreatedAt.Format(time.RFC3339), v.UpdatedAt.Format(time.RFC3339))
}

func newUsersCmd(a *app) *cobra.Command {
	c := group("users", "Create, list, show, disable and import users")
	c.AddCommand(newUsersCreate(a), newUsersList(a), newUsersShow(a), newUsersDisable(a, true), newUsersDisable(a, false),
		newUsersSetRoles(a), newUsersResetPassword(a), newUsersImport(a))
	return c
}

// withStoreAndGuard opens the store and a Guard over it for the length of fn.
func (a *app) withStoreAndGuard(ctx context.Context, fn func(st Source, g *authframe.Guard, l lifetimes) error) error {
	l, err := readLifetimes()
	if err != nil {
		return err
	}
	st, closeStore, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer closeStore()
	g, err := guard(st, l)
	if err != nil {
		return err
	}
	defer g.Close()
	return fn(st, g, l)
}

// coreErr maps the Guard's answers to exit codes: its input rules are usage errors.
func coreErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, authframe.ErrInvalidRequest):
		return usageErr("%w", err)
	case errors.Is(err, authframe.ErrConflict):
		return conflictErr("%w", err)
	case errors.Is(err, authframe.ErrNotFound):
		return notFoundErr("%w", err)
	}
	return err
}

func newUsersCreate(a *app) *cobra.Command {
	var roles []string
	c := &cobra.Command{
		Use:   "create USERNAME",
		Short: "Create a user; the password is read from the terminal (echo off) or from stdin",
		Long: `Create a user with an argon2id password hash, under the same rules as the apps'
registration: a username of 3 to 64 letters, digits and . _ @ -, a password of 8 to 256
bytes. The password is never an argument: it is read from the terminal with echo off
(twice), or as the first line of stdin when stdin is not a terminal.`,
		Args: exactArgs(1, "USERNAME"),
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			pw, err := a.password("Password for " + args[0])
			if err != nil {
				return err
			}
			return a.withStoreAndGuard(cmd.Context(), func(_ Source, g *authframe.Guard, _ lifetimes) error {
				u, err := g.Register(cmd.Context(), authframe.ClientInfo{}, args[0], pw, roles...)
				if err != nil {
					return coreErr(err)
				}
				v := viewUser(u)
				return a.emit(v, func(w io.Writer) { fmt.Fprintf(w, "created user %s (id %s)\n", v.Username, v.ID) })
			})
		}),
	}
	c.Flags().StringSliceVar(&roles, "role", nil, "a role of the user (repeat, or separate with commas)")
	return c
}

func newUsersList(a *app) *cobra.Command {
	var limit int
	c := &cobra.Command{
		Use:   "list",
		Short: "List users in id order",
		Args:  noArgs,
		RunE: a.run(func(cmd *cobra.Command, _ []string) error {
			if limit < 0 {
				return usageErr("--limit %d: must be 0 (no limit) or more", limit)
			}
			ctx := cmd.Context()
			st, closeStore, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer closeStore()
			var out []userView
			for cursor := ""; ; {
				page := 500
				if limit > 0 {
					page = min(page, limit-len(out))
				}
				users, next, err := st.ExportUsers(ctx, cursor, page)
				if err != nil {
					return err
				}
				for _, u := range users {
					out = append(out, viewUser(u))
				}
				if next == "" || (limit > 0 && len(out) >= limit) {
					break
				}
				cursor = next
			}
			if out == nil {
				out = []userView{}
			}
			return a.emit(map[string]any{"users": out}, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tUSERNAME\tROLES\tDISABLED\tCREATED")
				for _, v := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%t\t%s\n", v.ID, v.Username, strings.Join(v.Roles, ","), v.Disabled, v.CreatedAt.Format(time.RFC3339))
				}
				tw.Flush()
			})
		}),
	}
	c.Flags().IntVar(&limit, "limit", 0, "list at most this many users (0: all)")
	return c
}

func newUsersShow(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show USER",
		Short: "Show a user, named by username or id",
		Args:  exactArgs(1, "USER (a username or an id)"),
		RunE: a.withStore(func(ctx context.Context, st Source, args []string) error {
			u, err := findUser(ctx, st, args[0])
			if err != nil {
				return err
			}
			v := viewUser(u)
			return a.emit(v, v.text)
		}),
	}
}

// disableUser marks the user disabled and revokes everything they hold (see revokeUser).
// The flag goes first: from then on the user can neither log in nor refresh, so nothing new
// is issued after the revocation's cutoff.
func disableUser(ctx context.Context, st store.Store, u store.User, l lifetimes, pr func(int) progress) (int, error) {
	if !u.Disabled {
		u.Disabled = true
		u.UpdatedAt = time.Now()
		if err := st.UpdateUser(ctx, u); err != nil {
			return 0, err
		}
	}
	return revokeUser(ctx, st, u.ID, l, pr)
}

func newUsersDisable(a *app, disable bool) *cobra.Command {
	use, short := "enable USER", "Enable a disabled user: they can log in again"
	if disable {
		use, short = "disable USER", "Disable a user: refused at login and refresh, every token and session revoked"
	}
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  exactArgs(1, "USER (a username or an id)"),
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
			u, err := findUser(ctx, st, args[0])
			if err != nil {
				return err
			}
			if !disable {
				if u.Disabled {
					u.Disabled = false
					u.UpdatedAt = time.Now()
					if err := st.UpdateUser(ctx, u); err != nil {
						return err
					}
				}
				fmt.Fprintf(a.out, "enabled user %s\n", u.Username)
				return nil
			}
			if err := a.confirm(fmt.Sprintf("Disable user %s and revoke every token and session of theirs?", u.Username)); err != nil {
				return err
			}
			n, err := disableUser(ctx, st, u, l, func(total int) progress { return a.progressIfMany("sessions", total) })
			if err != nil {
				return err
			}
			fmt.Fprintf(a.out, "disabled user %s: tokens revoked, %d session(s) ended\n", u.Username, n)
			return nil
		}),
	}
}

// progressIfMany reports progress only for work long enough to need it.
func (a *app) progressIfMany(label string, total int) progress {
	if total < 1000 {
		return nopProgress{}
	}
	return a.progress(label, int64(total))
}

func newUsersSetRoles(a *app) *cobra.Command {
	var none bool
	c := &cobra.Command{
		Use:   "set-roles USER [ROLE...]",
		Short: "Replace a user's roles (--none to remove them all)",
		Long: `Replace a user's roles. Tokens already issued keep their roles until they expire;
run "authframe sessions revoke --all USER" to apply the change at once.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("%s: want USER and the new roles", cmd.CommandPath())
			}
			if none != (len(args) == 1) {
				return usageErr("%s: give the new roles, or --none (and no roles) to remove them all", cmd.CommandPath())
			}
			return nil
		},
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withStoreAndGuard(ctx, func(st Source, g *authframe.Guard, _ lifetimes) error {
				u, err := findUser(ctx, st, args[0])
				if err != nil {
					return err
				}
				if err := g.SetRoles(ctx, u.ID, args[1:]...); err != nil {
					return coreErr(err)
				}
				if u, err = findUser(ctx, st, u.ID); err != nil {
					return err
				}
				v := viewUser(u)
				return a.emit(v, func(w io.Writer) {
					fmt.Fprintf(w, "roles of %s: %s\n", v.Username, strings.Join(v.Roles, ","))
				})
			})
		}),
	}
	c.Flags().BoolVar(&none, "none", false, "remove every role")
	return c
}

// hashPassword hashes password exactly as core does at registration, with core's rules
// for it: through the Guard's Register, over a memory store that is thrown away.
func hashPassword(ctx context.Context, username, password string) (string, error) {
	ms := memstore.New()
	defer ms.Close()
	g, err := guard(ms, lifetimes{access: 15 * time.Minute, refresh: time.Hour, session: time.Hour})
	if err != nil {
		return "", err
	}
	defer g.Close()
	u, err := g.Register(ctx, authframe.ClientInfo{}, username, password)
	if err != nil {
		return "", coreErr(err)
	}
	return u.PasswordHash, nil
}

func newUsersResetPassword(a *app) *cobra.Command {
	var keep bool
	c := &cobra.Command{
		Use:   "reset-password USER",
		Short: "Set a new password; every session of the user ends unless --keep-sessions",
		Long: `Set a new password, read from the terminal (echo off, twice) or as the first line of
stdin, under core's rules (8 to 256 bytes). Every token and session of the user is revoked,
since whoever knew the old password may hold one, unless --keep-sessions.`,
		Args: exactArgs(1, "USER (a username or an id)"),
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
			u, err := findUser(ctx, st, args[0])
			if err != nil {
				return err
			}
			q := fmt.Sprintf("Replace the password of %s and revoke every token and session of theirs?", u.Username)
			if keep {
				q = fmt.Sprintf("Replace the password of %s?", u.Username)
			}
			if err := a.confirm(q); err != nil {
				return err
			}
			pw, err := a.password("New password for " + u.Username)
			if err != nil {
				return err
			}
			h, err := hashPassword(ctx, u.Username, pw)
			if err != nil {
				return err
			}
			u.PasswordHash, u.UpdatedAt = h, time.Now()
			if err := st.UpdateUser(ctx, u); err != nil {
				if errors.Is(err, store.ErrNotFound) {
					return notFoundErr("user %s was deleted meanwhile", u.Username)
				}
				return err
			}
			if keep {
				fmt.Fprintf(a.out, "password of %s replaced\n", u.Username)
				return nil
			}
			n, err := revokeUser(ctx, st, u.ID, l, nil)
			if err != nil {
				return fmt.Errorf("password replaced, but revoking the sessions failed (run sessions revoke --all): %w", err)
			}
			fmt.Fprintf(a.out, "password of %s replaced; tokens revoked, %d session(s) ended\n", u.Username, n)
			return nil
		}),
	}
	c.Flags().BoolVar(&keep, "keep-sessions", false, "keep the user's tokens and sessions working")
	return c
}
