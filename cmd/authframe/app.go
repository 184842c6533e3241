package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// Exit codes, documented in the README and in the root command's help.
const (
	exitOK          = 0
	exitFailure     = 1   // the command failed: a store error, a check that did not pass
	exitUsage       = 2   // a bad flag, argument or environment variable
	exitNotFound    = 3   // the user, session, client or key named does not exist
	exitRefused     = 4   // a destructive command was not confirmed
	exitConflict    = 5   // the username or id is taken, or a copy differs from its source
	exitInterrupted = 130 // SIGINT or SIGTERM: the work done so far is kept (see --checkpoint)
)

// exitError carries the exit code of a failure.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func withCode(code int, format string, args ...any) error {
	return &exitError{code: code, err: fmt.Errorf(format, args...)}
}

func usageErr(format string, args ...any) error    { return withCode(exitUsage, format, args...) }
func notFoundErr(format string, args ...any) error { return withCode(exitNotFound, format, args...) }
func conflictErr(format string, args ...any) error { return withCode(exitConflict, format, args...) }

// exitCode maps an error returned by a command to the process's exit code. ran says
// whether the command's own code ran: an error before it (flag parsing, arguments, an
// unknown command) is a usage error.
func exitCode(err error, ran bool) int {
	if err == nil {
		return exitOK
	}
	if e, ok := errors.AsType[*exitError](err); ok {
		return e.code
	}
	if errors.Is(err, context.Canceled) {
		return exitInterrupted
	}
	if !ran {
		return exitUsage
	}
	return exitFailure
}

// app holds what every command shares: its streams, the global flags and how to reach a
// terminal. Tests build one with buffers and their own terminal functions.
type app struct {
	in       io.Reader
	out, err io.Writer

	// interactive reports whether stdin is a terminal a person answers at.
	interactive func() bool
	// errTerminal reports whether stderr is a terminal, where progress is drawn as a bar.
	errTerminal func() bool
	// readSecret reads a line from the terminal with echo off.
	readSecret func() (string, error)

	storeURL, prefix string
	output           string
	yes              bool

	lines *bufio.Reader // stdin, buffered once for every read
	ran   bool          // a command's RunE started
}

// newApp returns an app over the process's streams.
func newApp(in io.Reader, out, errw io.Writer) *app {
	a := &app{in: in, out: out, err: errw}
	a.interactive = func() bool { return isTerminal(in) }
	a.errTerminal = func() bool { return isTerminal(errw) }
	a.readSecret = func() (string, error) {
		f, ok := in.(*os.File)
		if !ok {
			return "", errors.New("stdin is not a terminal")
		}
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.err)
		return string(b), err
	}
	return a
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// stdin returns stdin buffered, the same reader for every read of one run.
func (a *app) stdin() *bufio.Reader {
	if a.lines == nil {
		a.lines = bufio.NewReader(a.in)
	}
	return a.lines
}

// run wraps a command's body: it marks that the command ran, so that its errors are not
// taken for usage errors.
func (a *app) run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		a.ran = true
		return fn(cmd, args)
	}
}

// json reports whether --output json was asked for.
func (a *app) json() bool { return a.output == "json" }

// emit writes v as one JSON document (--output json) or calls text to write it for people.
func (a *app) emit(v any, text func(w io.Writer)) error {
	if a.json() {
		enc := json.NewEncoder(a.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(a.out)
	return nil
}

// confirm asks before a destructive step. --yes skips the question; without it, a stdin
// that is not a terminal is refused rather than read as an answer, so that a script never
// destroys anything it did not say --yes to.
func (a *app) confirm(question string) error {
	if a.yes {
		return nil
	}
	if !a.interactive() {
		return withCode(exitRefused, "%s: refused: stdin is not a terminal, pass --yes to confirm", question)
	}
	fmt.Fprintf(a.err, "%s [y/N] ", question)
	line, err := a.stdin().ReadString('\n')
	if err != nil && line == "" {
		return withCode(exitRefused, "%s: not confirmed", question)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return withCode(exitRefused, "%s: not confirmed", question)
}

// password reads a new password: twice with echo off on a terminal, else one line of
// stdin. It is never taken from an argument, where it would reach the shell's history and
// the process list.
func (a *app) password(prompt string) (string, error) {
	if a.interactive() {
		fmt.Fprintf(a.err, "%s: ", prompt)
		p, err := a.readSecret()
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(a.err, "Repeat it: ")
		again, err := a.readSecret()
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if p != again {
			return "", usageErr("the two passwords differ")
		}
		return p, nil
	}
	line, err := a.stdin().ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usageErr("no password on stdin (write it as the first line, e.g. from a secret manager)")
	}
	return line, nil
}

// withStore is a command body that works on the store: it opens it, runs fn with the
// command's context and arguments, and closes it.
func (a *app) withStore(fn func(ctx context.Context, st Source, args []string) error) func(*cobra.Command, []string) error {
	return a.run(func(cmd *cobra.Command, args []string) error {
		ctx := cmd.Context()
		st, closeStore, err := a.open(ctx)
		if err != nil {
			return err
		}
		defer closeStore()
		return fn(ctx, st, args)
	})
}
