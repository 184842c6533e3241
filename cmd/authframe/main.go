// Command authframe administers an authframe deployment: it talks to the same Redis or
// PostgreSQL store as the apps and manages users, sessions, service clients and API keys,
// copies one store into another, checks a deployment, and writes signing keys. See the
// README for every command, or run authframe help.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	// The first SIGINT or SIGTERM cancels the context: long work stops at the next batch
	// boundary and says how to resume. A second one kills the process as usual.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	a := newApp(os.Stdin, os.Stdout, os.Stderr)
	err := execute(ctx, a, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "authframe:", err)
	}
	os.Exit(exitCode(err, a.ran))
}

// execute runs the command line args with a's streams.
func execute(ctx context.Context, a *app, args []string) error {
	root := newRoot(a)
	root.SetArgs(args)
	root.SetIn(a.in)
	root.SetOut(a.out)
	root.SetErr(a.err)
	return root.ExecuteContext(ctx)
}

// run executes args with an empty stdin (not a terminal).
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return execute(ctx, newApp(strings.NewReader(""), stdout, stderr), args)
}
