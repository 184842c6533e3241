package authecho_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// readmeProgram returns the first ```go block of README.md.
func readmeProgram(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "```go\n")
	if !ok {
		t.Fatal("README.md has no ```go block")
	}
	prog, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("README.md's ```go block is not closed")
	}
	return prog
}

// TestReadmeProgramIsShort holds the README to the promise of a complete program in at
// most 25 lines beyond its imports and key loading.
func TestReadmeProgramIsShort(t *testing.T) {
	_, body, ok := strings.Cut(readmeProgram(t), "\n)\n")
	if !ok {
		t.Fatal("the README program has no import block")
	}
	lines, loading := 0, false
	for _, line := range strings.Split(body, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.Contains(line, "authframe.New("):
			loading = true
		case loading:
			loading = line != "defer guard.Close()"
		case line != "":
			lines++
		}
	}
	if lines > 25 {
		t.Fatalf("the README program is %d lines beyond imports and key loading, want at most 25", lines)
	}
}

// TestReadmeProgramCompiles vets the README's program inside this module, so that it
// resolves the same packages a user's program would and cannot drift from the API.
func TestReadmeProgramCompiles(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not on PATH; the README program cannot be compiled")
	}
	// The leading underscore keeps ./... patterns of a concurrent build away from it.
	dir, err := os.MkdirTemp(".", "_readme")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(readmeProgram(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(goBin, "vet", "./"+filepath.Base(dir))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go vet of the README program: %v\n%s", err, out)
	}
}
