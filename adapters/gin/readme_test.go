package authgin_test

import (
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeProgram compiles the README's program against this checkout, so that the page
// a new user copies from cannot drift from the API. The program is written into a
// directory inside the module, where go.mod (and go.work) resolve its imports.
func TestReadmeProgram(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH, so README.md's program cannot be compiled")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	src, ok := firstGoBlock(string(readme))
	if !ok {
		t.Fatal("README.md has no ```go block")
	}
	if formatted, err := format.Source([]byte(src)); err != nil || string(formatted) != src {
		t.Fatalf("README.md's program is not gofmt-formatted (%v):\n%s", err, formatted)
	}
	dir, err := os.MkdirTemp(".", "readme-program-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goCmd, "vet", "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of README.md's program: %v\n%s", err, out)
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
