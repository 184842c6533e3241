package authfiber_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestREADMEProgramCompiles vets the README's program, so that it keeps up with the API.
// It is written into a directory inside this module, where the module's requirements (and
// the workspace, when there is one) resolve its imports.
func TestREADMEProgramCompiles(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; the README's program needs it to be vetted")
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
		t.Fatal("README.md's ```go block is not closed")
	}
	if !strings.HasPrefix(program, "package main\n") {
		t.Fatalf("README.md's first ```go block is not a program:\n%s", program)
	}
	dir, err := os.MkdirTemp(".", "readme-program-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(program), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "vet", "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of README.md's program: %v\n%s", err, out)
	}
}
