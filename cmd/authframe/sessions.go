package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	authframe "github.com/authframe/authframe/core"
	"github.com/authframe/authframe/core/store"
)

// sessionView is a session as the command shows it: its public handle (the sid), never a
// secret.
type sessionView struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	Kind       string    `json:"kind"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
}

func viewSession(s store.Session) sessionView {
	return sessionView{ID: s.ID, UserID: s.UserID, Kind: s.Kind, CreatedAt: s.CreatedAt.UTC(), LastSeenAt: s.LastSeenAt.UTC(),
		ExpiresAt: s.Deadline().UTC(), UserAgent: s.UserAgent, IP: s.IP}
}

func newSessionsCmd(a *app) *cobra.Command {
	c := group("sessions", "List and revoke users' sessions (browser sessions and token families)")
	c.AddCommand(newSessionsList(a), newSessionsRevoke(a))
	return c
}

func newSessionsList(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "list USER",
		Short: "List a user's live sessions, oldest first",
		Args:  exactArgs(1, "USER (a username or an id)"),
		RunE: a.withStore(func(ctx context.Context, st Source, args []string) error {
			u, err := findUser(ctx, st, args[0])
			if err != nil {
				return err
			}
			ss, err := st.ListSessions(ctx, u.ID)
			if err != nil {
				return err
			}
			out := make([]sessionView, 0, len(ss))
			for _, s := range ss {
				out = append(out, viewSession(s))
			}
			return a.emit(map[string]any{"sessions": out}, func(w io.Writer) {
				tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tKIND\tCREATED\tLAST SEEN\tEXPIRES\tIP\tUSER AGENT")
				for _, v := range out {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Kind, v.CreatedAt.Format(time.RFC3339),
						v.LastSeenAt.Format(time.RFC3339), v.ExpiresAt.Format(time.RFC3339), v.IP, v.UserAgent)
				}
				tw.Flush()
			})
		}),
	}
}

func newSessionsRevoke(a *app) *cobra.Command {
	var all bool
	c := &cobra.Command{
		Use:   "revoke SESSION_ID | revoke --all USER...",
		Short: "Revoke one session, or with --all every token and session of one or more users",
		Long: `Revoke one session by its id (as sessions list shows it): the session, its refresh
family and every access token issued under it stop working on every instance within a
second. With --all, the arguments are users (usernames or ids): every token issued to them
until now and every session of theirs are revoked. Interrupted, --all can be run again: what
is left is listed again and the revocation is written anew.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if all && len(args) == 0 {
				return usageErr("%s --all: want one or more users", cmd.CommandPath())
			}
			if !all && len(args) != 1 {
				return usageErr("%s: want one SESSION_ID (or --all USER...)", cmd.CommandPath())
			}
			return nil
		},
		RunE: a.run(func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			return a.withStoreAndGuard(ctx, func(st Source, g *authframe.Guard, l lifetimes) error {
				if !all {
					s, ok, err := st.GetSession(ctx, args[0])
					if err != nil {
						return err
					}
					if !ok {
						return notFoundErr("no live session %q", args[0])
					}
					if err := a.confirm(fmt.Sprintf("Revoke session %s of user %s?", s.ID, s.Username)); err != nil {
						return err
					}
					// The Guard revokes it as its owner would (RevokeSession): the session and its
					// family are deleted and a revocation reaches every instance.
					owner := &authframe.Principal{UserID: s.UserID, Username: s.Username, Local: true}
					if err := g.RevokeSession(ctx, owner, s.ID); err != nil {
						return coreErr(err)
					}
					fmt.Fprintf(a.out, "revoked session %s\n", s.ID)
					return nil
				}
				users := make([]store.User, 0, len(args))
				for _, ref := range args {
					u, err := findUser(ctx, st, ref)
					if err != nil {
						return err
					}
					users = append(users, u)
				}
				q := fmt.Sprintf("Revoke every token and session of %s?", users[0].Username)
				if len(users) > 1 {
					q = fmt.Sprintf("Revoke every token and session of %d users?", len(users))
				}
				if err := a.confirm(q); err != nil {
					return err
				}
				var bar progress = nopProgress{}
				if len(users) > 1 {
					bar = a.progress("users", int64(len(users)))
				}
				defer bar.Done()
				total := 0
				for _, u := range users {
					n, err := revokeUser(ctx, st, u.ID, l, func(total int) progress { return a.progressIfMany("sessions of "+u.Username, total) })
					total += n
					if err != nil {
						return fmt.Errorf("user %s: %w (%d session(s) ended so far; run the command again to finish)", u.Username, err, total)
					}
					bar.Add(1)
				}
				fmt.Fprintf(a.out, "revoked every token of %d user(s); %d session(s) ended\n", len(users), total)
				return nil
			})
		}),
	}
	c.Flags().BoolVar(&all, "all", false, "revoke every token and session of the users named")
	return c
}
