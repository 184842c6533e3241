package adaptertest

import (
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ReadmeProgram holds a README to its promise of a complete program: the first ```go block
// of the Markdown file at path must be gofmt-formatted, count at most maxLines non-blank
// lines beyond its imports and the Guard's construction (key loading; 0 skips the count),
// and pass go vet when written into a directory inside the current module, where go.mod
// (and go.work) resolve its imports as a user's program would resolve them.
func ReadmeProgram(t *testing.T, path string, maxLines int) {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH, so the README's program cannot be compiled")
	}
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	src, ok := firstGoBlock(string(md))
	if !ok {
		t.Fatalf("%s has no ```go block", path)
	}
	if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
		t.Fatalf("%s: the program is not gofmt-formatted (%v):\n%s", path, err, formatted)
	}
	if maxLines > 0 {
		if n := programLines(src); n > maxLines {
			t.Fatalf("%s: the program is %d lines beyond imports and key loading, want at most %d", path, n, maxLines)
		}
	}
	dir, err := os.MkdirTemp(".", "readme-program-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(goCmd, "vet", "./"+filepath.Base(dir)).CombinedOutput(); err != nil {
		t.Fatalf("go vet of %s's program: %v\n%s", path, err, out)
	}
}

// firstGoBlock returns the body of the first fenced block opened by a line "```go".
func firstGoBlock(md string) (string, bool) {
	var b strings.Builder
	in := false
	for line := range strings.Lines(md) {
		switch {
		case !in && strings.TrimRight(line, "\r\n") == "```go":
			in = true
		case in && strings.TrimRight(line, "\r\n") == "```":
			return b.String(), true
		case in:
			b.WriteString(line)
		}
	}
	return "", false
}

// programLines counts the non-blank lines after the import block, leaving out the Guard's
// construction from "authframe.New(" through "defer guard.Close()".
func programLines(src string) int {
	_, body, ok := strings.Cut(src, "\n)\n")
	if !ok {
		body = src
	}
	n, loading := 0, false
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "authframe.New("):
			loading = true
		case loading:
			loading = line != "defer guard.Close()"
		case line != "":
			n++
		}
	}
	return n
}
