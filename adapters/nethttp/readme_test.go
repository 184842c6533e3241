package authhttp_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEProgramCompiles vets the first Go block of README.md as a program of its own,
// so that the page a user copies from cannot drift from the API. The program goes into a
// directory inside this module, where the module's requirements (and, in the repository,
// the workspace) resolve its imports.
func TestREADMEProgramCompiles(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("the go command is not on PATH, so the README program cannot be vetted")
	}
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "```go\n")
	if !ok {
		t.Fatal("README.md has no ```go block")
	}
	program, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the ```go block of README.md is not closed")
	}
	// The leading underscore keeps ./... patterns of concurrent go commands out of it.
	dir, err := os.MkdirTemp(".", "_readme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "vet", "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the README program: %v\n%s\n%s", err, out, program)
	}
}
